// The Cerebras job scripts: they parse (bash -n) and pass shellcheck for every example, quote every
// spec value, and pipeline.sh drives a fake Model Zoo (run.py and convert_checkpoint.py written here,
// recording their arguments and creating what the real ones create) in the right order, hands each
// phase's checkpoint to the next, skips finished steps, and stops at the first failure.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { filesToWrite, writeAtomically } from "../compiler/build.js";
import { compile } from "../compiler/compile.js";
import { shq } from "../compiler/emit/job-scripts.js";
import { tempDir } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

async function build(spec: string, out: string, source?: string): Promise<string[]> {
  const result = await compile(spec, { cwd: ROOT, env: {}, outDir: out, ...(source ? { source } : {}) });
  expect(
    result.diags.errorCount,
    result.diags
      .sorted()
      .map((d) => d.message)
      .join("\n"),
  ).toBe(0);
  const files = filesToWrite(result.emitted, { cerebras: true });
  writeAtomically(out, files);
  return files.filter((f) => f.path.endsWith(".sh")).map((f) => path.join(out, f.path));
}

const FAKE_RUN = `import json, os, sys
log = os.environ["FAKE_LOG"]
with open(log, "a") as f: f.write(json.dumps(["run.py"] + sys.argv[1:]) + "\\n")
a = sys.argv[1:]
model_dir = a[a.index("--model_dir") + 1]
os.makedirs(model_dir, exist_ok=True)
phase = os.path.basename(os.path.dirname(a[a.index("--params") + 1]))
resumed = "--load_checkpoint_states" in a
open(os.path.join(model_dir, "checkpoint_1000.mdl"), "w").write(phase)
if os.environ.get("FAKE_FAIL") == phase and not resumed:
    sys.exit(3)
open(os.path.join(model_dir, "checkpoint_2180.mdl"), "w").write(phase)
`;

const FAKE_CONVERT = `import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as f: f.write(json.dumps(["convert_checkpoint.py"] + sys.argv[1:]) + "\\n")
a = sys.argv[1:]
out = a[a.index("--output-dir") + 1]
os.makedirs(out, exist_ok=True)
if a[a.index("--src-fmt") + 1] == "hf":
    open(os.path.join(out, "pytorch_model_to_cs-2.2.mdl"), "w").write("converted")
    open(os.path.join(out, "config_to_cs-2.2.yaml"), "w").write("model:\\n  label_smoothing: 0.0\\n  z_loss_eps: 0.0\\n  image_start_idx: 1\\n")
else:
    for part in ("image_model", "text_model"):
        os.makedirs(os.path.join(out, part), exist_ok=True)
        json.dump({"mm_vision_tower": "/somewhere/else"} if part == "text_model" else {}, open(os.path.join(out, part, "config.json"), "w"))
`;

/** A fake Model Zoo checkout and weights folder in `dir`. */
function fakes(dir: string): Record<string, string> {
  const zoo = path.join(dir, "modelzoo/src/cerebras/modelzoo");
  mkdirSync(path.join(zoo, "models/multimodal/llava"), { recursive: true });
  mkdirSync(path.join(zoo, "tools"), { recursive: true });
  writeFileSync(path.join(zoo, "models/multimodal/llava/run.py"), FAKE_RUN);
  writeFileSync(path.join(zoo, "tools/convert_checkpoint.py"), FAKE_CONVERT);
  for (const part of ["image_model", "text_model"]) mkdirSync(path.join(dir, "pretrained", part), { recursive: true });
  writeFileSync(path.join(dir, "pretrained/text_model/tokenizer.model"), "sp");
  writeFileSync(path.join(dir, "pretrained/text_model/tokenizer_config.json"), "{}");
  return {
    MODELZOO: path.join(dir, "modelzoo"),
    WEIGHTS: path.join(dir, "pretrained"),
    PYTHON: "python3",
    FAKE_LOG: path.join(dir, "log.jsonl"),
  };
}

function bash(script: string, args: string[], env: Record<string, string>) {
  const r = spawnSync("bash", [script, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout + r.stderr };
}

const log = (env: Record<string, string>) =>
  existsSync(env.FAKE_LOG!)
    ? readFileSync(env.FAKE_LOG!, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as string[])
    : [];

describe("Cerebras job scripts", () => {
  it("parse and pass shellcheck for every example", async () => {
    for (const ex of ["llava-v1.5-7b/llava.llava", "llava-v1.5-13b/llava.llava", "tiny-shapes/tiny.llava"]) {
      const scripts = await build(path.join(ROOT, "examples", ex), tempDir("llavac-jobs-"));
      expect(scripts.map((s) => path.basename(s)).sort()).toEqual(["convert-in.sh", "convert-out.sh", "pipeline.sh", "run.sh", "run.sh"]);
      for (const s of scripts) {
        expect(spawnSync("bash", ["-n", s]).status, s).toBe(0);
        if (hasShellcheck) {
          const r = spawnSync("shellcheck", ["-s", "bash", s], { encoding: "utf8" });
          expect(r.stdout, s).toBe("");
        }
      }
    }
    if (!hasShellcheck) console.warn("shellcheck is not installed: only `bash -n` was checked (.ci/run installs it)");
  });

  it("pipeline.sh: convert → phase 1 → phase 2 (phase 1's newest checkpoint) → convert-out, then resumes by skipping", async () => {
    const dir = tempDir("llavac-pipeline-");
    const out = path.join(dir, "out");
    await build(path.join(ROOT, "examples/llava-v1.5-7b/llava.llava"), out);
    const env = fakes(dir);
    const r = bash(path.join(out, "pipeline.sh"), [], env);
    expect(r.code, r.out).toBe(0);
    // The example's target block: its mount dirs and Python paths, as written.
    const cluster = ["--num_csx", "1", "--mount_dirs", "./modelzoo", ".", "--python_paths", "./modelzoo/src"];
    const converted = path.join(out, "converted/pytorch_model_to_cs-2.2.mdl");
    expect(log(env)).toEqual([
      [
        "convert_checkpoint.py",
        "convert",
        "--model",
        "llava",
        "--src-fmt",
        "hf",
        "--tgt-fmt",
        "cs-2.2",
        "--output-dir",
        path.join(out, "converted"),
        "--config",
        env.WEIGHTS,
        env.WEIGHTS,
      ],
      [
        "run.py",
        "CSX",
        "--mode",
        "train",
        "--params",
        path.join(out, "pretrain/params.yaml"),
        "--model_dir",
        path.join(out, "pretrain/model_dir"),
        "--checkpoint_path",
        converted,
        ...cluster,
      ],
      [
        "run.py",
        "CSX",
        "--mode",
        "train",
        "--params",
        path.join(out, "finetune/params.yaml"),
        "--model_dir",
        path.join(out, "finetune/model_dir"),
        "--checkpoint_path",
        path.join(out, "pretrain/model_dir/checkpoint_2180.mdl"),
        ...cluster,
      ],
      [
        "convert_checkpoint.py",
        "convert",
        "--model",
        "llava",
        "--src-fmt",
        "cs-2.2",
        "--tgt-fmt",
        "hf",
        "--output-dir",
        path.join(out, "export.tmp"),
        "--config",
        path.join(out, "finetune/params.yaml"),
        path.join(out, "finetune/model_dir/checkpoint_2180.mdl"),
      ],
    ]);
    // The converted config lost the keys 2.2.1 rejects; the export is laid out for LLaVA's evaluation.
    expect(readFileSync(path.join(out, "converted/config_to_cs-2.2.yaml"), "utf8")).toBe("model:\n  image_start_idx: 1\n");
    expect(existsSync(path.join(out, "export/text_model_llava/tokenizer.model"))).toBe(true);
    expect(existsSync(path.join(out, "export/text_model"))).toBe(false);
    expect(JSON.parse(readFileSync(path.join(out, "export/text_model_llava/config.json"), "utf8")).mm_vision_tower).toBe(
      path.join(out, "export/image_model"),
    );

    // The evaluation commands of the benchmarks the target names (seed step 7).
    expect(r.out).toContain(
      `sed "s#liuhaotian/llava-v1.5-13b#${out}/export/text_model_llava#g" scripts/v1_5/eval/textvqa.sh | bash    # TextVQA val`,
    );
    expect(r.out.match(/scripts\/v1_5\/eval\/\w+\.sh \| bash/g)).toHaveLength(6);

    // Again: every step is finished, so nothing runs.
    const again = bash(path.join(out, "pipeline.sh"), [], env);
    expect(again.code, again.out).toBe(0);
    expect(log(env)).toHaveLength(4);
    expect(again.out).toMatch(/already converted/);
    expect(again.out).toMatch(/phase pretrain finished earlier: skipped/);
    expect(again.out).toMatch(/already exported/);
  });

  it("stops at the first failure, and the next run skips what finished and resumes the failed phase from its own checkpoint", async () => {
    const dir = tempDir("llavac-pipeline-");
    const out = path.join(dir, "out");
    await build(path.join(ROOT, "examples/llava-v1.5-7b/llava.llava"), out);
    const env = fakes(dir);
    const failed = bash(path.join(out, "pipeline.sh"), ["gpu"], { ...env, FAKE_FAIL: "finetune" });
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/llavac pipeline: FAILED at phase finetune; fix it and run pipeline.sh again/);
    expect(log(env).map((l) => l[0])).toEqual(["convert_checkpoint.py", "run.py", "run.py"]);
    expect(existsSync(path.join(out, "export"))).toBe(false);

    const resumed = bash(path.join(out, "pipeline.sh"), ["gpu"], env);
    expect(resumed.code, resumed.out).toBe(0);
    const calls = log(env).slice(3);
    expect(calls.map((l) => l[0])).toEqual(["run.py", "convert_checkpoint.py"]);
    expect(calls[0]).toEqual([
      "run.py",
      "GPU",
      "--mode",
      "train",
      "--params",
      path.join(out, "finetune/params.yaml"),
      "--model_dir",
      path.join(out, "finetune/model_dir"),
      "--checkpoint_path",
      path.join(out, "finetune/model_dir/checkpoint_1000.mdl"),
      "--load_checkpoint_states",
      "model,optimizer,dataloader,grad_scaler,lr_scheduler,global_step",
    ]);
    expect(resumed.out).toMatch(/phase pretrain finished earlier: skipped/);
  });

  it("run.sh modes: validate and compile add their flag, cpu drops the cluster flags, an unknown mode is refused", async () => {
    const dir = tempDir("llavac-jobs-");
    const out = path.join(dir, "out");
    await build(path.join(ROOT, "examples/llava-v1.5-7b/llava.llava"), out);
    const env = fakes(dir);
    const run = path.join(out, "pretrain/run.sh");
    for (const mode of ["validate", "compile", "cpu"]) expect(bash(run, [mode, "ckpt.mdl"], env).code).toBe(0);
    expect(log(env).map((l) => l.slice(1).join(" "))).toEqual([
      `CSX --mode train --params ${out}/pretrain/params.yaml --model_dir ${out}/pretrain/model_dir --checkpoint_path ckpt.mdl --num_csx 1 --mount_dirs ./modelzoo . --python_paths ./modelzoo/src --validate_only`,
      `CSX --mode train --params ${out}/pretrain/params.yaml --model_dir ${out}/pretrain/model_dir --checkpoint_path ckpt.mdl --num_csx 1 --mount_dirs ./modelzoo . --python_paths ./modelzoo/src --compile_only`,
      `CPU --mode train --params ${out}/pretrain/params.yaml --model_dir ${out}/pretrain/model_dir --checkpoint_path ckpt.mdl`,
    ]);
    const bad = bash(run, ["tpu", "ckpt.mdl"], env);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/unknown mode "tpu"/);
  });

  it("quotes every target value: spaces, quotes and $(...) reach run.py as written", async () => {
    const evil = [`dir with space`, `it's`, `$(touch /tmp/llavac-pwned)`, "back`tick`"];
    const spec =
      readFileSync(path.join(ROOT, "examples/tiny-shapes/tiny.llava"), "utf8") +
      `
cerebras cluster {
  num_csx: 2
  mount_dirs: ${JSON.stringify(evil)}
  python_paths: ["./modelzoo/src"]
  mgmt_address: "host:9000"
  job_labels: ["team=vision", "note=a b"]
}
`;
    const dir = tempDir("llavac-jobs-");
    const out = path.join(dir, "out");
    const scripts = await build(path.join(ROOT, "examples/tiny-shapes/tiny.llava"), out, spec);
    for (const s of scripts) expect(spawnSync("bash", ["-n", s]).status).toBe(0);
    const env = fakes(dir);
    expect(bash(path.join(out, "pretrain/run.sh"), ["csx", "c.mdl"], env).code).toBe(0);
    const call = log(env)[0]!;
    expect(call.slice(call.indexOf("--num_csx"))).toEqual([
      "--num_csx",
      "2",
      "--mount_dirs",
      ...evil,
      "--python_paths",
      "./modelzoo/src",
      "--mgmt_address",
      "host:9000",
      "--job_labels",
      "team=vision",
      "note=a b",
    ]);
    expect(existsSync("/tmp/llavac-pwned")).toBe(false);
    expect(shq("a'b")).toBe(`'a'\\''b'`);
  });
});
