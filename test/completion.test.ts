// Shell completion: generated from the commander program, so a command or option added to the CLI is in
// every script. The bash script passes `bash -n` and completes commands, option values, spec files and the
// spec's phases when driven as bash drives it; zsh and fish scripts are syntax-checked where those shells exist.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { bashCompletion, fishCompletion, zshCompletion } from "../compiler/cli/completion.js";
import { ROOT } from "./helpers.js";

const BIN = path.join(ROOT, "bin/llavac.js");
const script = spawnSync(process.execPath, [BIN, "completion", "bash"], { encoding: "utf8" }).stdout;
const has = (shell: string) => spawnSync("sh", ["-c", `command -v ${shell}`]).status === 0;

/** Runs the script's completion function in bash for a command line; the cursor is on the last word. */
function complete(words: string[]): string[] {
  const line = words.map((w) => `'${w}'`).join(" ");
  const r = spawnSync(
    "bash",
    [
      "-c",
      `llavac() { "${process.execPath}" "${BIN}" "$@"; }\n${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _llavac; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split("\n").filter(Boolean);
}

describe("completion", () => {
  it("bash: the script parses and completes commands, option values, spec files and phases", () => {
    expect(spawnSync("bash", ["-n"], { input: script }).status).toBe(0);
    expect(complete(["llavac", "ch"])).toEqual(["check", "chat"]);
    expect(complete(["llavac", "data", "hd"])).toEqual(["hdf5"]);
    expect(complete(["llavac", "check", "--format", ""])).toEqual(["human", "json", "sarif"]);
    expect(complete(["llavac", "check", "--str"])).toEqual(["--strict"]);
    expect(complete(["llavac", "check", "examples/tiny-shapes/ti"])).toEqual(["examples/tiny-shapes/tiny.llava"]);
    expect(complete(["llavac", "run", "examples/tiny-shapes/tiny.llava", "--phase", "f"])).toEqual(["finetune"]);
  });

  it("follows the program definition: a new command and its options are in every script", () => {
    const p = new Command("llavac");
    p.command("frobnicate")
      .description("a new command")
      .argument("<spec>")
      .option("--level <n>", "low, mid or high")
      .option("--phase <p>", "a phase");
    p.command("secret", { hidden: true }).argument("<x>");
    for (const s of [bashCompletion(p), zshCompletion(p), fishCompletion(p)]) {
      expect(s).toContain("frobnicate");
      expect(s).toContain("level");
      expect(s).toMatch(/low.mid.high/);
      expect(s).not.toContain("secret");
    }
    expect(spawnSync("bash", ["-n"], { input: bashCompletion(p) }).status).toBe(0);
  });

  it.skipIf(!has("zsh"))("zsh: the script parses (zsh -n)", () => {
    const r = spawnSync(process.execPath, [BIN, "completion", "zsh"], { encoding: "utf8" });
    expect(spawnSync("zsh", ["-n"], { input: r.stdout }).status).toBe(0);
  });
  it.skipIf(!has("fish"))("fish: the script parses (fish --no-execute)", () => {
    const r = spawnSync(process.execPath, [BIN, "completion", "fish"], { encoding: "utf8" });
    // fish reads a script from a file (it refuses the socket node gives as standard input).
    const file = path.join(mkdtempSync(path.join(tmpdir(), "llavac-fish-")), "llavac.fish");
    writeFileSync(file, r.stdout);
    const f = spawnSync("fish", ["--no-execute", file], { encoding: "utf8" });
    expect(f.status, f.stderr).toBe(0);
  });
  if (!has("zsh") || !has("fish"))
    console.log(`completion: ${["zsh", "fish"].filter((s) => !has(s)).join(" and ")} not installed here: their syntax checks are skipped`);
});
