// Metrics people already read: each `llavac run` writes TensorBoard event files that TensorBoard's own
// reader (the `tensorboard` package from the local pip store, in `.oracles/`) loads with the tags, steps
// and values of metrics.jsonl; a corrupted record fails its CRC there. A held-out split evaluated every
// `eval_every` steps adds eval/loss without changing the training losses, and a resumed run continues
// the same curves with no step twice. The event-file tests say they are skipped where tensorboard is absent.
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { PhaseRunConfig } from "../runtime/train/config.js";
import { fingerprintOf } from "../runtime/train/fingerprint.js";
import type { RunReport } from "../runtime/train/run.js";
import { METRICS_FILE, TAGS, type MetricsRow } from "../runtime/train/metrics.js";
import { crc32c, encodeEvent, eventStep, maskedCrc32c, readTfRecords, tfRecord } from "../runtime/train/tensorboard.js";
import { filesToWrite } from "../compiler/build.js";
import { compile } from "../compiler/compile.js";
import { tempDir, writeSmallTokenizer } from "./data-helpers.js";
import { ROOT, run } from "./helpers.js";
import { oraclePython } from "./oracle-python.js";

const BIN = path.join(ROOT, "bin/llavac.js");
const PY = oraclePython("tensorboard");
if (!PY)
  console.warn(
    "tensorboard: the `tensorboard` Python package is not installed; the event-file reader tests are skipped (.ci/run installs it in .oracles/)",
  );

const llavac = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  run(process.execPath, [BIN, ...args], { cwd, env: { NO_COLOR: "1", CI: "1", ...env } });

// The smallest training the train tests use, 7 steps, checkpoints every 3, the held-out split every 2, with a
// the tiny example's tokenizer of the shapes data (test/data-helpers.ts writeSmallTokenizer, `vocab` pieces) instead of
// LLaMA-2's 32,000: what is tested does not depend on the vocabulary.
const spec = (vocab: number) => `
import { tiny_vit } from "std/vision"
import { tiny_llama } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { plain } from "std/templates"

model m {
  vision    = tiny_vit
  projector = mlp2x_gelu
  language  = tiny_llama {
    dropout_rate: 0.1
    vocab_size: ${vocab}
    tokenizer: tokenizer { model: "./tokenizer.model", huggingface: "tests/shapes" }
  }
}

dataset caps { format: synthetic_shapes, samples: 48, root: "data", jsonl: "data/captions" }
dataset held { format: synthetic_shapes, samples: 12, root: "data", jsonl: "data/heldout" }

phase pretrain {
  model      = m
  data       = caps
  template   = plain
  images     = "data"
  hdf5       = "data/h5/pretrain"
  preprocess = hdf5_writer { output: "data/h5/pretrain" }
  eval       = eval_input { data: held, hdf5: "data/h5/heldout" }
  eval_every = 2 steps
  freeze     = [/^image_model/]
  batch      = 8 per step, 4 per micro-batch
  optimizer  = adamw { lr: 3e-3 }
  schedule   = warmup_cosine { length: 7 steps, warmup: 2 steps }
  run        = run { checkpoint_steps: 3 }
}
`;

/** What TensorBoard's EventAccumulator reads from a run folder: file version and each tag's (step, value)s. */
function tensorboardRead(dir: string): { version: string; scalars: Record<string, [number, number][]> } {
  const seen = read.get(dir);
  if (seen) return seen;
  const script = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
ea.Reload()
print(json.dumps({"version": ea.file_version, "scalars": {t: [[e.step, e.value] for e in ea.Scalars(t)] for t in ea.Tags()["scalars"]}}))
`;
  const r = spawnSync(PY!, ["-c", script, dir], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const got = JSON.parse(r.stdout) as ReturnType<typeof tensorboardRead>;
  if (finished.has(dir)) read.set(dir, got);
  return got;
}
// Run folders that no test writes to again, read once (a Python start and TensorBoard's import are seconds).
const finished = new Set<string>();
const read = new Map<string, ReturnType<typeof tensorboardRead>>();

const rows = (dir: string) =>
  readFileSync(path.join(dir, METRICS_FILE), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as MetricsRow);

/** metrics.jsonl as TensorBoard should show it: each tag's (step, value as float32). */
function expected(dir: string): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const row of rows(dir))
    for (const [k, tag] of Object.entries(TAGS)) {
      const v = row[k as keyof typeof TAGS];
      if (v !== undefined) (out[tag] ??= []).push([row.step, Math.fround(v)]);
    }
  return out;
}

/** The outputs of `llavac build --target cerebras`, by path. */
async function cerebrasBuild(spec: string): Promise<Map<string, string>> {
  const result = await compile(spec, { env: {}, cwd: path.dirname(spec) });
  expect(result.diags.errorCount, result.diags.items.map((d) => d.message).join("\n")).toBe(0);
  return new Map(filesToWrite(result.emitted, { cerebras: true }).map((f) => [f.path, f.content]));
}

const report = (dir: string) => JSON.parse(readFileSync(path.join(dir, "run.json"), "utf8")) as RunReport;

describe("TFRecord framing and Event protos", () => {
  it("CRC-32C is Castagnoli's (the standard check value), masked as TFRecord masks it", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const c = crc32c(Uint8Array.of(1, 2, 3));
    expect(maskedCrc32c(Uint8Array.of(1, 2, 3))).toBe((((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0);
  });

  it("reads its records back, stops at a torn or altered one, and finds each event's step", () => {
    const events = [encodeEvent(1, 0, { file_version: "brain.Event:2" }), encodeEvent(2, 7, { scalars: { "train/loss": 1.5 } })];
    const file = Buffer.concat(events.map((e) => tfRecord(e)));
    expect(readTfRecords(file)).toEqual({ records: events.map((e) => Buffer.from(e)), intact: true });
    expect(events.map(eventStep)).toEqual([0, 7]);
    expect(readTfRecords(file.subarray(0, file.length - 3))).toMatchObject({ intact: false, records: [Buffer.from(events[0]!)] });
    const altered = Buffer.from(file);
    altered[altered.length - 6]! ^= 1;
    expect(readTfRecords(altered)).toMatchObject({ intact: false, records: [Buffer.from(events[0]!)] });
  });
});

describe("eval_every reaches the program and the Cerebras config", () => {
  it("the held-out split is not part of a run folder's fingerprint (evaluating never changes the weights)", () => {
    const cfg = { phase: "p", max_steps: 7, batch: { global: 8, micro: 4 } } as unknown as PhaseRunConfig;
    const withEval = { ...cfg, eval: { hdf5: ["h"], images: "i", every: 2 } };
    expect(fingerprintOf(withEval).hash).toBe(fingerprintOf(cfg).hash);
    expect(fingerprintOf({ ...withEval, max_steps: 8 }).hash).not.toBe(fingerprintOf(cfg).hash);
  });

  it("the program evaluates eval.hdf5 every eval_every steps; params.yaml has eval_frequency and run.sh trains and evaluates", async () => {
    const dir = tempDir("llavac-tb-build-");
    const SPEC = spec(writeSmallTokenizer(dir));
    writeFileSync(path.join(dir, "spec.llava"), `${SPEC}\ncerebras cluster {}\n`);
    const files = await cerebrasBuild(path.join(dir, "spec.llava"));
    expect(files.get("pretrain/train.ts")).toMatch(
      /\n {2}eval: \{\s*hdf5: \["[^"]*\/data\/h5\/heldout"\],\s*images: "[^"]*data",\s*every: 2,?\s*\},\n/,
    );
    expect(files.get("pretrain/params.yaml")).toMatch(
      /eval_input:\n {2}data_processor: LlavaHDF5MapDataProcessor\n {2}data_dir: data\/h5\/heldout\n/,
    );
    expect(files.get("pretrain/params.yaml")).toMatch(/\n {2}eval_frequency: 2\n/);
    expect(files.get("pretrain/run.sh")).toContain("args=(--mode train_and_eval ");
    // Without eval_every: training only, and run.eval_frequency as before.
    writeFileSync(path.join(dir, "plain.llava"), `${SPEC.replace("  eval_every = 2 steps\n", "")}\ncerebras cluster {}\n`);
    const plain = await cerebrasBuild(path.join(dir, "plain.llava"));
    expect(plain.get("pretrain/train.ts")).not.toContain("eval:");
    expect(plain.get("pretrain/params.yaml")).toMatch(/\n {2}eval_frequency: 1000\n/);
    expect(plain.get("pretrain/run.sh")).toContain("args=(--mode train ");
  });
});

describe("the held-out split's data", () => {
  it("`llavac data hdf5 --eval` writes eval.data into eval.hdf5; a phase without a held-out split is told so", async () => {
    const dir = tempDir("llavac-tb-data-");
    expect((await llavac(["data", "synth", "shapes", "--out", "data", "--train", "8", "--heldout", "12"], dir)).code).toBe(0);
    const SPEC = spec(writeSmallTokenizer(dir));
    writeFileSync(path.join(dir, "spec.llava"), SPEC);
    writeFileSync(path.join(dir, "plain.llava"), SPEC.replace(/ {2}eval {7}= .*\n {2}eval_every = 2 steps\n/, ""));
    const r = await llavac(["data", "hdf5", "spec.llava", "--eval", "--workers", "1"], dir);
    expect(r.code, r.stderr).toBe(0);
    const params = JSON.parse(readFileSync(path.join(dir, "data/h5/heldout/data_params.json"), "utf8")) as { n_examples?: number };
    expect(JSON.stringify(params)).toContain("heldout");
    expect(readdirSync(path.join(dir, "data/h5/heldout")).some((f) => f.endsWith(".h5"))).toBe(true);
    expect(r.stdout + r.stderr).toMatch(/\b12\b/);
    const bad = await llavac(["data", "hdf5", "plain.llava", "--eval"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/phase pretrain has no held-out split: give it `eval = eval_input \{ data: \.\.\., hdf5: \.\.\. \}`/);
  }, 120_000);
});

describe("metrics of a training run", () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir("llavac-tb-");
    const r = await llavac(["data", "synth", "shapes", "--out", "data", "--train", "48", "--heldout", "12"], dir);
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(path.join(dir, "spec.llava"), spec(writeSmallTokenizer(dir)));
    const a = await llavac(["run", "spec.llava", "-o", "with"], dir);
    expect(a.code, a.stderr).toBe(0);
    finished.add(path.join(dir, "with/pretrain"));
  }, 240_000);

  it.skipIf(!PY)("TensorBoard's reader loads the event files with the tags, steps and values of metrics.jsonl", () => {
    const phase = path.join(dir, "with/pretrain");
    const tb = tensorboardRead(phase);
    expect(tb.version).toBe(2); // the reader parses "brain.Event:2"
    expect(Object.keys(tb.scalars).sort()).toEqual(Object.values(TAGS).sort());
    expect(tb.scalars).toEqual(expected(phase));
    // One row per step, each with the training scalars; the held-out loss every 2 steps and at the end.
    expect(rows(phase).map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(tb.scalars["eval/loss"]!.map(([s]) => s)).toEqual([2, 4, 6, 7]);
    expect(tb.scalars["train/learning_rate"]!.map(([, v]) => v)).toEqual(report(phase).steps.map((s) => Math.fround(s.lr)));
  });

  it.skipIf(!PY)("a record with a corrupted CRC is rejected by TensorBoard's reader: nothing from it on is loaded", () => {
    const phase = path.join(dir, "with/pretrain");
    const copy = tempDir("llavac-tb-crc-");
    const [file] = readdirSync(phase).filter((f) => f.startsWith("events.out.tfevents."));
    cpSync(path.join(phase, file!), path.join(copy, file!));
    const buf = readFileSync(path.join(copy, file!));
    // Records: file_version, then steps 1, 2, ...; flip a byte inside step 3's data.
    let at = 0;
    for (let i = 0; i < 3; i++) at += 12 + Number(buf.readBigUInt64LE(at)) + 4;
    buf[at + 12 + 4]! ^= 0xff;
    writeFileSync(path.join(copy, file!), buf);
    const r = spawnSync(
      PY!,
      [
        "-c",
        "import sys\nfrom tensorboard.compat.tensorflow_stub import pywrap_tensorflow as p\nr = p.PyRecordReader_New(sys.argv[1].encode())\nwhile True: r.GetNext()",
        path.join(copy, file!),
      ],
      { encoding: "utf8" },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/DataLossError: .*failed event crc32 check/);
    const tb = tensorboardRead(copy);
    expect(tb.scalars["train/loss"]!.map(([s]) => s)).toEqual([1, 2]);
  });

  it("evaluating the held-out split does not change the training losses, and the loss curve draws it", async () => {
    const b = await llavac(["run", "spec.llava", "-o", "without", "--set", "pretrain.eval_every=none"], dir);
    expect(b.code, b.stderr).toBe(0);
    const withEval = report(path.join(dir, "with/pretrain")),
      without = report(path.join(dir, "without/pretrain"));
    expect(without.eval).toBeUndefined();
    expect(withEval.eval!.map((e) => e.step)).toEqual([2, 4, 6, 7]);
    for (const e of withEval.eval!) expect(e.loss).toBeGreaterThan(0);
    expect(withEval.steps.map((s) => s.loss)).toEqual(without.steps.map((s) => s.loss));
    expect(withEval.steps.map((s) => s.grad_norm)).toEqual(without.steps.map((s) => s.grad_norm));
    expect(rows(path.join(dir, "without/pretrain")).some((r) => r.eval_loss !== undefined)).toBe(false);
    const svg = (d: string) => readFileSync(path.join(dir, d, "pretrain/loss.svg"), "utf8");
    expect(svg("with").match(/<circle [^>]*fill="#e6550d"/g)).toHaveLength(4 + 1); // four evaluations and the legend
    expect(svg("with")).toContain(">eval loss</text>");
    expect(svg("without")).not.toContain("eval loss");
  }, 240_000);

  it.skipIf(!PY)(
    "a run killed after its checkpoint and resumed continues the same curves, no step twice",
    async () => {
      const k = await llavac(["run", "spec.llava", "-o", "killed"], dir, { LLAVAC_TEST_KILL_AFTER_STEP: "5" });
      expect(k.code).not.toBe(0);
      const phase = path.join(dir, "killed/pretrain");
      // The killed run logged steps 4 and 5 after its checkpoint at 3.
      expect(rows(phase).map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
      const r = await llavac(["run", "spec.llava", "-o", "killed"], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/resuming pretrain from .*checkpoint_3\.safetensors \(step 3\)/);
      // The killed run's file keeps its version record and steps 1–3; the new one has its own version record,
      // TensorBoard's restart marker at step 4, then steps 4–7.
      const files = readdirSync(phase)
        .filter((f) => f.startsWith("events.out.tfevents."))
        .sort();
      const records = files.map((f) => readTfRecords(readFileSync(path.join(phase, f))));
      expect(records.map((r) => r.intact)).toEqual([true, true]);
      expect(records.map((r) => r.records.map(eventStep))).toEqual([
        [0, 1, 2, 3],
        [0, 4, 4, 5, 6, 7],
      ]);
      for (const r of records) expect(Buffer.from(r.records[0]!).toString("latin1")).toContain("brain.Event:2");
      expect(rows(phase).map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      const tb = tensorboardRead(phase);
      const whole = tensorboardRead(path.join(dir, "with/pretrain"));
      for (const tag of [TAGS.loss, TAGS.learning_rate, TAGS.grad_norm, TAGS.eval_loss])
        expect(tb.scalars[tag], tag).toEqual(whole.scalars[tag]);
      expect(tb.scalars[TAGS.tokens_per_second]!.map(([s]) => s)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(tb.scalars).toEqual(expected(phase));
    },
    240_000,
  );
});
