// `llavac check` on generated specs of 1k, 2k and 5k declarations (target: linear growth, 5k ≤ 1.5 s).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateSpec } from "./gen-spec.mjs";
import { fmt, machine, paired } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.env.RUNS ?? 5);
const dir = mkdtempSync(path.join(tmpdir(), "llavac-scale-"));
const sizes = [0, 1000, 2000, 5000];
const files = sizes.map((n) => {
  const f = path.join(dir, `spec-${n}.llava`);
  writeFileSync(f, n === 0 ? generateSpec(5).replace(/\nphase[\s\S]*$/, "\n") : generateSpec(n));
  return f;
});
// Each size is checked with --format json (the human summary of 1,000 phases is just printing).
const results = paired(
  files.map((f) => [
    process.execPath,
    [path.join(root, "bin/llavac.js"), "check", f, "--format", "json"],
    { cwd: dir, allowFailure: true },
  ]),
  runs,
);

console.log(`# llavac check scaling (${runs} runs each, interleaved) on ${machine()}`);
console.log("declarations  median     per 1k declarations (above the 4-declaration baseline)");
const base = results[0].median;
sizes.forEach((n, i) => {
  const extra = n ? ` ${(((results[i].median - base) / n) * 1000).toFixed(0).padStart(6)} ms` : "   (baseline: start-up and the stdlib)";
  console.log(`${String(n || 4).padStart(12)}  ${fmt(results[i].median).padStart(8)}${extra}`);
});
const growth = (results[3].median - base) / (results[1].median - base);
console.log(
  `growth 1k → 5k: ×${growth.toFixed(2)} for ×5 the declarations (linear would be ×5.00; below means cheaper per declaration as it grows)`,
);
console.log(`5k declarations: ${fmt(results[3].median)}, target ≤ 1500 ms: ${results[3].median <= 1500 ? "met" : "MISSED"}`);
