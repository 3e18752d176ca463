// Writing a file atomically: into a temporary name beside it, then renamed over it, so a reader (or a
// run killed mid-write) sees the old file or the new one, never half of one.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { killPoint } from "./kill-point.js";

export function writeFileAtomic(file: string, data: string | Uint8Array, opts: { mode?: number } = {}): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data, opts.mode !== undefined ? { mode: opts.mode } : {});
    killPoint("atomic:written");
    renameSync(tmp, file);
    killPoint("atomic:renamed");
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** A write that failed (no space left, a read-only or missing folder, ...), naming the path. */
export class OutputWriteError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot write ${path}: ${(cause as Error)?.message ?? String(cause)}`);
  }
}
