// Runs every benchmark in bench/ and prints their figures (they are never part of the test suite).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const skip = new Set(["run-all.mjs", "lib.mjs", "gen-spec.mjs", "train-step-tfjs.mjs"]);
for (const f of readdirSync(here)
  .filter((f) => f.endsWith(".mjs") && !skip.has(f))
  .sort()) {
  console.log(`\n$ node bench/${f}`);
  spawnSync(process.execPath, [path.join(here, f)], { stdio: "inherit" });
}
