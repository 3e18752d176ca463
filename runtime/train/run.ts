// One phase's training run: backend, model, weights or checkpoint, data stream, and the step loop
// (micro-batches with gradient accumulation, global-norm clipping, AdamW, the YAML's schedule), with
// checkpoints that resume exactly, a per-step log, a progress bar, metrics for TensorBoard and
// metrics.jsonl, an optional held-out evaluation, and the loss curve at the end.
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import cliProgress from "cli-progress";
import { selectBackend, type BackendChoice } from "../backend/index.js";
import type { ImageFailure, RawSamples } from "../data/loader-core.js";
import { openLoader, type SampleLoader } from "../data/loader.js";
import { ROWS } from "../data/samples.js";
import { applyFreeze } from "../model/arch.js";
import { LlavaModel, type Batch } from "../model/llava.js";
import { ParamStore } from "../model/params.js";
import { thousands } from "../util/format.js";
import { loadWeights, type WeightReport } from "../weights/load.js";
import {
  checkpointsIn,
  latestVerifiedCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointRef,
  type StepLog,
  type TrainState,
} from "./checkpoint.js";
import type { PhaseRunConfig } from "./config.js";
import { describeChanges, fingerprintChanges, fingerprintOf, readFingerprint } from "./fingerprint.js";
import { evaluate } from "./evaluate.js";
import { MetricsSink } from "./metrics.js";
import { AdamW } from "./optimizer.js";
import { trainStep } from "./step.js";
import { MemorySplit } from "./memory.js";
import { lossCurveSvg, svgToPng } from "./plot.js";
import { Sampler } from "./sampler.js";
import { learningRateAt } from "./schedule.js";
import { writeFileAtomic } from "../util/atomic.js";

export interface RunOptions {
  /** Relative paths in the config are relative to this folder (the generated program's). */
  baseDir?: string;
  backend?: string;
  /** Stop after this many updates in total (default: the config's max_steps). */
  steps?: number;
  /** Ignore this phase's existing checkpoints and start over. */
  fresh?: boolean;
  /** Read data in this thread instead of the loader's worker thread. */
  inlineLoader?: boolean;
  /** Per-step log lines (default: stderr). */
  log?: (line: string) => void;
  /** A live progress bar (default: when stderr is a terminal). */
  progress?: boolean;
}

export interface RunReport {
  phase: string;
  backend: BackendChoice;
  start: {
    kind: "fresh" | "resumed" | "from_phase" | "weights";
    from?: string;
    step: number;
    weights?: Omit<WeightReport, "loaded"> & { loaded: number };
  };
  steps: StepLog[];
  /** Mean held-out loss at each evaluated step (the phase's eval split). */
  eval?: { step: number; loss: number }[];
  /** TensorBoard event file and metrics.jsonl of this run. */
  metrics?: { events: string; jsonl: string };
  /** Steps taken in this process. */
  taken: number;
  checkpoint?: string;
  params: { total: number; trainable: number; frozen: number };
  samples: number;
  epochs: number;
  imageFailures: ImageFailure[];
  /** Global indices of samples that carried no supervised token. */
  noSupervised: number[];
  tokensPerSecond: number;
  lossCurve?: { svg: string; png: string };
  seconds: number;
}

export class TrainingError extends Error {}

const abs = (base: string, p: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));

/** The positions a micro-batch needs: up to its last attended or supervised position, and past the image slots. */
function usedLength(rows: Int32Array, n: number, msl: number, minimum: number): number {
  let used = minimum;
  for (let s = 0; s < n; s++) {
    const base = s * ROWS * msl;
    for (let j = msl - 1; j >= used; j--) {
      if (rows[base + msl + j] !== 0 || rows[base + 3 * msl + j] === 0) {
        used = j + 1;
        break;
      }
    }
  }
  return Math.min(used, msl);
}

/** HDF5 rows [n, 4, MSL] → a Batch cut to its used length. With `vocab`, a token id outside the model's
 *  vocabulary (data written with another tokenizer, or a damaged file) is refused by its sample, not left to
 *  fail inside the embedding's gather. */
export function toBatch(raw: RawSamples, imageShape: [number, number, number], minimum: number, vocab?: number): Batch {
  const n = raw.indices.length,
    msl = raw.msl;
  const T = usedLength(raw.rows, n, msl, minimum);
  const pick = (r: number) => {
    const out = new Int32Array(n * T);
    for (let s = 0; s < n; s++) out.set(raw.rows.subarray((s * ROWS + r) * msl, (s * ROWS + r) * msl + T), s * T);
    return out;
  };
  const inputIds = pick(0),
    labels = pick(2);
  if (vocab !== undefined)
    for (const [row, ids] of [
      ["text_input_ids", inputIds],
      ["labels", labels],
    ] as const) {
      const at = ids.findIndex((id) => id < 0 || id >= vocab);
      if (at >= 0)
        throw new TrainingError(
          `sample ${raw.indices[Math.floor(at / T)]} has the token id ${ids[at]} in its ${row} at position ${at % T}, outside the model's vocabulary of ${vocab}: ` +
            "was its HDF5 data written with another tokenizer? (`llavac check` compares the folder's data_params.json with the phase; `llavac data hdf5 --force` rewrites it)",
        );
    }
  return { size: n, length: T, inputIds, lossMask: pick(1), labels, keyPadding: pick(3), images: raw.images, imageShape };
}

function formatLog(l: StepLog, total: number): string {
  return `step ${l.step}/${total} · loss ${l.loss.toFixed(4)} · lr ${l.lr.toExponential(2)} · grad-norm ${l.grad_norm.toFixed(3)} · ${thousands(Math.round(l.tokens / l.seconds))} tok/s · ${l.seconds.toFixed(2)} s`;
}

/**
 * Refuse to resume checkpoints trained with other settings, then record this run's. A folder with
 * checkpoints but no fingerprint (written before fingerprints) is resumed and gets one.
 */
export function checkFingerprint(cfg: PhaseRunConfig, out: string, ckptDir: string, fresh: boolean): void {
  const file = path.join(out, "fingerprint.json");
  const now = fingerprintOf(cfg);
  const old = readFingerprint(file);
  if (!fresh && old && old.hash !== now.hash && checkpointsIn(ckptDir).length > 0) {
    const changes = fingerprintChanges(old, now);
    const where = path.relative(process.cwd(), out) || ".";
    throw new TrainingError(
      `phase ${cfg.phase}: ${where} holds checkpoints of a run with other settings, so it is not resumed. What changed (recorded → now):\n` +
        `${describeChanges(changes)}\n` +
        `Either start this phase over with --fresh (its checkpoints in ${where} are deleted), or keep them and train into a new folder (\`llavac run <spec> -o <new folder>\`).`,
    );
  }
  if (old?.hash !== now.hash) writeFileAtomic(file, JSON.stringify(now, null, 1) + "\n");
}

export async function runPhase(cfg: PhaseRunConfig, opts: RunOptions = {}): Promise<RunReport> {
  const started = Date.now();
  const base = opts.baseDir ?? process.cwd();
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const backend = await selectBackend(opts.backend);
  const out = abs(base, cfg.output);
  const ckptDir = path.join(out, "checkpoints");
  mkdirSync(out, { recursive: true });
  checkFingerprint(cfg, out, ckptDir, opts.fresh ?? false);

  const mc = cfg.model;
  const store = new ParamStore(mc.arch, {
    seed: cfg.run.seed,
    std: {
      image_model: mc.vision.initializer_range,
      text_model: mc.text.initializer_range,
      projector_image_model: mc.text.initializer_range,
    },
  });
  const model = new LlavaModel(mc, store);
  const freeze = applyFreeze(store.specs, cfg.freeze);
  const unmatched = cfg.freeze.filter((_, i) => freeze.matches[i]!.length === 0).map((f) => `/${f.source}/${f.flags}`);
  if (unmatched.length)
    throw new TrainingError(
      `freeze pattern${unmatched.length > 1 ? "s" : ""} ${unmatched.join(", ")} match no module (Cerebras raises here too)`,
    );
  const trainable = new Map(freeze.trainable.map((p) => [p.name, store.get(p.name)]));
  if (trainable.size === 0) throw new TrainingError("every parameter is frozen: there is nothing to train");
  const frozen = {
    vision: !freeze.trainable.some((p) => p.component === "image_model"),
    text: !freeze.trainable.some((p) => p.component === "text_model"),
  };
  const opt = new AdamW(
    {
      betas: cfg.optimizer.betas,
      eps: cfg.optimizer.eps,
      weight_decay: cfg.optimizer.weight_decay,
      correct_bias: cfg.optimizer.correct_bias,
    },
    trainable,
  );

  // Where the run starts: this phase's own latest checkpoint, another phase's model states, pretrained
  // weights, or the seeded initialisation.
  if (opts.fresh)
    for (const c of checkpointsIn(ckptDir)) {
      rmSync(c.json, { force: true });
      rmSync(c.weights, { force: true });
    }
  let state: TrainState = {
    format: "llavac-checkpoint/1",
    phase: cfg.phase,
    step: 0,
    cursor: 0,
    seed: cfg.run.seed,
    history: [],
    trainable: [...trainable.keys()],
  };
  let start: RunReport["start"] = { kind: "fresh", step: 0 };
  const reportRejected = (rejected: { ref: CheckpointRef; problem: string }[]) => {
    for (const r of rejected)
      log(
        `checkpoint ${path.relative(process.cwd(), r.ref.weights) || r.ref.weights} (step ${r.ref.step}) is not usable: ${r.problem}; falling back to an earlier one`,
      );
  };
  const verified = latestVerifiedCheckpoint(ckptDir);
  reportRejected(verified.rejected);
  const own = verified.found?.ref;
  if (own) {
    state = verified.found!.state;
    loadCheckpoint(own, store, opt);
    opt.step = state.step;
    start = { kind: "resumed", from: own.weights, step: state.step };
    log(`resuming ${cfg.phase} from ${path.relative(process.cwd(), own.weights) || own.weights} (step ${state.step})`);
  } else if (cfg.init.from_phase) {
    const dir = abs(base, cfg.init.from_phase.checkpoints);
    const other = latestVerifiedCheckpoint(dir);
    reportRejected(other.rejected);
    const prev = other.found?.ref;
    if (!prev)
      throw new TrainingError(
        `phase ${cfg.phase} starts from phase ${cfg.init.from_phase.phase}, which has no ${other.rejected.length ? "usable " : ""}checkpoint in ${dir}: run that phase first`,
      );
    loadCheckpoint(prev, store);
    start = { kind: "from_phase", from: prev.weights, step: 0 };
    log(`${cfg.phase}: model states from ${cfg.init.from_phase.phase} (${path.relative(process.cwd(), prev.weights) || prev.weights})`);
  } else if (cfg.init.weights?.length) {
    const w = loadWeights(
      store,
      cfg.init.weights.map((p) => abs(base, p)),
    );
    start = { kind: "weights", from: cfg.init.weights.join(", "), step: 0, weights: { ...w, loaded: w.loaded.length } };
    log(
      `${cfg.phase}: loaded ${w.loaded.length} tensors (${w.layouts.join(", ") || "Cerebras names"}); ${w.missing.length} parameters keep their initialisation`,
    );
  }

  try {
    learningRateAt(cfg.optimizer.learning_rate, 0);
  } catch (err) {
    throw new TrainingError((err as Error).message);
  }
  const maxSteps = Math.min(opts.steps ?? cfg.max_steps, cfg.max_steps);
  const micro = cfg.batch.micro;
  if (cfg.batch.global % micro !== 0)
    throw new TrainingError(`the global batch ${cfg.batch.global} is not a multiple of the micro-batch ${micro}`);
  const microPerStep = cfg.batch.global / micro;
  const imageShape: [number, number, number] = [mc.arch.vision.num_channels, mc.arch.vision.image_size[0], mc.arch.vision.image_size[1]];

  let loader: SampleLoader = await openLoader(
    { dirs: cfg.data.hdf5.map((d) => abs(base, d)), imageRoot: abs(base, cfg.data.images), transforms: cfg.data.transforms, imageShape },
    { inline: opts.inlineLoader ?? false },
  );
  const imageFailures: ImageFailure[] = [];
  const noSupervised = new Set<number>();
  let lastCheckpoint: CheckpointRef | undefined = own;
  let taken = 0;
  let tokensSeen = 0,
    secondsSpent = 0;
  let evalLoader: SampleLoader | undefined;
  let metrics: MetricsSink | undefined;
  try {
    if (cfg.eval) {
      evalLoader = await openLoader(
        {
          dirs: cfg.eval.hdf5.map((d) => abs(base, d)),
          imageRoot: abs(base, cfg.eval.images),
          transforms: cfg.data.transforms,
          imageShape,
        },
        { inline: opts.inlineLoader ?? false },
      );
      if (evalLoader.info.msl !== mc.max_sequence_length)
        throw new TrainingError(
          `the eval HDF5 files hold sequences of ${evalLoader.info.msl} tokens, but the model's max_sequence_length is ${mc.max_sequence_length}: rebuild the eval data for this spec`,
        );
      if (evalLoader.info.samples === 0) throw new TrainingError(`the eval split in ${cfg.eval.hdf5.join(", ")} has no samples`);
      state.eval ??= [];
    }
    if (loader.info.msl !== mc.max_sequence_length)
      throw new TrainingError(
        `the HDF5 files hold sequences of ${loader.info.msl} tokens, but the model's max_sequence_length is ${mc.max_sequence_length}: rebuild the data for this spec`,
      );
    if (cfg.loader.drop_last && loader.info.samples < cfg.batch.global)
      throw new TrainingError(
        `${loader.info.samples} samples do not fill one batch of ${cfg.batch.global}, and drop_last is on: every epoch would be empty`,
      );
    // Small splits are read once and held (with a frozen tower, as its features): nothing is read or
    // decoded again per epoch, and the tower does not run per step.
    const readOnce = (l: SampleLoader) => MemorySplit.read(l, { imageShape, micro, ...(frozen.vision ? { model } : {}) });
    const split = await readOnce(loader);
    if (split) loader = split;
    const evalSplit = evalLoader && (await readOnce(evalLoader));
    if (evalSplit) evalLoader = evalSplit;
    const sampler = new Sampler(loader.info.samples, {
      shuffle: cfg.loader.shuffle,
      seed: cfg.loader.shuffle_seed,
      dropLast: cfg.loader.drop_last,
      globalBatch: cfg.batch.global,
    });
    const minimum = mc.image_start_idx + mc.num_patches;

    // Micro-batches are requested ahead, so the loader thread prepares images while this one computes.
    const ahead = Math.max(2, Math.min(cfg.loader.prefetch_factor, 16));
    const pending: Promise<RawSamples>[] = [];
    let requested = state.cursor;
    const endCursor = state.cursor + (maxSteps - state.step) * cfg.batch.global;
    const fill = () => {
      while (pending.length < ahead && requested < endCursor) {
        pending.push(loader.read(sampler.take(requested, micro)));
        requested += micro;
      }
    };

    const bar =
      (opts.progress ?? (process.stderr.isTTY && !process.env.CI)) && maxSteps > state.step
        ? new cliProgress.SingleBar(
            {
              format: `${cfg.phase} [{bar}] {value}/{total} steps | loss {loss} | {tps} tok/s | ETA {eta_formatted}`,
              hideCursor: true,
              etaBuffer: 20,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
    bar?.start(maxSteps, state.step, { loss: "-", tps: "-" });
    const useDropout = [
      mc.vision.dropout_rate,
      mc.vision.attention_dropout_rate,
      mc.vision.embedding_dropout_rate,
      mc.text.dropout_rate,
      mc.text.attention_dropout_rate,
      mc.text.embedding_dropout_rate,
    ].some((r) => r > 0);

    // A run with nothing left to do leaves the metrics as they are.
    if (state.step < maxSteps) metrics = new MetricsSink(out, state.step);
    while (state.step < maxSteps) {
      const t0 = performance.now();
      fill();
      const raws: RawSamples[] = [];
      for (let k = 0; k < microPerStep; k++) {
        raws.push(await pending.shift()!);
        fill();
      }
      const batches = raws.map((r) => toBatch(r, imageShape, minimum, mc.arch.text.vocab_size));
      let supervised = 0,
        tokens = 0;
      raws.forEach((r, k) => {
        // Each failing image once, however often the sample comes round.
        for (const f of r.failures) if (!imageFailures.some((x) => x.sample === f.sample)) imageFailures.push(f);
        const b = batches[k]!;
        for (let s = 0; s < b.size; s++) {
          let n = 0;
          for (let j = 0; j < b.length; j++) {
            n += b.lossMask[s * b.length + j]!;
            tokens += b.keyPadding[s * b.length + j] === 0 ? 1 : 0;
          }
          if (n === 0) noSupervised.add(r.indices[s]!);
          supervised += n;
        }
      });
      // A sample whose image failed to load keeps its place but carries no loss.
      for (const [k, r] of raws.entries()) {
        for (const f of r.failures) {
          const s = r.indices.indexOf(f.sample);
          const b = batches[k]!;
          for (let j = 0; j < b.length; j++) {
            supervised -= b.lossMask[s * b.length + j]!;
            b.lossMask[s * b.length + j] = 0;
          }
        }
      }

      const lr = learningRateAt(cfg.optimizer.learning_rate, state.step);
      const step = state.step;
      const {
        loss,
        gradNorm: norm,
        applied,
      } = trainStep(model, opt, batches, {
        supervised,
        globalBatch: cfg.batch.global,
        lr,
        frozen,
        ...(cfg.optimizer.max_grad_norm !== undefined ? { maxGradNorm: cfg.optimizer.max_grad_norm } : {}),
        ...(useDropout ? { seed: (k: number) => (cfg.run.seed * 1_000_003 + step * 1009 + k) % 2147483647 } : {}),
        ...(split ? { features: (k: number) => split.features(raws[k]!.indices) } : {}),
      });
      if (!applied) {
        bar?.stop();
        const kept = lastCheckpoint
          ? `the last good checkpoint is ${lastCheckpoint.weights} (step ${lastCheckpoint.step})`
          : "no checkpoint was written yet";
        throw new TrainingError(
          `step ${state.step + 1}: the loss is ${loss} (gradient norm ${norm}); stopping. ${kept}. Lower the learning rate, check the data (\`llavac data verify\`), or add max_grad_norm.`,
        );
      }

      state.step += 1;
      state.cursor += cfg.batch.global;
      taken += 1;
      const seconds = (performance.now() - t0) / 1000;
      const entry: StepLog = { step: state.step, loss, lr, grad_norm: norm, tokens, supervised, seconds };
      state.history.push(entry);
      tokensSeen += tokens;
      secondsSpent += seconds;
      bar?.update(state.step, { loss: loss.toFixed(4), tps: thousands(Math.round(tokens / seconds)) });
      const logged = state.step % cfg.run.log_steps === 0 || state.step === maxSteps;
      if (!bar && logged) log(formatLog(entry, maxSteps));
      let evalLoss: number | undefined;
      if (evalLoader && cfg.eval && (state.step % cfg.eval.every === 0 || state.step === cfg.max_steps)) {
        const r = await evaluate(model, evalLoader, {
          micro,
          imageShape,
          minimum,
          ...(evalSplit ? { features: (indices: number[]) => evalSplit.features(indices) } : {}),
        });
        evalLoss = r.loss;
        state.eval!.push({ step: state.step, loss: r.loss });
        if (!bar) log(`eval step ${state.step}: loss ${r.loss.toFixed(4)} over ${thousands(r.samples)} held-out samples`);
      }
      if (logged || evalLoss !== undefined)
        metrics?.log({
          step: state.step,
          wall_time: Date.now() / 1000,
          ...(logged ? { loss, learning_rate: lr, grad_norm: norm, tokens_per_second: tokens / seconds } : {}),
          ...(evalLoss !== undefined ? { eval_loss: evalLoss } : {}),
        });
      if ((cfg.run.checkpoint_steps > 0 && state.step % cfg.run.checkpoint_steps === 0) || state.step === maxSteps) {
        // What the checkpoint's steps logged is on the disk before the checkpoint names them.
        metrics?.flush();
        lastCheckpoint = await saveCheckpoint(ckptDir, store, opt, state, cfg.run.max_checkpoints);
      }
      // Tests simulate a crash: the process dies at once, as with SIGKILL or a power cut.
      if (process.env.LLAVAC_TEST_KILL_AFTER_STEP && state.step === Number(process.env.LLAVAC_TEST_KILL_AFTER_STEP))
        process.kill(process.pid, "SIGKILL");
    }
    bar?.stop();
  } finally {
    metrics?.close();
    await evalLoader?.close();
    await loader.close();
  }

  let lossCurve: RunReport["lossCurve"];
  if (state.history.length > 0) {
    const svg = lossCurveSvg(state.history, `${cfg.spec} · phase ${cfg.phase} · loss`, state.eval);
    lossCurve = { svg: path.join(out, "loss.svg"), png: path.join(out, "loss.png") };
    writeFileAtomic(lossCurve.svg, svg);
    writeFileAtomic(lossCurve.png, await svgToPng(svg));
  }
  const report: RunReport = {
    phase: cfg.phase,
    backend,
    start,
    steps: state.history,
    ...(state.eval ? { eval: state.eval } : {}),
    ...(metrics ? { metrics: { events: metrics.eventFile, jsonl: path.join(out, "metrics.jsonl") } } : {}),
    taken,
    ...(lastCheckpoint ? { checkpoint: lastCheckpoint.weights } : {}),
    params: { total: store.count(), trainable: store.count(trainable.keys()), frozen: store.count() - store.count(trainable.keys()) },
    samples: loader.info.samples,
    epochs: state.cursor / Math.max(1, loader.info.samples),
    imageFailures,
    noSupervised: [...noSupervised],
    tokensPerSecond: secondsSpent > 0 ? tokensSeen / secondsSpent : 0,
    ...(lossCurve ? { lossCurve } : {}),
    seconds: (Date.now() - started) / 1000,
  };
  writeFileAtomic(path.join(out, "run.json"), JSON.stringify(report, null, 1) + "\n");
  opt.dispose();
  store.dispose();
  return report;
}
