// One HDF5 writer: takes batches of jsonl lines, turns each conversation into its four rows, and writes
// `examples_<file>_<worker>.h5` files of `filesPerRecord` samples. It runs in a worker thread (or inline)
// and reports each finished file, with the input position just after it, so a killed job can resume and
// produce the same bytes.
import { appendFileSync, existsSync, openSync, closeSync, ftruncateSync } from "node:fs";
import path from "node:path";
import { layoutRows, type Template } from "../text/layout.js";
import { loadTokenizer, type Tokenizer, type TokenizerSource } from "../text/tokenizer.js";
import { killPoint } from "../util/kill-point.js";
import { classifyRecord, ImageChecker, parseLine, type SkipKind } from "./classify.js";
import { isProblem } from "./records.js";
import { h5Ready, SampleFileWriter } from "./hdf5.js";
import { type Batch, batchLines } from "./jsonl.js";
import { emptyStats, skipLogPath } from "./hdf5-stats.js";

export { cleaningOf, decodes, type SkipKind } from "./classify.js";

export interface WorkerConfig {
  out: string;
  imageRoot: string;
  checkImages: boolean;
  template: Template;
  tokenizer: TokenizerSource;
  padId?: number;
  msl: number;
  numPatches: number;
  filesPerRecord: number;
  outputName: string;
  overLength: "drop" | "truncate";
  /** The placeholder of the image in the text (the writer's `image_token`). */
  imageToken?: string;
  /** The preprocess config's `use_ftfy` and `ftfy_normalizer` (default: true, "NFC"). */
  useFtfy?: boolean;
  ftfyNormalizer?: string;
}

export interface Position {
  batch: number;
  /** Index of the next line within the batch. */
  line: number;
}

export interface Stats {
  processed: number;
  kept: number;
  withImage: number;
  textOnly: number;
  skipped: Record<string, number>;
  numTokens: number;
  nonPadTokens: number;
  lossValidTokens: number;
  /** The writer's raw_chars_count / raw_bytes_count: code points and UTF-8 bytes of every prompt and
   * completion of the records it reads (past the image check; also those later dropped as too long). */
  rawChars: number;
  rawBytes: number;
  /** The writer's detokenized_chars / _bytes: the input rows decoded as Hugging Face decodes them. */
  detokenizedChars: number;
  detokenizedBytes: number;
  imageStart: number | null;
}

export interface WorkerState {
  /** Files this worker has finished (examples_0_w … examples_{files-1}_w). */
  files: number;
  /** First input position not yet in a finished file; null = the start. */
  resumeAt: Position | null;
  stats: Stats;
  /** Bytes of this worker's skip log that belong to finished work. */
  skipLogBytes: number;
}

// A batch and its lines live with the jsonl reading (jsonl.ts), where `check --data`'s workers take them
// from without loading the HDF5 library.

export type WorkerEvent =
  | { type: "fileDone"; worker: number; state: WorkerState; file: string }
  | { type: "progress"; worker: number; processed: number; skipped: Record<string, number> }
  | { type: "finished"; worker: number; state: WorkerState };

export function examplesPath(out: string, name: string, file: number, worker: number): string {
  return path.join(out, `${name}_${file}_${worker}.h5`);
}

/** Python's len(): code points, not UTF-16 units. */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** The writer's raw counts: each (prompt, completion) pair of the record, as read. */
function countRaw(stats: Stats, turns: readonly { value: string }[]): void {
  for (let i = 0; i + 1 < turns.length; i += 2)
    for (const t of [turns[i]!, turns[i + 1]!]) {
      stats.rawChars += codePoints(t.value);
      stats.rawBytes += Buffer.byteLength(t.value);
    }
}

export class Hdf5Worker {
  private tok!: Tokenizer;
  private writer: SampleFileWriter | undefined;
  private readonly state: WorkerState;
  private pendingSkips = "";
  /** Index of the last batch this worker was given (its input ends there). */
  private lastBatch: number | undefined;
  private readonly images: ImageChecker;

  constructor(
    readonly id: number,
    readonly config: WorkerConfig,
    resume: WorkerState | undefined,
    private readonly emit: (e: WorkerEvent) => void,
  ) {
    // A journal written before a statistic existed resumes with it at 0.
    this.state = resume
      ? { ...structuredClone(resume), stats: { ...emptyStats(), ...structuredClone(resume.stats) } }
      : { files: 0, resumeAt: null, stats: emptyStats(), skipLogBytes: 0 };
    this.images = new ImageChecker(config.imageRoot, config.checkImages ? "decode" : "none");
  }

  async init(): Promise<void> {
    await h5Ready();
    this.tok = await loadTokenizer(this.config.tokenizer, this.config.padId);
    // Work past the last finished file is redone: its skip-log lines go.
    const log = skipLogPath(this.config.out, this.id);
    if (existsSync(log)) {
      const fd = openSync(log, "r+");
      ftruncateSync(fd, this.state.skipLogBytes);
      closeSync(fd);
    }
  }

  private before(batch: number, line: number): boolean {
    const r = this.state.resumeAt;
    return r !== null && (batch < r.batch || (batch === r.batch && line < r.line));
  }

  private skip(reason: SkipKind, file: string, line: number, id: unknown, detail: string): void {
    const s = this.state.stats;
    s.skipped[reason] = (s.skipped[reason] ?? 0) + 1;
    this.pendingSkips += JSON.stringify({ file, line, id: id ?? null, reason, detail }) + "\n";
  }

  async process(batch: Batch): Promise<void> {
    const c = this.config;
    this.lastBatch = batch.index;
    const lines = batchLines(batch);
    const records = lines.map((l, i) => (this.before(batch.index, i) ? undefined : parseLine(l)));
    // Image checks run concurrently for the batch; the rows are built in order.
    const imageChecks = await this.images.batch(records);
    for (let i = 0; i < lines.length; i++) {
      const parsed = records[i];
      if (parsed === undefined) continue;
      const { line } = lines[i]!;
      const stats = this.state.stats;
      stats.processed++;
      // The image comes first, as in the writer's check_valid_doc: a record that fails it is discarded
      // before its text is read, so that text is not in the raw counts.
      if (!isProblem(parsed) && !imageChecks[i]) countRaw(stats, parsed.conversations);
      const v = classifyRecord(this.tok, c, parsed, imageChecks[i]!, this.images);
      if (!v.ok) {
        this.skip(v.reason, batch.file, line, v.id, v.detail);
        continue;
      }
      const { rec } = v;
      const hasImage = rec.image !== undefined;
      const r = layoutRows(this.tok, c.template, v.plan, hasImage, c);
      if (!this.writer)
        this.writer = new SampleFileWriter(examplesPath(c.out, c.outputName, this.state.files, this.id), c.msl, c.filesPerRecord);
      this.writer.add(r.rows, rec.image);
      stats.kept++;
      if (hasImage) stats.withImage++;
      else stats.textOnly++;
      if (hasImage && stats.imageStart === null) stats.imageStart = r.imageStart;
      stats.numTokens += c.msl;
      stats.lossValidTokens += r.supervised;
      // As the writer's verification counts them: over the whole row, neither eos nor pad.
      const input = r.rows[0];
      for (let j = 0; j < r.length; j++) if (input[j] !== this.tok.padId && input[j] !== this.tok.eosId) stats.nonPadTokens++;
      const text = this.tok.decodeLikeHf(input);
      stats.detokenizedChars += codePoints(text);
      stats.detokenizedBytes += Buffer.byteLength(text);
      if (this.writer.count === c.filesPerRecord) this.finishFile({ batch: batch.index, line: i + 1 });
    }
    this.emit({ type: "progress", worker: this.id, processed: this.state.stats.processed, skipped: this.state.stats.skipped });
    killPoint("hdf5:batch");
  }

  private flushSkips(): void {
    if (!this.pendingSkips) return;
    appendFileSync(skipLogPath(this.config.out, this.id), this.pendingSkips);
    this.state.skipLogBytes += Buffer.byteLength(this.pendingSkips);
    this.pendingSkips = "";
  }

  private finishFile(after: Position | null): void {
    const w = this.writer!;
    w.close();
    this.writer = undefined;
    this.state.files++;
    if (after) this.state.resumeAt = after;
    this.flushSkips();
    this.emit({ type: "fileDone", worker: this.id, state: structuredClone(this.state), file: w.path });
  }

  /**
   * No more input: write the last, partial file. The resume position moves past all of this worker's
   * input, so a job killed after this point (before its summary) neither writes these samples into
   * another file nor counts its skips twice.
   */
  finish(): void {
    const end: Position | null = this.lastBatch !== undefined ? { batch: this.lastBatch + 1, line: 0 } : null;
    if (end) this.state.resumeAt = end;
    if (this.writer && this.writer.count > 0) this.finishFile(null);
    else this.writer?.abort();
    this.flushSkips();
    this.emit({ type: "finished", worker: this.id, state: structuredClone(this.state) });
  }

  abort(): void {
    this.writer?.abort();
  }
}
