// An exclusive lock on an output folder: one llavac job writes a folder at a time. A second job would
// "resume" the first one's work, delete its temporary files and crash it. The lock is a file created
// with O_EXCL holding the owner's process id; a lock whose process is gone (a killed job) is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { OutputWriteError } from "./atomic.js";

export const LOCK_FILE = ".llavac-lock";

export class LockHeld extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner,
  ) {
    super(`${dir} is in use by process ${owner.pid} (${owner.command}, started ${owner.started}); wait for it to finish, or stop it`);
  }
}

export interface LockOwner {
  pid: number;
  host: string;
  command: string;
  started: string;
}

/** Whether a process of this host is running (EPERM: it is, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LockOwner;
  } catch {
    return undefined;
  }
}

export interface Lock {
  release(): void;
}

/** Take the folder's lock or throw LockHeld. Released by `release()` or when the process exits. */
export function lockFolder(dir: string, command: string): Lock {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new OutputWriteError(dir, err);
  }
  const file = path.join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), command, started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, "wx");
      try {
        writeSync(fd, JSON.stringify(me) + "\n");
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 3) throw err;
      const owner = readOwner(file);
      // Another host's process id means nothing here: a shared folder's lock is only taken over when
      // it was this host's and that process is gone (or the file is unreadable, i.e. half-written).
      if (owner && owner.pid === process.pid) break;
      if (owner && (owner.host !== me.host || processAlive(owner.pid))) throw new LockHeld(dir, owner);
      // Stale: move it aside atomically (only one taker wins the rename), then try again.
      try {
        renameSync(file, `${file}.stale-${process.pid}`);
        rmSync(`${file}.stale-${process.pid}`, { force: true });
      } catch {
        /* another taker won */
      }
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off("exit", release);
    if (readOwner(file)?.pid === process.pid) rmSync(file, { force: true });
  };
  process.on("exit", release);
  return { release };
}
