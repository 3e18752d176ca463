// One HDF5 writer: takes batches of jsonl lines, turns each conversation into its four rows, and writes
// `examples_<file>_<worker>.h5` files of `filesPerRecord` samples. It runs in a worker thread (or inline)
// and reports each finished file, with the input position just after it, so a killed job can resume and
// produce the same bytes.
import { appendFileSync, existsSync, openSync, closeSync, ftruncateSync } from "node:fs";
import path from "node:path";
import { decodeRgb } from "./images.js";
import { layoutConversation, type SkipReason, type Template } from "../text/layout.js";
import { loadTokenizer, type Tokenizer, type TokenizerSource } from "../text/tokenizer.js";
import { h5Ready, SampleFileWriter } from "./hdf5.js";
import { staysInside, unsafeRelativePath } from "./paths.js";
import { conversationProblem, isProblem, parseRecord, type RecordProblem } from "./records.js";

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
}

/** A full decode, the training loader's own (decodeRgb): a truncated file fails here, not in the job. */
export async function decodes(file: string): Promise<boolean> {
  try {
    const img = await decodeRgb(file);
    return img.width > 0 && img.height > 0;
  } catch {
    return false;
  }
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
  rawChars: number;
  rawBytes: number;
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

export interface Batch {
  index: number;
  file: string;
  /** 1-based line number of the first line in `bytes`. */
  firstLine: number;
  /** Raw jsonl bytes: consecutive lines of `file`. */
  bytes: Uint8Array;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The batch's lines with their numbers; blank lines are left out (but counted). A line that is not valid
 * UTF-8 comes back with `invalid` set instead of being decoded with replacement characters.
 */
export function batchLines(batch: Batch): { line: number; text: string; invalid?: true }[] {
  let parts: (string | undefined)[];
  try {
    parts = utf8.decode(batch.bytes).split("\n");
  } catch {
    // Rare: find the offending lines one by one.
    parts = [];
    for (let start = 0; start <= batch.bytes.length; ) {
      let end = batch.bytes.indexOf(10, start);
      if (end < 0) end = batch.bytes.length;
      try {
        parts.push(utf8.decode(batch.bytes.subarray(start, end)));
      } catch {
        parts.push(undefined);
      }
      start = end + 1;
    }
  }
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  const out: { line: number; text: string; invalid?: true }[] = [];
  parts.forEach((text, i) => {
    if (text === undefined) {
      out.push({ line: batch.firstLine + i, text: "", invalid: true });
      return;
    }
    const t = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (t.trim().length > 0) out.push({ line: batch.firstLine + i, text: t });
  });
  return out;
}

export type WorkerEvent =
  | { type: "fileDone"; worker: number; state: WorkerState; file: string }
  | { type: "progress"; worker: number; processed: number; skipped: Record<string, number> }
  | { type: "finished"; worker: number; state: WorkerState };

export type SkipKind =
  | SkipReason
  | "malformed_json"
  | "invalid_utf8"
  | "invalid_record"
  | "bad_role"
  | "role_order"
  | "image_token_count"
  | "unsafe_image_path"
  | "missing_image"
  | "bad_image";

export function emptyStats(): Stats {
  return {
    processed: 0,
    kept: 0,
    withImage: 0,
    textOnly: 0,
    skipped: {},
    numTokens: 0,
    nonPadTokens: 0,
    lossValidTokens: 0,
    rawChars: 0,
    rawBytes: 0,
    imageStart: null,
  };
}

export function skipLogPath(out: string, worker: number): string {
  return path.join(out, `.llavac-skipped-${worker}.jsonl`);
}

export function examplesPath(out: string, name: string, file: number, worker: number): string {
  return path.join(out, `${name}_${file}_${worker}.h5`);
}

const enc = new TextEncoder();

export class Hdf5Worker {
  private tok!: Tokenizer;
  private writer: SampleFileWriter | undefined;
  private readonly state: WorkerState;
  private pendingSkips = "";
  /** Index of the last batch this worker was given (its input ends there). */
  private lastBatch: number | undefined;
  private readonly imageCache = new Map<string, SkipKind | null>();

  constructor(
    readonly id: number,
    readonly config: WorkerConfig,
    resume: WorkerState | undefined,
    private readonly emit: (e: WorkerEvent) => void,
  ) {
    this.state = resume ? structuredClone(resume) : { files: 0, resumeAt: null, stats: emptyStats(), skipLogBytes: 0 };
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

  private async imageProblem(rel: string): Promise<SkipKind | null> {
    const cached = this.imageCache.get(rel);
    if (cached !== undefined) return cached;
    let problem: SkipKind | null = null;
    if (unsafeRelativePath(rel)) problem = "unsafe_image_path";
    else if (this.config.checkImages) {
      const full = path.join(this.config.imageRoot, rel);
      if (!existsSync(full)) problem = "missing_image";
      else if (!staysInside(this.config.imageRoot, full)) problem = "unsafe_image_path";
      else problem = (await decodes(full)) ? null : "bad_image";
    }
    if (this.imageCache.size > 100_000) this.imageCache.clear();
    this.imageCache.set(rel, problem);
    return problem;
  }

  async process(batch: Batch): Promise<void> {
    const c = this.config;
    this.lastBatch = batch.index;
    const lines = batchLines(batch);
    const records = lines.map((l, i) =>
      this.before(batch.index, i)
        ? undefined
        : l.invalid
          ? ({ reason: "invalid_utf8", detail: "the line is not valid UTF-8" } as RecordProblem)
          : parseRecord(l.text),
    );
    // Image checks run concurrently for the batch; the rows are built in order.
    const imageChecks = await Promise.all(
      records.map((r) => (r && !isProblem(r) && r.image !== undefined ? this.imageProblem(r.image) : Promise.resolve(null))),
    );
    for (let i = 0; i < lines.length; i++) {
      const rec = records[i];
      if (rec === undefined) continue;
      const { line } = lines[i]!;
      const stats = this.state.stats;
      stats.processed++;
      if (isProblem(rec)) {
        this.skip(rec.reason, batch.file, line, null, rec.detail);
        continue;
      }
      const bad = conversationProblem(rec, c.imageToken);
      if (bad) {
        this.skip(bad.reason, batch.file, line, rec.id, bad.detail);
        continue;
      }
      const problem = imageChecks[i];
      if (problem) {
        const detail =
          problem === "unsafe_image_path"
            ? `${rec.image}: ${unsafeRelativePath(rec.image!) ?? `leaves ${c.imageRoot} through a symlink`}`
            : problem === "missing_image"
              ? `${rec.image} not found under ${c.imageRoot}`
              : `${rec.image} cannot be decoded`;
        this.skip(problem, batch.file, line, rec.id, detail);
        continue;
      }
      const hasImage = rec.image !== undefined;
      const r = layoutConversation(this.tok, c.template, rec.conversations, hasImage, {
        numPatches: c.numPatches,
        msl: c.msl,
        overLength: c.overLength,
      });
      if (!r.ok) {
        this.skip(r.reason, batch.file, line, rec.id, r.detail);
        continue;
      }
      if (!this.writer)
        this.writer = new SampleFileWriter(examplesPath(c.out, c.outputName, this.state.files, this.id), c.msl, c.filesPerRecord);
      this.writer.add(r.rows, rec.image);
      stats.kept++;
      if (hasImage) stats.withImage++;
      else stats.textOnly++;
      if (hasImage && stats.imageStart === null) stats.imageStart = r.imageStart;
      stats.numTokens += c.msl;
      stats.lossValidTokens += r.supervised;
      const input = r.rows[0];
      for (let j = 0; j < r.length; j++) if (input[j] !== this.tok.padId) stats.nonPadTokens++;
      for (const t of rec.conversations) {
        stats.rawChars += t.value.length;
        stats.rawBytes += enc.encode(t.value).length;
      }
      if (this.writer.count === c.filesPerRecord) this.finishFile({ batch: batch.index, line: i + 1 });
    }
    this.emit({ type: "progress", worker: this.id, processed: this.state.stats.processed, skipped: this.state.stats.skipped });
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
