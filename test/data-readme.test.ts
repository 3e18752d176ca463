// Every command of the README's Data section runs, as written, from a copy of the repository's layout.
import { execSync } from "node:child_process";
import { existsSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
const section = readme.slice(readme.indexOf("## Data:"), readme.indexOf("## The standard library"));
const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
const commands = block.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));

describe("README: the Data section's commands", () => {
  it("run in order and produce what the section says", { timeout: 300_000 }, () => {
    const dir = tempDir("llavac-readme-");
    symlinkSync(path.join(ROOT, "examples"), path.join(dir, "examples"));
    expect(commands.length).toBeGreaterThanOrEqual(15);
    for (const c of commands) {
      expect(c.startsWith("npx llavac data ")).toBe(true);
      const cmd = c.replace(/^npx llavac/, `"${process.execPath}" "${path.join(ROOT, "bin/llavac.js")}"`);
      try {
        execSync(cmd, { cwd: dir, stdio: "pipe", env: { ...process.env, NO_COLOR: "1" } });
      } catch (err) {
        throw new Error(`${c}\n${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
      }
    }
    for (const f of [
      "out/h5/pretrain/examples_0_0.h5",
      "out/h5/finetune/data_params.json",
      "out/h5/finetune_shuffled/data-00000.h5",
      "out/sample-3.html",
      "out/sample-3.safetensors",
      "out/skipped.jsonl",
      "out/images/synthdog-en/train/00000/train-00000-0000000.png",
    ]) {
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(path.join(dir, "out/sample-3.html"), "utf8")).toContain('<img src="data:image/png;base64,');
    const skipped = readFileSync(path.join(dir, "out/skipped.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).reason);
    expect(skipped).toEqual(["odd_turns", "missing_image"]);
  });
});
