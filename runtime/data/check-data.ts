// `llavac check --data`: a phase's jsonl read as `data hdf5` would read it, nothing written. Every record
// goes through the writer's own classification (classify.ts), so the counts by reason are the ones the
// writer then skips; kept samples add their token length to a histogram against the MSL.
import { loadTokenizer, type TokenizerSource } from "../text/tokenizer.js";
import { type ClassifyConfig, ImageChecker, type ImageCheck, measureRecord, parseLine, type SkipKind } from "./classify.js";
import { batchLines } from "./hdf5-worker-core.js";
import { listInputs } from "./hdf5-job.js";
import { countRecords, lineBatches } from "./jsonl.js";

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
}

const BATCH_LINES = 256;
const BINS = 10;

export async function checkData(cfg: CheckDataConfig, opts: CheckDataOptions): Promise<DataReport> {
  const files = listInputs(cfg.inputs);
  const tok = await loadTokenizer(cfg.tokenizer, cfg.padId);
  // The pass itself is timed (the tokenizer is loaded once per process, before it).
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const images = new ImageChecker(cfg.imageRoot, opts.images);
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

  // Lengths: counts per length (at most MSL + the longest), so median and p99 are exact.
  const lengthCounts = new Map<number, number>();
  let maxLen = -1;
  let maxAt: Finding | undefined;
  let records = 0,
    checked = 0,
    kept = 0;
  for (const file of files) {
    for (const b of lineBatches(file, BATCH_LINES)) {
      const lines = batchLines({ index: 0, file, firstLine: b.firstLine, bytes: b.bytes });
      const chosen = sampled
        ? lines.filter((_, i) => {
            if (nextPick < picks.length && picks[nextPick] === records + i) {
              nextPick++;
              return true;
            }
            return false;
          })
        : lines;
      records += lines.length;
      if (chosen.length === 0) continue;
      const parsed = chosen.map(parseLine);
      const imageChecks = await images.batch(parsed);
      for (let i = 0; i < chosen.length; i++) {
        checked++;
        const { line } = chosen[i]!;
        const v = measureRecord(tok, cfg, parsed[i]!, imageChecks[i]!, images);
        const full = v.ok ? v.plan.fullLength : v.fullLength;
        if (full !== undefined) {
          lengthCounts.set(full, (lengthCounts.get(full) ?? 0) + 1);
          if (full > maxLen) {
            maxLen = full;
            maxAt = { file, line, id: v.ok ? v.rec.id : v.id, detail: `${full} tokens` };
          }
        }
        if (!v.ok) {
          note((skipped[v.reason] ??= { count: 0, examples: [] }), { file, line, id: v.id, detail: v.detail });
          continue;
        }
        kept++;
        if (v.plan.fullLength > v.plan.length)
          note(cut, { file, line, id: v.rec.id, detail: `${v.plan.fullLength} tokens cut to ${v.plan.length}` });
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
  const sorted = [...lengthCounts].sort(([a], [b]) => a - b);
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
  };
}
