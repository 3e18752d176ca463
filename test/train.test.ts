// Training runs through `llavac run`: a killed run resumes with exactly the losses of an uninterrupted
// one; a NaN stops the run and keeps the last good checkpoint; a phase that starts from another takes
// its model states only.
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { latestVerifiedCheckpoint } from "../runtime/train/checkpoint.js";
import type { RunReport } from "../runtime/train/run.js";
import { tempDir, writeSmallTokenizer } from "./data-helpers.js";
import { ROOT, run } from "./helpers.js";
import { DEFAULT_BACKEND } from "./native.js";

const BIN = path.join(ROOT, "bin/llavac.js");

function llavac(args: string[], cwd: string, env: Record<string, string> = {}) {
  return run(process.execPath, [BIN, ...args], { cwd, env: { NO_COLOR: "1", CI: "1", ...env } });
}

// The language model has the tiny example's small tokenizer of the shapes data (test/data-helpers.ts writeSmallTokenizer):
// LLaMA-2's 32,000-piece LM head and its 50 MB checkpoints would be most of the work, and what is tested
// here does not depend on the vocabulary.
const spec = (o: { lr: string; schedule: string; checkpoint: number; phase2?: boolean; vocab: number }) => `
import { tiny_vit } from "std/vision"
import { tiny_llama } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { plain, vicuna_v1 } from "std/templates"

model m {
  vision    = tiny_vit
  projector = mlp2x_gelu
  language  = tiny_llama {
    dropout_rate: 0.1
    vocab_size: ${o.vocab}
    tokenizer: tokenizer { model: "./tokenizer.model", huggingface: "tests/shapes" }
  }
}

dataset caps { format: synthetic_shapes, samples: 48, root: "data", jsonl: "data/captions" }
dataset questions { format: synthetic_shapes, samples: 96, root: "data", jsonl: "data/questions" }

phase pretrain {
  model      = m
  data       = caps
  template   = plain
  images     = "data"
  hdf5       = "data/h5/pretrain"
  preprocess = hdf5_writer { output: "data/h5/pretrain" }
  freeze     = [/^image_model/]
  batch      = 8 per step, 4 per micro-batch
  optimizer  = adamw { lr: ${o.lr}, max_grad_norm: none }
  schedule   = ${o.schedule}
  run        = run { checkpoint_steps: ${o.checkpoint}, max_checkpoints: 2 }
}
${
  o.phase2
    ? `
phase finetune {
  from       = pretrain(states: model)
  model      = m
  data       = questions
  template   = vicuna_v1
  images     = "data"
  hdf5       = "data/h5/finetune"
  preprocess = hdf5_writer { output: "data/h5/finetune" }
  freeze     = [/^image_model/]
  batch      = 8 per step
  optimizer  = adamw { lr: 1e-3 }
  schedule   = constant_lr { length: 3 steps }
}`
    : ""
}
`;

/** The shapes data and its tokenizer; returns the folder and the tokenizer's vocabulary size. */
async function project(): Promise<{ dir: string; vocab: number }> {
  const dir = tempDir("llavac-train-");
  const r = await llavac(["data", "synth", "shapes", "--out", "data", "--train", "48", "--heldout", "0"], dir);
  expect(r.code, r.stderr).toBe(0);
  return { dir, vocab: writeSmallTokenizer(dir) };
}

const report = (dir: string, out: string, phase = "pretrain") =>
  JSON.parse(readFileSync(path.join(dir, out, phase, "run.json"), "utf8")) as RunReport;

describe("training runs", () => {
  let dir: string;
  let vocab: number;
  beforeAll(async () => {
    ({ dir, vocab } = await project());
    writeFileSync(
      path.join(dir, "spec.llava"),
      spec({ lr: "3e-3", schedule: "warmup_cosine { length: 12 steps, warmup: 2 steps }", checkpoint: 4, phase2: true, vocab }),
    );
  });

  it("a run killed at step 10 and resumed has exactly the losses of an uninterrupted run (seeded dropout included)", async () => {
    const whole = await llavac(["run", "spec.llava", "--phase", "pretrain", "-o", "whole"], dir);
    expect(whole.code, whole.stderr).toBe(0);
    const expected = report(dir, "whole").steps;
    // On the backend llavac prefers here: the native one where it is built (.ci/run builds it).
    expect(report(dir, "whole").backend.backend).toBe(DEFAULT_BACKEND);
    expect(expected.map((s) => s.step)).toEqual([...Array(12).keys()].map((i) => i + 1));

    const killed = await llavac(["run", "spec.llava", "--phase", "pretrain", "-o", "killed"], dir, { LLAVAC_TEST_KILL_AFTER_STEP: "10" });
    expect(killed.code).not.toBe(0);
    // Checkpoints at 4 and 8 survived (the kill came between checkpoints); no report was written.
    const ckpts = readdirSync(path.join(dir, "killed/pretrain/checkpoints"))
      .filter((f) => f.endsWith(".json"))
      .sort();
    expect(ckpts).toEqual(["checkpoint_4.json", "checkpoint_8.json"]);
    expect(existsSync(path.join(dir, "killed/pretrain/run.json"))).toBe(false);

    const resumed = await llavac(["run", "spec.llava", "--phase", "pretrain", "-o", "killed"], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming pretrain from .*checkpoint_8\.safetensors \(step 8\)/);
    const r = report(dir, "killed");
    expect(r.start).toMatchObject({ kind: "resumed", step: 8 });
    expect(r.taken).toBe(4);
    expect(r.steps.map((s) => s.loss)).toEqual(expected.map((s) => s.loss));
    expect(r.steps.map((s) => s.grad_norm)).toEqual(expected.map((s) => s.grad_norm));
    // Only the newest two checkpoints are kept; the loss curve is drawn.
    expect(
      readdirSync(path.join(dir, "killed/pretrain/checkpoints"))
        .filter((f) => f.endsWith(".json"))
        .sort(),
    ).toEqual(["checkpoint_12.json", "checkpoint_8.json"]);
    expect(readFileSync(path.join(dir, "killed/pretrain/loss.png")).subarray(1, 4).toString()).toBe("PNG");
    expect(readFileSync(path.join(dir, "killed/pretrain/loss.svg"), "utf8")).toContain("<svg");
  }, 240_000);

  it("a corrupt newest checkpoint is named and the run falls back to the one before; partial, empty and bad-JSON ones too", async () => {
    cpSync(path.join(dir, "whole/pretrain/checkpoints"), path.join(dir, "corrupt/pretrain/checkpoints"), { recursive: true });
    const ck = (step: number, ext: string) => path.join(dir, "corrupt/pretrain/checkpoints", `checkpoint_${step}.${ext}`);
    const bytes = readFileSync(ck(12, "safetensors"));
    bytes[bytes.length - 100] ^= 0x40; // one flipped bit in a tensor
    writeFileSync(ck(12, "safetensors"), bytes);
    const r = await llavac(["run", "spec.llava", "--phase", "pretrain", "-o", "corrupt"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/checkpoint_12\.safetensors \(step 12\) is not usable: .*does not match its recorded SHA-256/);
    expect(r.stderr).toMatch(/resuming pretrain from .*checkpoint_8\.safetensors \(step 8\)/);
    expect(report(dir, "corrupt").steps.map((s) => s.loss)).toEqual(report(dir, "whole").steps.map((s) => s.loss));

    // The other ways a newest checkpoint goes bad, each reported by name, with the previous one used.
    const ckDir = path.join(dir, "faults");
    const faults: [string, () => void, RegExp][] = [
      [
        "truncated",
        () => writeFileSync(path.join(ckDir, "checkpoint_12.safetensors"), bytes.subarray(0, bytes.length >> 1)),
        /has \d+ bytes, the state says \d+/,
      ],
      ["empty", () => writeFileSync(path.join(ckDir, "checkpoint_12.safetensors"), ""), /has 0 bytes/],
      ["bad JSON", () => writeFileSync(path.join(ckDir, "checkpoint_12.json"), '{"format": '), /checkpoint_12\.json cannot be read/],
      ["missing tensors", () => rmSync(path.join(ckDir, "checkpoint_12.safetensors")), /checkpoint_12\.safetensors is missing/],
    ];
    for (const [what, breakIt, why] of faults) {
      rmSync(ckDir, { recursive: true, force: true });
      cpSync(path.join(dir, "whole/pretrain/checkpoints"), ckDir, { recursive: true });
      breakIt();
      const v = latestVerifiedCheckpoint(ckDir);
      expect(v.found?.ref.step, what).toBe(8);
      expect(
        v.rejected.map((x) => x.ref.step),
        what,
      ).toEqual([12]);
      expect(v.rejected[0]!.problem, what).toMatch(why);
    }
  }, 240_000);

  it("--weights starts a phase from pretrained weights (here a trained checkpoint: its loss starts lower)", async () => {
    const fresh = report(dir, "whole").steps[0]!.loss;
    const r = await llavac(
      [
        "run",
        "spec.llava",
        "--phase",
        "pretrain",
        "-o",
        "pretrained",
        "--steps",
        "1",
        "--weights",
        "whole/pretrain/checkpoints/checkpoint_12.safetensors",
      ],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const rep = report(dir, "pretrained");
    expect(rep.start.kind).toBe("weights");
    expect(rep.start.weights!.missing).toEqual([]);
    expect(rep.start.weights!.loaded).toBeGreaterThan(20);
    expect(rep.steps[0]!.loss).toBeLessThan(fresh - 1);
    const missing = await llavac(["run", "spec.llava", "--phase", "pretrain", "-o", "x", "--weights", "nowhere.safetensors"], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--weights: not found: nowhere.safetensors/);
  }, 240_000);

  it("a run folder remembers its settings: --steps resumes, other settings stop with what changed, --fresh starts over", async () => {
    const first = await llavac(["run", "spec.llava", "--phase", "pretrain", "-o", "fp", "--steps", "2"], dir);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, "fp/pretrain/fingerprint.json"), "utf8")).settings["batch.global"]).toBe("8");
    // `--steps` only stops early: a longer run continues.
    const more = await llavac(["run", "spec.llava", "--phase", "pretrain", "-o", "fp", "--steps", "3"], dir);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stderr).toMatch(/resuming pretrain from .*checkpoint_2\.safetensors \(step 2\)/);
    const changed = await llavac(
      ["run", "spec.llava", "--phase", "pretrain", "-o", "fp", "--steps", "4", "--set", "pretrain.optimizer.lr=1e-3"],
      dir,
    );
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/fp\/pretrain holds checkpoints of a run with other settings, so it is not resumed/);
    expect(changed.stderr).toMatch(/\n {2}optimizer\.learning_rate\S*\s+0\.003 → 0\.001\n/);
    expect(changed.stderr).toMatch(/--fresh .*-o <new folder>/s);
    const fresh = await llavac(
      ["run", "spec.llava", "--phase", "pretrain", "-o", "fp", "--steps", "1", "--fresh", "--set", "pretrain.optimizer.lr=1e-3"],
      dir,
    );
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(report(dir, "fp").start.kind).toBe("fresh");
    expect(report(dir, "fp").steps.map((s) => s.step)).toEqual([1]);
  }, 240_000);

  it("a phase that starts from another loads its model states only: step, optimizer and data start over", async () => {
    const r = await llavac(["run", "spec.llava", "--phase", "finetune", "-o", "whole"], dir);
    expect(r.code, r.stderr).toBe(0);
    const rep = report(dir, "whole", "finetune");
    expect(rep.start.kind).toBe("from_phase");
    expect(rep.start.from).toMatch(/whole\/pretrain\/checkpoints\/checkpoint_12\.safetensors$/);
    expect(rep.steps.map((s) => s.step)).toEqual([1, 2, 3]);
    const state = JSON.parse(readFileSync(path.join(dir, "whole/finetune/checkpoints/checkpoint_3.json"), "utf8"));
    expect(state.step).toBe(3);
    expect(state.cursor).toBe(24);
    // Without the first phase's checkpoints, the second refuses to start from scratch. Without -o, the
    // run goes to a folder of this spec's own, out/spec/.
    const lonely = await llavac(["run", "spec.llava", "--phase", "finetune"], dir);
    expect(lonely.code).toBe(1);
    expect(lonely.stderr).toMatch(
      /starts from phase pretrain, which has no checkpoint in .*out\/spec\/pretrain\/checkpoints: run that phase first/,
    );
    expect(existsSync(path.join(dir, "out/spec/finetune/train.ts"))).toBe(true);
  }, 240_000);

  it("a NaN loss stops the run with a clear error and keeps the last good checkpoint", async () => {
    // The same data (its HDF5 files are made once), another spec: its run folder is out/nan/.
    writeFileSync(path.join(dir, "nan.llava"), spec({ lr: "1e30", schedule: "constant_lr { length: 10 steps }", checkpoint: 1, vocab }));
    const r = await llavac(["run", "nan.llava"], dir);
    expect(r.code).toBe(1);
    const m =
      /error: step (\d+): the loss is (NaN|Infinity|-Infinity) \(gradient norm [^)]*\); stopping\. the last good checkpoint is (\S+) \(step (\d+)\)/.exec(
        r.stderr,
      );
    expect(m, r.stderr).not.toBeNull();
    const [, failed, , kept, keptStep] = m!;
    expect(Number(keptStep)).toBe(Number(failed) - 1);
    expect(existsSync(kept!)).toBe(true);
    expect(existsSync(path.join(dir, `out/nan/pretrain/checkpoints/checkpoint_${failed}.json`))).toBe(false);
  }, 240_000);
});
