// Streaming jsonl: read large files line by line with their line numbers, write atomically.
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync } from "node:fs";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";

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

/** Writes records one per line to `<file>.tmp-<pid>` and renames it into place on `close()`. */
export class JsonlWriter {
  private readonly tmp: string;
  private readonly stream;
  count = 0;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = `${file}.tmp-${process.pid}`;
    this.stream = createWriteStream(this.tmp, { encoding: "utf8" });
  }

  async write(record: unknown): Promise<void> {
    this.count++;
    if (!this.stream.write(JSON.stringify(record) + "\n")) await once(this.stream, "drain");
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, "finish");
    renameSync(this.tmp, this.file);
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    rmSync(this.tmp, { force: true });
  }
}
