// `llavac data hdf5`: jsonl conversations → Cerebras-format HDF5 files, spread over worker threads.
//
// Batches of input lines go to workers in turn (batch k to worker k mod W), so the output depends only
// on the input and W. A journal records, for each worker, its finished files and the input position
// just after them; a killed job restarts from there and writes byte-identical files.
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { OutputWriteError, writeFileAtomic } from "../util/atomic.js";
import { killPoint } from "../util/kill-point.js";
import { LOCK_FILE, lockFolder } from "../util/lock.js";
import { packageRoot } from "../util/package-root.js";
import { type Batch, countRecords, lineBatches } from "./jsonl.js";
import { emptyStats, skipLogPath } from "./hdf5-stats.js";
// Types only: the worker code (h5wasm, sharp, the tokenizer) is loaded here only to run a worker in this thread.
import type { Hdf5Worker, Stats, WorkerConfig, WorkerEvent, WorkerState } from "./hdf5-worker-core.js";

export interface Hdf5JobConfig extends WorkerConfig {
  /** jsonl files, or folders searched recursively for *.jsonl. */
  inputs: string[];
  /** Workers; 0 means one, in this thread. */
  workers: number;
  /** Run the workers in this thread instead of worker threads (same output; for tests and debugging). */
  inline?: boolean;
  /** Start over even if the output folder holds another run's files. */
  force: boolean;
  /** The setup/processing/dataset sections for data_params.json (as in the preprocessing config). */
  params: Record<string, unknown>;
  /** Recorded in data_params.json. */
  vocabSize: number;
  eosId: number;
}

export interface Hdf5JobHooks {
  onStart?(info: { totalBytes: number; totalRecords: number; files: number; resumed: boolean }): void;
  /** `processed`: samples the workers have finished (written or skipped), out of `totalRecords`. */
  onProgress?(info: { bytes: number; totalBytes: number; processed: number }): void;
  /** Write every skipped sample with its reason here. */
  report?: string;
  /** Stop (the job stays resumable) once more samples than this have been skipped. */
  maxSkipped?: number;
  /** Test hook: stop abruptly after this many finished files (to test resuming). */
  crashAfterFiles?: number;
}

export interface Hdf5JobResult {
  out: string;
  files: string[];
  stats: Stats;
  resumed: boolean;
  alreadyComplete: boolean;
  dataParams: Record<string, unknown>;
}

export class Hdf5JobError extends Error {}

interface Journal {
  version: 1;
  fingerprint: string;
  workers: number;
  complete: boolean;
  states: Record<string, WorkerState>;
}

const BATCH_LINES = 256;
const MAX_IN_FLIGHT = 4;
const JOURNAL = ".llavac-hdf5.json";

export function listInputs(inputs: string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".jsonl")) files.push(p);
    }
  };
  for (const input of inputs) {
    if (!existsSync(input)) throw new Hdf5JobError(`input not found: ${input}`);
    if (statSync(input).isDirectory()) walk(input);
    else files.push(input);
  }
  if (files.length === 0) throw new Hdf5JobError(`no .jsonl files in ${inputs.join(", ")}`);
  return files;
}

function writeJsonAtomically(file: string, value: unknown, indent = 2): void {
  writeFileAtomic(file, JSON.stringify(value, null, indent) + "\n");
}

/** JSON with sorted keys (as the Cerebras writer's data_params.json). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

function mergeCounts(all: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of all) for (const [k, n] of Object.entries(c)) out[k] = (out[k] ?? 0) + n;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export function mergeStats(states: WorkerState[]): Stats {
  const s = emptyStats();
  for (const st of states) {
    const x = st.stats;
    s.processed += x.processed;
    s.kept += x.kept;
    s.withImage += x.withImage;
    s.textOnly += x.textOnly;
    s.numTokens += x.numTokens;
    s.nonPadTokens += x.nonPadTokens;
    s.lossValidTokens += x.lossValidTokens;
    s.rawChars += x.rawChars;
    s.rawBytes += x.rawBytes;
    s.detokenizedChars += x.detokenizedChars ?? 0;
    s.detokenizedBytes += x.detokenizedBytes ?? 0;
    for (const [k, n] of Object.entries(x.skipped)) s.skipped[k] = (s.skipped[k] ?? 0) + n;
    if (s.imageStart === null) s.imageStart = x.imageStart;
  }
  s.skipped = Object.fromEntries(Object.entries(s.skipped).sort(([a], [b]) => a.localeCompare(b)));
  return s;
}

function contentHash(file: string): string {
  const h = createHash("sha256");
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

export async function runHdf5Job(cfg: Hdf5JobConfig, hooks: Hdf5JobHooks = {}): Promise<Hdf5JobResult> {
  const files = listInputs(cfg.inputs);
  const lock = lockFolder(cfg.out, "llavac data hdf5");
  killPoint("hdf5:locked");
  try {
    return await runLocked(cfg, hooks, files);
  } finally {
    lock.release();
  }
}

async function runLocked(cfg: Hdf5JobConfig, hooks: Hdf5JobHooks, files: string[]): Promise<Hdf5JobResult> {
  const W = Math.max(1, cfg.workers);
  const workerConfig: WorkerConfig = {
    out: cfg.out,
    imageRoot: cfg.imageRoot,
    checkImages: cfg.checkImages,
    template: cfg.template,
    tokenizer: cfg.tokenizer,
    msl: cfg.msl,
    numPatches: cfg.numPatches,
    filesPerRecord: cfg.filesPerRecord,
    outputName: cfg.outputName,
    overLength: cfg.overLength,
    ...(cfg.padId !== undefined ? { padId: cfg.padId } : {}),
    ...(cfg.useFtfy !== undefined ? { useFtfy: cfg.useFtfy } : {}),
    ...(cfg.ftfyNormalizer !== undefined ? { ftfyNormalizer: cfg.ftfyNormalizer } : {}),
  };
  // Inputs are identified by content, not modification time: preparing the same data again must not
  // make a finished or interrupted job look like a different one.
  const fingerprint = createHash("sha256")
    .update(
      JSON.stringify({
        inputs: files.map((f) => ({ f: path.resolve(f), size: statSync(f).size, sha256: contentHash(f) })),
        workerConfig: { ...workerConfig, out: path.resolve(cfg.out), imageRoot: path.resolve(cfg.imageRoot) },
        W,
      }),
    )
    .digest("hex");

  // Resume, refuse, or start fresh.
  const journalPath = path.join(cfg.out, JOURNAL);
  let journal: Journal | undefined = existsSync(journalPath) ? (JSON.parse(readFileSync(journalPath, "utf8")) as Journal) : undefined;
  const ours = (f: string) => /\.h5(\.tmp)?$/.test(f) || f === "data_params.json" || (f.startsWith(".llavac-") && f !== LOCK_FILE);
  if (cfg.force || (journal && journal.fingerprint !== fingerprint) || (!journal && readdirSync(cfg.out).some((f) => f.endsWith(".h5")))) {
    if (!cfg.force) {
      throw new Hdf5JobError(
        journal
          ? `${cfg.out} holds HDF5 files from a run with other inputs or settings; pass --force to replace them`
          : `${cfg.out} already holds .h5 files that llavac did not write; pass --force to replace them`,
      );
    }
    for (const f of readdirSync(cfg.out)) if (ours(f)) rmSync(path.join(cfg.out, f), { force: true });
    journal = undefined;
  }
  const dataParamsPath = path.join(cfg.out, "data_params.json");
  if (journal?.complete && existsSync(dataParamsPath)) {
    const dataParams = JSON.parse(readFileSync(dataParamsPath, "utf8")) as Record<string, unknown>;
    return {
      out: cfg.out,
      files: outputFiles(cfg.out),
      stats: mergeStats(Object.values(journal.states)),
      resumed: true,
      alreadyComplete: true,
      dataParams,
    };
  }
  const resumed = journal !== undefined;
  journal ??= { version: 1, fingerprint, workers: W, complete: false, states: {} };
  // Files past each worker's last finished one are redone; so are half-written ones.
  for (const f of readdirSync(cfg.out)) {
    const m = /^(.*)_(\d+)_(\d+)\.h5(\.tmp)?$/.exec(f);
    if (f.endsWith(".tmp") || f.includes(".tmp-")) {
      rmSync(path.join(cfg.out, f), { force: true });
      continue;
    }
    if (m && Number(m[2]) >= (journal.states[m[3]!]?.files ?? 0)) rmSync(path.join(cfg.out, f), { force: true });
  }
  if (!resumed) for (let w = 0; w < W; w++) rmSync(skipLogPath(cfg.out, w), { force: true });
  const saveJournal = () => {
    writeJsonAtomically(journalPath, journal);
    killPoint("hdf5:journal");
  };
  saveJournal();

  const totalBytes = files.reduce((a, f) => a + statSync(f).size, 0);
  // Counting the records costs a read of the inputs, so only for a caller that shows progress.
  if (hooks.onStart)
    hooks.onStart({ totalBytes, totalRecords: files.reduce((a, f) => a + countRecords(f), 0), files: files.length, resumed });

  // Workers: worker 0 in this thread, which would otherwise only wait for the others, and the others in
  // threads running the bundled worker (each thread loads h5wasm, sharp and the tokenizer again, ~1 s of CPU
  // for a small job). The same code writes the same bytes in either place.
  const workerFile = path.join(packageRoot(), "dist", "hdf5-worker.js");
  const useThreads = cfg.workers > 1 && !cfg.inline && existsSync(workerFile);
  const threaded = (w: number) => useThreads && w > 0;
  const processed = new Array<number>(W).fill(0);
  const skippedBy: Record<string, number>[] = Array.from({ length: W }, () => ({}));
  const finished: (WorkerState | undefined)[] = new Array(W).fill(undefined);
  let finishedFiles = 0;
  let failure: Error | undefined;
  const waiters: (() => void)[][] = Array.from({ length: W }, () => []);
  const inFlight = new Array<number>(W).fill(0);
  let bytesSent = 0;
  const onEvent = (
    e: WorkerEvent | { type: "error"; worker: number; message: string; write?: boolean } | { type: "ready"; worker: number },
  ) => {
    if (e.type === "error") {
      failure ??= new Hdf5JobError(e.write ? e.message : `worker ${e.worker} failed: ${e.message}`);
      waiters.flat().forEach((f) => f());
      return;
    }
    if (e.type === "ready") return;
    if (e.type === "progress") {
      processed[e.worker] = e.processed;
      skippedBy[e.worker] = e.skipped;
      if (hooks.maxSkipped !== undefined && !failure) {
        const byReason = mergeCounts(skippedBy);
        const total = Object.values(byReason).reduce((a, b) => a + b, 0);
        if (total > hooks.maxSkipped) {
          const reasons = Object.entries(byReason)
            .map(([r, n]) => `${r} ${n}`)
            .join(", ");
          failure = new Hdf5JobError(
            `stopped: ${total} samples skipped, more than --max-skipped ${hooks.maxSkipped} (${reasons}); fix the data, or raise the limit, and run again to resume`,
          );
          waiters.flat().forEach((f) => f());
        }
      }
      inFlight[e.worker]!--;
      waiters[e.worker]!.shift()?.();
      hooks.onProgress?.({ bytes: bytesSent, totalBytes, processed: processed.reduce((a, b) => a + b, 0) });
      return;
    }
    journal!.states[e.worker] = e.state;
    saveJournal();
    if (e.type === "fileDone") {
      finishedFiles++;
      if (hooks.crashAfterFiles !== undefined && finishedFiles >= hooks.crashAfterFiles) process.kill(process.pid, "SIGKILL");
    } else {
      finished[e.worker] = e.state;
      waiters[e.worker]!.forEach((f) => f());
    }
  };

  const threads: Worker[] = [];
  const inline: Hdf5Worker[] = [];
  const done: Promise<void>[] = [];
  // The threads first: they start while this thread loads its own worker.
  for (const w of [...Array(W).keys()].sort((a, b) => Number(threaded(b)) - Number(threaded(a)))) {
    const resume = journal.states[w];
    if (threaded(w)) {
      const t = new Worker(workerFile, { workerData: { id: w, config: workerConfig, resume } });
      t.on("message", onEvent);
      t.on("error", (err) => {
        failure ??= err;
        waiters.flat().forEach((f) => f());
      });
      threads[w] = t;
      done.push(new Promise((resolve) => t.once("exit", () => resolve())));
    } else {
      const { Hdf5Worker } = await import("./hdf5-worker-core.js");
      const iw = new Hdf5Worker(w, workerConfig, resume, onEvent);
      // The threads started above would keep the process alive after a failed start here.
      await iw.init().catch(async (err: unknown) => {
        await Promise.all(threads.map((t) => t.terminate()));
        throw err;
      });
      inline[w] = iw;
    }
  }

  const send = async (batch: Batch) => {
    const w = batch.index % W;
    if (threaded(w)) {
      while (inFlight[w]! >= MAX_IN_FLIGHT && !failure) await new Promise<void>((r) => waiters[w]!.push(r));
      if (failure) throw failure;
      inFlight[w]!++;
      threads[w]!.postMessage({ type: "batch", batch }, [batch.bytes.buffer as ArrayBuffer]);
    } else {
      if (failure) throw failure;
      inFlight[w]!++;
      await inline[w]!.process(batch);
    }
  };

  try {
    let index = 0;
    for (const file of files) {
      for (const { firstLine, bytes } of lineBatches(file, BATCH_LINES)) {
        bytesSent += bytes.length;
        await send({ index: index++, file, firstLine, bytes });
      }
      if (failure) throw failure;
    }
    for (let w = 0; w < W; w++) {
      if (threaded(w)) threads[w]!.postMessage({ type: "end" });
      else inline[w]!.finish();
    }
    for (let w = 0; w < W; w++) while (threaded(w) && !finished[w] && !failure) await new Promise<void>((r) => waiters[w]!.push(r));
    if (failure) throw failure;
  } catch (err) {
    inline.forEach((w) => w.abort());
    await Promise.all(threads.map((t) => t.terminate()));
    // Half-written files go; finished ones stay for the resumed run.
    for (const f of readdirSync(cfg.out)) if (f.endsWith(".h5.tmp")) rmSync(path.join(cfg.out, f), { force: true });
    throw err instanceof OutputWriteError ? new Hdf5JobError(err.message) : err;
  }
  await Promise.all(threads.map((t) => t.terminate()));
  await Promise.all(done);

  const states = Array.from({ length: W }, (_, w) => finished[w] ?? journal!.states[w]!);
  const stats = mergeStats(states);
  const counts = writerCounts(stats);
  const dataParams = sortKeys({
    ...cfg.params,
    "post-process": {
      ...counts,
      n_examples: stats.kept,
      raw_chars_count: stats.rawChars,
      raw_bytes_count: stats.rawBytes,
      eos_id: cfg.eosId,
      pad_id: cfg.padId ?? null,
      vocab_size: cfg.vocabSize,
    },
    h5_dataset_stats: {
      num_sequences: stats.kept,
      num_tokens: stats.numTokens,
      detokenized_bytes: stats.detokenizedBytes,
      detokenized_chars: stats.detokenizedChars,
      non_pad_tokens: stats.nonPadTokens,
      loss_valid_tokens: stats.lossValidTokens,
    },
    image_patch_info: { image_patch_start_idx: stats.imageStart, num_patches: cfg.numPatches },
    llavac: {
      skipped: stats.skipped,
      samples_with_image: stats.withImage,
      text_only_samples: stats.textOnly,
      workers: W,
      files: outputFiles(cfg.out),
      template: cfg.template.name,
      max_sequence_length: cfg.msl,
    },
  }) as Record<string, unknown>;
  writeJsonAtomically(dataParamsPath, dataParams, 4);
  killPoint("hdf5:params");
  if (hooks.report) writeReport(hooks.report, cfg.out, W, files);
  killPoint("hdf5:summary");
  journal.complete = true;
  journal.states = Object.fromEntries(states.map((s, w) => [String(w), s]));
  saveJournal();
  return { out: cfg.out, files: outputFiles(cfg.out), stats, resumed, alreadyComplete: false, dataParams };
}

/** Skips that the writer makes before a record is read (its check_valid_doc: the image must exist). */
const BEFORE_READING = new Set(["missing_image", "unsafe_image_path", "bad_image"]);

/**
 * data_params.json's counts with the Cerebras writer's meaning: `processed_files` counts the records it
 * read past the image check (a record whose image is missing is discarded without being processed),
 * `discarded_files` every record not written, and `successful_files` is processed − discarded, as the
 * writer computes it (so with missing images it is below n_examples).
 */
export function writerCounts(stats: Stats): { processed_files: number; discarded_files: number; successful_files: number } {
  const discarded = Object.values(stats.skipped).reduce((a, b) => a + b, 0);
  const unread = Object.entries(stats.skipped).reduce((a, [k, n]) => a + (BEFORE_READING.has(k) ? n : 0), 0);
  const processed = stats.processed - unread;
  return { processed_files: processed, discarded_files: discarded, successful_files: processed - discarded };
}

export function outputFiles(out: string): string[] {
  return readdirSync(out)
    .filter((f) => f.endsWith(".h5"))
    .sort(compareExamples);
}

/** examples_<file>_<worker>.h5 in (worker, file) order, other names after. */
function compareExamples(a: string, b: string): number {
  const ma = /_(\d+)_(\d+)\.h5$/.exec(a),
    mb = /_(\d+)_(\d+)\.h5$/.exec(b);
  if (ma && mb) return Number(ma[2]) - Number(mb[2]) || Number(ma[1]) - Number(mb[1]);
  return a.localeCompare(b);
}

/** Every skipped sample, in input order, with its file, line and reason. */
function writeReport(report: string, out: string, W: number, files: string[]): void {
  const order = new Map(files.map((f, i) => [f, i]));
  const entries: { file: string; line: number }[] = [];
  for (let w = 0; w < W; w++) {
    const log = skipLogPath(out, w);
    if (!existsSync(log)) continue;
    for (const l of readFileSync(log, "utf8").split("\n")) if (l) entries.push(JSON.parse(l) as { file: string; line: number });
  }
  entries.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line);
  writeFileAtomic(report, entries.map((e) => JSON.stringify(e)).join("\n") + (entries.length ? "\n" : ""));
}
