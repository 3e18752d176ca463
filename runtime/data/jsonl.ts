// Streaming jsonl: read large files line by line with their line numbers, write atomically.
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, readSync, renameSync, rmSync } from "node:fs";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import { OutputWriteError } from "../util/atomic.js";
import { killPoint } from "../util/kill-point.js";

export interface Line {
  file: string;
  /** 1-based */
  line: number;
  text: string;
}

export async function* readLines(file: string): AsyncGenerator<Line> {
  const rl = createInterface({ input: createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim().length === 0) continue;
    yield { file, line: n, text };
  }
}

export { OutputWriteError };

/**
 * Writes records one per line to `<file>.tmp-<pid>` and renames it into place on `close()`. A failed
 * write stops with an OutputWriteError and removes the temporary file, so no partial file is left under
 * either name.
 */
export class JsonlWriter {
  private readonly tmp: string;
  private readonly stream;
  private failure: Error | undefined;
  private readonly failed: Promise<never>;
  count = 0;

  constructor(readonly file: string) {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
    } catch (err) {
      throw new OutputWriteError(path.dirname(file), err);
    }
    this.tmp = `${file}.tmp-${process.pid}`;
    this.stream = createWriteStream(this.tmp, { encoding: "utf8" });
    this.failed = new Promise<never>((_, reject) =>
      this.stream.once("error", (err) => {
        this.failure = err;
        reject(err);
      }),
    );
    this.failed.catch(() => undefined);
  }

  private async fail(err: unknown): Promise<never> {
    await this.abort();
    throw new OutputWriteError(this.file, err);
  }

  async write(record: unknown): Promise<void> {
    if (this.failure) await this.fail(this.failure);
    this.count++;
    if (!this.stream.write(JSON.stringify(record) + "\n")) {
      try {
        await Promise.race([once(this.stream, "drain"), this.failed]);
      } catch (err) {
        await this.fail(err);
      }
    }
  }

  async close(): Promise<void> {
    if (this.failure) await this.fail(this.failure);
    this.stream.end();
    try {
      await Promise.race([once(this.stream, "finish"), this.failed]);
    } catch (err) {
      await this.fail(err);
    }
    killPoint("jsonl:closed");
    try {
      renameSync(this.tmp, this.file);
    } catch (err) {
      await this.fail(err);
    }
    killPoint("jsonl:renamed");
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    rmSync(this.tmp, { force: true });
  }
}

export interface LineBatch {
  /** 1-based number of the batch's first line in its file. */
  firstLine: number;
  /** The raw bytes of `lines` consecutive lines (the last may lack its newline). */
  bytes: Uint8Array;
  lines: number;
}

/**
 * A file cut into batches of `perBatch` lines, as raw bytes: cheap to produce, and transferable to a
 * worker thread without copying. Blank lines count as lines (so line numbers stay true).
 */
/** Lines with content in a file (blank ones, which readers skip, are not counted): the total for progress. */
export function countRecords(file: string): number {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    let count = 0,
      lineLength = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      let at = 0;
      for (let nl = buf.indexOf(10, at); nl >= 0 && nl < n; nl = buf.indexOf(10, at)) {
        lineLength += nl - at;
        if (lineLength > 1 || (lineLength === 1 && buf[nl - 1] !== 13)) count++;
        lineLength = 0;
        at = nl + 1;
      }
      lineLength += n - at;
    }
    return count + (lineLength > 0 ? 1 : 0);
  } finally {
    closeSync(fd);
  }
}

export function* lineBatches(file: string, perBatch: number): Generator<LineBatch> {
  const fd = openSync(file, "r");
  try {
    const CHUNK = 1 << 22;
    let pending = Buffer.alloc(0);
    let firstLine = 1;
    let eof = false;
    while (!eof || pending.length > 0) {
      if (!eof) {
        // The rest of the last read (less than a batch), then the next read after it in the same buffer:
        // the file's bytes are copied once more only when a batch is cut out of it.
        const buf = Buffer.allocUnsafe(pending.length + CHUNK);
        pending.copy(buf);
        const n = readSync(fd, buf, pending.length, CHUNK, null);
        if (n === 0) eof = true;
        else pending = buf.subarray(0, pending.length + n);
      }
      // Emit every complete batch in `pending`; at the end of the file, the rest.
      let start = 0;
      for (;;) {
        let pos = start,
          lines = 0;
        while (lines < perBatch) {
          const nl = pending.indexOf(10, pos);
          if (nl < 0) break;
          pos = nl + 1;
          lines++;
        }
        if (lines === perBatch || (eof && pos < pending.length) || (eof && lines > 0)) {
          let end = pos;
          if (eof && lines < perBatch && end < pending.length) {
            end = pending.length;
            lines++;
          }
          yield { firstLine, bytes: new Uint8Array(pending.subarray(start, end)), lines };
          firstLine += lines;
          start = end;
          if (start >= pending.length) break;
          continue;
        }
        break;
      }
      pending = pending.subarray(start);
      if (eof && pending.length === 0) break;
    }
  } finally {
    closeSync(fd);
  }
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
