// The command line, as a user runs it: the bundled CLI in a fresh process.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { locate, ROOT, TINY } from "./helpers.js";

const BIN = path.join(ROOT, "bin/llavac.js");

function llavac(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", LLAVA_DATA: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("cli", () => {
  it("check on the 7B example: exit 0, derived values and parameter counts, warnings only", () => {
    const r = llavac(["check", "examples/llava-v1.5-7b/llava.llava"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/image_start_idx\s+35/);
    expect(r.stdout).toMatch(/max_steps\s+2,180\s+= ⌊558,128 \/ 256⌋/);
    expect(r.stdout).toContain("20,979,712 trainable · 7,041,923,072 frozen · 7,062,902,784 total");
    expect(r.stdout).toMatch(/✓ checked examples\/llava-v1\.5-7b\/llava\.llava: 2 phases, 0 errors, \d+ warnings/);
  });

  it("check names a local tokenizer by its path from the working directory, not an absolute one", () => {
    const r = llavac(["check", "examples/tiny-shapes/tiny.llava"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/image_start_idx\s+1\s+= template plain, examples\/tiny-shapes\/tokenizer\/tokenizer\.model\n/);
    expect(r.stdout).not.toContain(ROOT);
    // A tokenizer outside the working directory keeps its absolute path (`../..` would mean nothing to a reader).
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-cli-"));
    const model = path.join(ROOT, "examples/tiny-shapes/tokenizer/tokenizer.model");
    const spec = readFileSync(path.join(ROOT, "examples/tiny-shapes/tiny.llava"), "utf8").replaceAll("./examples/", `${ROOT}/examples/`);
    writeFileSync(path.join(dir, "tiny.llava"), spec);
    const elsewhere = llavac(["check", "tiny.llava"], dir);
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.stdout).toContain(`= template plain, ${model}\n`);
  });

  it("check with errors: exit 1, rustc-style excerpt with a caret", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-cli-"));
    const spec = path.join(dir, "bad.llava");
    writeFileSync(spec, TINY.replace("projector = mlp2x_gelu", "projector = mlp2x_gleu"));
    const r = llavac(["check", spec], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[E0104]: unknown name `mlp2x_gleu`");
    expect(r.stderr).toContain(" --> bad.llava:10:15");
    expect(r.stderr).toMatch(/10 \|   projector = mlp2x_gleu\n\s+\|\s{15}\^{10}/);
    expect(r.stderr).toContain("= help: did you mean `mlp2x_gelu`?");
  });

  it("--format json lists diagnostics with positions and the derived values", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-cli-"));
    const spec = path.join(dir, "bad.llava");
    const text = TINY.replace("batch     = 32 per step, 8 per micro-batch", "batch     = 32 per step, 12 per micro-batch");
    writeFileSync(spec, text);
    const r = llavac(["check", spec, "--format", "json"], dir);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.errors).toBe(1);
    expect(j.diagnostics.find((d: { code: string }) => d.code === "E0403")).toMatchObject({
      severity: "error",
      file: "bad.llava",
      line: locate(text, "12 per").line,
      column: locate(text, "12 per").col,
      title: "per-system batch not divisible by micro-batch",
    });
    expect(j.phases[1]).toMatchObject({ name: "tune", derived: { num_patches: 16, image_start_idx: 35 } });
  });

  it("usage errors exit 2: unknown command, missing file, bad format", () => {
    expect(llavac(["frobnicate"]).code).toBe(2);
    expect(llavac(["check", "nope.llava"]).code).toBe(2);
    expect(llavac(["check", "examples/llava-v1.5-7b/llava.llava", "--format", "xml"]).code).toBe(2);
    expect(llavac(["build", "examples/llava-v1.5-7b/llava.llava"]).code).toBe(2);
  });

  it("build writes params.yaml, preprocess.yaml and train.ts per phase and manifest.json, and nothing on errors", () => {
    const out = mkdtempSync(path.join(tmpdir(), "llavac-out-"));
    const r = llavac(["build", "examples/llava-v1.5-13b/llava.llava", "-o", out]);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["finetune", "manifest.json", "pretrain"]);
    expect(readdirSync(path.join(out, "pretrain")).sort()).toEqual(["params.yaml", "preprocess.yaml", "train.ts"]);
    expect(readFileSync(path.join(out, "pretrain/params.yaml"), "utf8")).toBe(
      readFileSync(path.join(ROOT, "test/golden/llava-v1.5-13b/pretrain/params.yaml"), "utf8"),
    );
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-cli-"));
    writeFileSync(path.join(dir, "bad.llava"), TINY.replace("lr: 1e-3", "lr: -1"));
    const out2 = path.join(dir, "out");
    expect(llavac(["build", "bad.llava", "-o", out2], dir).code).toBe(1);
    expect(existsSync(out2)).toBe(false);
  });

  it("build -o onto an existing file, through a file, or into the standard library is a usage error (exit 2) that writes nothing", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-cli-"));
    const file = path.join(dir, "taken.txt");
    writeFileSync(file, "keep me\n");
    const onFile = llavac(["build", "examples/tiny-shapes/tiny.llava", "-o", file]);
    expect([onFile.code, onFile.stderr]).toEqual([2, `llavac: -o ${file} is a file; give a folder to write the configs into\n`]);
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
    const through = llavac(["build", "examples/tiny-shapes/tiny.llava", "-o", path.join(file, "out")]);
    expect([through.code, through.stderr]).toEqual([2, `llavac: -o ${path.join(file, "out")}: a folder on its path is a file\n`]);
    for (const std of ["stdlib", "stdlib/out", "./stdlib/../stdlib/x"]) {
      const r = llavac(["build", "examples/tiny-shapes/tiny.llava", "-o", std]);
      expect(r.code, std).toBe(2);
      expect(r.stderr, std).toMatch(
        /^llavac: -o .* is inside the standard library \(.*stdlib\); write the build somewhere else, e\.g\. -o out\n$/,
      );
      expect(r.stderr).not.toContain("internal error");
    }
    expect(readdirSync(path.join(ROOT, "stdlib")).filter((f) => !f.endsWith(".llava"))).toEqual([]);
  });

  it("build --strict turns a missing data folder into an error", () => {
    const out = mkdtempSync(path.join(tmpdir(), "llavac-out-"));
    const r = llavac(["build", "examples/llava-v1.5-7b/llava.llava", "-o", out, "--strict"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[W0408]: image root ./LLaVA/LLaVA-Pretrain/images does not exist");
  });

  it("--deny and --allow set a warning's level; an error cannot be allowed", () => {
    const out = mkdtempSync(path.join(tmpdir(), "llavac-out-"));
    const spec = "examples/llava-v1.5-7b/llava.llava";
    const denied = llavac(["check", spec, "--deny", "W0408", "--format", "json"]);
    expect(denied.code).toBe(1);
    const diags = (JSON.parse(denied.stdout) as { diagnostics: { code: string; severity: string }[] }).diagnostics;
    expect(diags.filter((d) => d.code === "W0408").map((d) => d.severity)).toContain("error");
    expect(diags.filter((d) => d.code === "W0408").every((d) => d.severity === "error")).toBe(true);
    const allowed = llavac(["check", spec, "--allow", "W0408", "--allow", "W0303"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).not.toMatch(/W0408|W0303/);
    const bad = llavac(["build", spec, "-o", out, "--allow", "E0401"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("llavac: --allow E0401: E0401 is an error, and an error cannot be allowed");
    expect(llavac(["check", spec, "--deny", "W9999"]).code).toBe(2);
    // run takes the same flags (a usage error before anything trains).
    expect(llavac(["run", spec, "--allow", "E0401"]).stderr).toContain("an error cannot be allowed");
  });

  it("--version matches package.json", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(llavac(["--version"]).stdout.trim()).toBe(pkg.version);
  });

  it("explain prints a code's explanation", () => {
    const r = llavac(["explain", "E0401"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^E0401: freeze pattern matches nothing \(error\)/);
    expect(r.stdout).toContain("+ freeze    = [/^image_model/, /^text_models/]");
    expect(llavac(["explain", "w0408"]).stdout).toMatch(/^W0408: data folder missing \(warning, denied by --strict\)/);
    expect(llavac(["explain", "E0408"]).code).toBe(2);
    expect(llavac(["explain", "E9999"]).code).toBe(2);
  });
});
