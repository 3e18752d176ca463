// `llavac check --data`: a phase's jsonl read as `data hdf5` would read it, nothing written. Every record
// goes through the writer's own classification (classify.ts), so the counts by reason are the ones the
// writer then skips; kept samples add their token length to a histogram against the MSL.
//
// Large inputs are checked on worker threads (dist/check-data-worker.js): each batch of lines goes to the
// least busy worker, and the batches' outcomes are merged strictly in input order, with the same merge as
// in this thread, so counts, examples, lengths and the longest sample are those of the one-thread pass.
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { loadTokenizer, type Tokenizer, type TokenizerSource } from "../text/tokenizer.js";
import { packageRoot } from "../util/package-root.js";
import { type ClassifyConfig, ImageChecker, type ImageCheck, type InputLine, measureRecord, parseLine, type SkipKind } from "./classify.js";
import { listInputs } from "./hdf5-job.js";
import { type Batch, batchLines, countRecords, lineBatches } from "./jsonl.js";
import { batchRecords } from "./record-bytes.js";
import type { LlavaRecord, RecordProblem } from "./records.js";

export interface CheckDataConfig extends ClassifyConfig {
  inputs: string[];
  imageRoot: string;
  tokenizer: TokenizerSource;
  padId?: number;
}

export interface CheckDataOptions {
  images: ImageCheck;
  /** Check this many records spread evenly over the input instead of all of them. */
  sample?: number;
  /** Examples kept per reason. */
  examples?: number;
  /**
   * Worker threads (this thread checks batches too, whenever every worker has its queue full); 0 checks in
   * this thread alone. Default: one per core but this thread's (at most 3) when there are several cores and
   * the input is 8 MiB or more and not sampled, else 0. The report is the same either way.
   */
  workers?: number;
}

export interface Finding {
  file: string;
  line: number;
  id: unknown;
  detail: string;
}

export interface ReasonCount {
  count: number;
  examples: Finding[];
}

export interface DataReport {
  files: string[];
  /** Records in the input (lines with content). */
  records: number;
  /** Records classified: all of them, or the sample. */
  checked: number;
  sampled: boolean;
  images: ImageCheck;
  /** Skipped by the writer, by reason (reasons with no sample are absent). */
  skipped: Partial<Record<SkipKind, ReasonCount>>;
  /** Kept, but cut to the MSL (`over_length: truncate`). */
  cut: ReasonCount;
  kept: number;
  msl: number;
  /** Token lengths (positions needed, image slots included) of every sample that reached the layout. */
  histogram: { bins: { from: number; to: number; count: number }[]; over: number };
  lengths: { min: number; median: number; p99: number; max: number; maxAt?: Finding } | null;
  seconds: number;
  /** CPU time of this process during the pass (user + system), for throughput on a loaded machine. */
  cpu_seconds: number;
  /** Batches checked by each thread: this one first, then each worker (how the work was shared). */
  threads: number[];
}

const BATCH_LINES = 256;
const BINS = 10;
/** Batches queued per worker thread. */
const IN_FLIGHT = 4;
/** Input size from which the default is to use worker threads. */
const THREADED_BYTES = 8 << 20;

/** A skipped record, or a kept one cut to the MSL (kind null). */
export interface BatchEvent {
  kind: SkipKind | null;
  line: number;
  id: unknown;
  detail: string;
}

/** What one batch of lines comes to: merged in input order (mergeOutcome), from this thread or a worker. */
export interface BatchOutcome {
  checked: number;
  kept: number;
  /** Token length of each checked record that reached the layout (-1 when it did not). */
  lengths: Int32Array;
  events: BatchEvent[];
  /** The batch's first longest record. */
  max: { length: number; line: number; id: unknown } | null;
}

/** Classifies batches of lines: the work of one thread. */
export class BatchChecker {
  readonly images: ImageChecker;
  constructor(
    readonly tok: Tokenizer,
    readonly cfg: CheckDataConfig,
    images: ImageCheck,
  ) {
    this.images = new ImageChecker(cfg.imageRoot, images);
  }

  check(lines: InputLine[]): Promise<BatchOutcome> {
    return this.checkParsed(
      lines.map((l) => l.line),
      lines.map(parseLine),
    );
  }

  /** The records of a batch (their line numbers, and each record or its problem). */
  async checkParsed(lineNumbers: number[], parsed: (LlavaRecord | RecordProblem)[]): Promise<BatchOutcome> {
    const imageChecks = await this.images.batch(parsed);
    const lengths = new Int32Array(parsed.length).fill(-1);
    const events: BatchEvent[] = [];
    let kept = 0;
    let max: BatchOutcome["max"] = null;
    for (let i = 0; i < parsed.length; i++) {
      const line = lineNumbers[i]!;
      const v = measureRecord(this.tok, this.cfg, parsed[i]!, imageChecks[i]!, this.images);
      const full = v.ok ? v.plan.fullLength : v.fullLength;
      if (full !== undefined) {
        lengths[i] = full;
        if (max === null || full > max.length) max = { length: full, line, id: v.ok ? v.rec.id : v.id };
      }
      if (!v.ok) {
        events.push({ kind: v.reason, line, id: v.id, detail: v.detail });
        continue;
      }
      kept++;
      if (v.plan.fullLength > v.plan.length)
        events.push({ kind: null, line, id: v.rec.id, detail: `${v.plan.fullLength} tokens cut to ${v.plan.length}` });
    }
    return { checked: parsed.length, kept, lengths, events, max };
  }

  /** A batch of raw lines, its records read from the bytes (record-bytes.ts: what batchLines + parseLine give). */
  checkBytes(batch: Batch): Promise<BatchOutcome> {
    const { lines, parsed } = batchRecords(batch);
    return this.checkParsed(lines, parsed);
  }
}

const workerFile = () => path.join(packageRoot(), "dist", "check-data-worker.js");
/** The default number of worker threads (one per core but this thread's, at most 3). */
const workersFor = (cores: number) => Math.min(4, cores) - 1;

/** Workers started ahead of a pass (prestartWorkers), not yet taken by one; with whether each has exited. */
const ahead: { worker: Worker; exited: boolean }[] = [];

/**
 * Starts the worker threads of a `check --data` pass now, before the spec is compiled, so that their start-up
 * (module loading, ~0.4 CPU-second each) runs on the other cores while this thread compiles; the next
 * checkData takes them and ends the ones it does not use. They keep no process alive until taken.
 */
export function prestartWorkers(images: ImageCheck): void {
  const cores = availableParallelism();
  const file = workerFile();
  if (cores < 2 || ahead.length > 0 || !existsSync(file)) return;
  for (let i = 0; i < workersFor(cores); i++) {
    const entry = { worker: new Worker(file, { workerData: { warm: images !== "none" } }), exited: false };
    entry.worker.unref();
    // (a worker that failed to start is not taken; its error is not this thread's)
    entry.worker.on("error", () => undefined);
    entry.worker.once("exit", () => (entry.exited = true));
    ahead.push(entry);
  }
}

/** A started worker for a pass, or a new one. */
function takeWorker(file: string): Worker {
  for (let e = ahead.shift(); e; e = ahead.shift()) {
    if (e.exited) continue;
    e.worker.ref();
    return e.worker;
  }
  return new Worker(file);
}

export async function checkData(cfg: CheckDataConfig, opts: CheckDataOptions): Promise<DataReport> {
  try {
    return await checkDataPass(cfg, opts);
  } finally {
    for (const e of ahead.splice(0)) void e.worker.terminate();
  }
}

async function checkDataPass(cfg: CheckDataConfig, opts: CheckDataOptions): Promise<DataReport> {
  const files = listInputs(cfg.inputs);
  const tok = await loadTokenizer(cfg.tokenizer, cfg.padId);
  // The pass itself is timed (the tokenizer is loaded once per process, before it).
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const keep = opts.examples ?? 3;
  const skipped: Partial<Record<SkipKind, ReasonCount>> = {};
  const cut: ReasonCount = { count: 0, examples: [] };
  const note = (rc: ReasonCount, f: Finding) => {
    rc.count++;
    if (rc.examples.length < keep) rc.examples.push(f);
  };

  // A sample: records at evenly spaced ordinals over all the files (counted first, a cheap byte scan).
  const perFile = opts.sample !== undefined ? files.map(countRecords) : [];
  const total = perFile.reduce((a, b) => a + b, 0);
  const sampled = opts.sample !== undefined && opts.sample < total;
  const picks = sampled ? Array.from({ length: opts.sample! }, (_, i) => Math.floor((i * total) / opts.sample!)) : [];
  let nextPick = 0;

  // Lengths: counts per length, so median and p99 are exact; by index below 65,536 tokens (no map update
  // per record), in a map above.
  const shortCounts = new Float64Array(1 << 16);
  const longCounts = new Map<number, number>();
  let maxLen = -1;
  let maxAt: Finding | undefined;
  let records = 0,
    checked = 0,
    kept = 0;
  // The one merge, in input order, of every batch's outcome.
  const merge = (file: string, o: BatchOutcome) => {
    checked += o.checked;
    kept += o.kept;
    for (const full of o.lengths)
      if (full >= 0) {
        if (full < shortCounts.length) shortCounts[full]!++;
        else longCounts.set(full, (longCounts.get(full) ?? 0) + 1);
      }
    if (o.max && o.max.length > maxLen) {
      maxLen = o.max.length;
      maxAt = { file, line: o.max.line, id: o.max.id, detail: `${o.max.length} tokens` };
    }
    for (const e of o.events) {
      const f = { file, line: e.line, id: e.id, detail: e.detail };
      note(e.kind === null ? cut : (skipped[e.kind] ??= { count: 0, examples: [] }), f);
    }
  };

  const bytes = files.reduce((a, f) => a + statSync(f).size, 0);
  const file = workerFile();
  const cores = availableParallelism();
  const W = sampled ? 0 : (opts.workers ?? (bytes >= THREADED_BYTES && cores > 1 ? workersFor(cores) : 0));
  const checker = new BatchChecker(tok, cfg, opts.images);
  let threads = [0];
  if (W > 0 && existsSync(file)) {
    ({ records, threads } = await checkThreaded(file, W, cfg, opts.images, files, merge, checker));
  } else {
    for (const file of files) {
      for (const b of lineBatches(file, BATCH_LINES)) {
        const batch: Batch = { index: 0, file, firstLine: b.firstLine, bytes: b.bytes };
        if (!sampled) {
          const o = await checker.checkBytes(batch);
          records += o.checked;
          if (o.checked === 0) continue;
          threads[0]!++;
          merge(file, o);
          continue;
        }
        const lines = batchLines(batch);
        const chosen = lines.filter((_, i) => {
          if (nextPick < picks.length && picks[nextPick] === records + i) {
            nextPick++;
            return true;
          }
          return false;
        });
        records += lines.length;
        if (chosen.length === 0) continue;
        threads[0]!++;
        merge(file, await checker.check(chosen));
      }
    }
  }
  if (!sampled) records = Math.max(records, checked);

  const msl = cfg.msl;
  const width = Math.ceil(msl / BINS);
  const bins = Array.from({ length: BINS }, (_, i) => ({
    from: i * width + (i === 0 ? 0 : 1),
    to: Math.min(msl, (i + 1) * width),
    count: 0,
  }));
  let over = 0;
  const sorted: [number, number][] = [];
  shortCounts.forEach((c, len) => {
    if (c > 0) sorted.push([len, c]);
  });
  sorted.push(...[...longCounts].sort(([a], [b]) => a - b));
  let n = 0;
  for (const [len, c] of sorted) {
    n += c;
    if (len > msl) over += c;
    else bins[Math.min(BINS - 1, Math.max(0, Math.ceil(len / width) - 1))]!.count += c;
  }
  const quantile = (q: number) => {
    const want = Math.max(1, Math.ceil(q * n));
    let seen = 0;
    for (const [len, c] of sorted) if ((seen += c) >= want) return len;
    return sorted[sorted.length - 1]![0];
  };
  return {
    files,
    records,
    checked,
    sampled,
    images: opts.images,
    skipped,
    cut,
    kept,
    msl,
    histogram: { bins, over },
    lengths: n === 0 ? null : { min: sorted[0]![0], median: quantile(0.5), p99: quantile(0.99), max: maxLen, ...(maxAt ? { maxAt } : {}) },
    seconds: (performance.now() - t0) / 1000,
    cpu_seconds: ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0)),
    threads,
  };
}

/**
 * The batches of `files` checked on `W` worker threads, and by `local` in this thread when every worker has
 * its queue full (so this thread's core counts too, and one worker fewer is started); `merge` gets the
 * outcomes in input order. Returns the records read and the batches each thread checked (this one first).
 */
async function checkThreaded(
  workerFile: string,
  W: number,
  cfg: CheckDataConfig,
  images: ImageCheck,
  files: string[],
  merge: (file: string, o: BatchOutcome) => void,
  local: BatchChecker,
): Promise<{ records: number; threads: number[] }> {
  const threads = Array.from({ length: W }, () => takeWorker(workerFile));
  for (const t of threads) t.postMessage({ cfg, images });
  const busy = new Array<number>(W).fill(0);
  const shares = new Array<number>(W + 1).fill(0);
  // Outcomes that arrived before an earlier batch's, by batch index.
  const done = new Map<number, { file: string; o: BatchOutcome }>();
  let next = 0;
  let records = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fileOf: string[] = [];
  threads.forEach((t, w) => {
    t.on("message", (m: { index: number; outcome?: BatchOutcome; error?: string }) => {
      busy[w]!--;
      if (m.error !== undefined) failure ??= new Error(`check --data worker failed: ${m.error}`);
      else done.set(m.index, { file: fileOf[m.index]!, o: m.outcome! });
      poke();
    });
    t.on("error", (err) => {
      failure ??= err;
      poke();
    });
    // A worker gone with batches unanswered (killed, out of memory) fails the pass instead of hanging it.
    t.on("exit", (code) => {
      if (busy[w]! > 0) failure ??= new Error(`check --data worker exited (code ${code}) with ${busy[w]} batches unanswered`);
      poke();
    });
  });
  const drain = () => {
    for (let d = done.get(next); d; d = done.get(next)) {
      done.delete(next);
      records += d.o.checked;
      merge(d.file, d.o);
      next++;
    }
  };
  const wait = () => new Promise<void>((r) => (wake = r));
  try {
    let index = 0;
    for (const file of files)
      for (const b of lineBatches(file, BATCH_LINES)) {
        if (failure) throw failure;
        drain();
        const w = busy.indexOf(Math.min(...busy));
        fileOf[index] = file;
        const batch: Batch = { index, file, firstLine: b.firstLine, bytes: b.bytes };
        if (busy[w]! < IN_FLIGHT) {
          busy[w]!++;
          shares[w + 1]!++;
          threads[w]!.postMessage(batch, [b.bytes.buffer as ArrayBuffer]);
        } else {
          // Every worker's queue is full: this thread checks the batch, then lets the event loop run, so the
          // workers' answers (which free their queues) are taken in. Checking a batch whose images are all
          // cached settles in microtasks only: without this turn, no answer would be read until the input
          // ended, and this thread would check nearly every batch while the workers waited.
          shares[0]!++;
          done.set(index, { file, o: await local.checkBytes(batch) });
          await new Promise<void>((r) => setImmediate(r));
        }
        index++;
      }
    while (next < index) {
      if (failure) throw failure;
      drain();
      if (next < index) await wait();
    }
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
  return { records, threads: shares };
}
