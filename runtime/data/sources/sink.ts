// Where converters put their records: real jsonl files, one record per line, written atomically, with
// every skipped input counted by reason (and a few examples of each kept for the report).
import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { processAlive } from "../../util/lock.js";
import { killPoint } from "../../util/kill-point.js";
import { JsonlWriter } from "../jsonl.js";
import { validateRecord, type LlavaRecord } from "../records.js";
import { isProblem } from "../records.js";

export interface PrepareOptions {
  /** The raw download (a folder or a file, per dataset). */
  input: string;
  /** Folder for the jsonl files. */
  out: string;
  /** Folder to write embedded images to (parquet datasets). */
  images?: string;
  /** Prefix of the `image` paths written into the records (relative to the phase's image root). */
  imagePrefix?: string;
  /** Seed for random choices (synthdog's captioning prompt). */
  seed: number;
  /** Which splits to convert, where a dataset has several (default: train). */
  splits?: string[];
  onProgress?: (records: number) => void;
}

export interface Skipped {
  count: number;
  examples: string[];
}

export interface PrepareSummary {
  kind: string;
  files: { path: string; records: number }[];
  kept: number;
  skipped: Record<string, Skipped>;
  imagesWritten: number;
}

export class PrepareError extends Error {}

export class Sink {
  private readonly writers = new Map<string, JsonlWriter>();
  private readonly skippedBy = new Map<string, Skipped>();
  kept = 0;
  imagesWritten = 0;

  constructor(
    readonly kind: string,
    readonly out: string,
    private readonly onProgress?: (n: number) => void,
  ) {
    removeStaleTemporaries(out);
  }

  async add(file: string, rec: LlavaRecord): Promise<void> {
    const checked = validateRecord(rec);
    if (isProblem(checked)) {
      this.skip("invalid_record", String(rec.id), checked.detail);
      return;
    }
    let w = this.writers.get(file);
    if (!w) {
      w = new JsonlWriter(path.join(this.out, file));
      this.writers.set(file, w);
    }
    await w.write(rec);
    this.kept++;
    killPoint("prepare:record");
    if (this.kept % 1000 === 0) this.onProgress?.(this.kept);
  }

  skip(reason: string, where: string, detail: string): void {
    const s = this.skippedBy.get(reason) ?? { count: 0, examples: [] };
    s.count++;
    if (s.examples.length < 5) s.examples.push(`${where}: ${detail}`);
    this.skippedBy.set(reason, s);
  }

  async close(): Promise<PrepareSummary> {
    const files: PrepareSummary["files"] = [];
    for (const [name, w] of [...this.writers].sort(([a], [b]) => a.localeCompare(b))) {
      await w.close();
      files.push({ path: path.join(this.out, name), records: w.count });
    }
    this.onProgress?.(this.kept);
    return {
      kind: this.kind,
      files,
      kept: this.kept,
      skipped: Object.fromEntries([...this.skippedBy].sort(([a], [b]) => a.localeCompare(b))),
      imagesWritten: this.imagesWritten,
    };
  }

  async abort(): Promise<void> {
    for (const w of this.writers.values()) await w.abort();
  }
}

/** `<file>.tmp-<pid>` files of runs that were killed: their process is gone, so nobody will finish them. */
export function removeStaleTemporaries(dir: string): number {
  let removed = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      const m = /\.tmp-(\d+)$/.exec(e.name);
      if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) {
        rmSync(p, { force: true });
        removed++;
      }
    }
  };
  walk(dir);
  return removed;
}

export function requireDir(p: string, what: string): void {
  if (!existsSync(p)) throw new PrepareError(`${what} not found: ${p}`);
}

/** Join an image prefix and a file name with exactly one slash. */
export function joinImage(prefix: string, rel: string): string {
  if (!prefix) return rel;
  return `${prefix.replace(/\/+$/, "")}/${rel.replace(/^\/+/, "")}`;
}
