// One job per output folder: a second one is refused with the holder named; a dead holder's lock is taken over.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LOCK_FILE, LockHeld, lockFolder } from "../runtime/util/lock.js";
import { tempDir } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

describe("output folder lock", () => {
  it("a second lock on a held folder says who holds it; release frees it", () => {
    const dir = tempDir("llavac-lock-");
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 20000)"]);
    writeFileSync(
      path.join(dir, LOCK_FILE),
      JSON.stringify({ pid: child.pid, host: hostname(), command: "llavac data hdf5", started: "earlier" }),
    );
    try {
      expect(() => lockFolder(dir, "test")).toThrow(LockHeld);
      expect(() => lockFolder(dir, "test")).toThrow(new RegExp(`in use by process ${child.pid} \\(llavac data hdf5`));
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a stale lock (its process is gone) is taken over, and removed on release", () => {
    const dir = tempDir("llavac-lock-");
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    writeFileSync(
      path.join(dir, LOCK_FILE),
      JSON.stringify({ pid: dead, host: hostname(), command: "llavac data hdf5", started: "earlier" }),
    );
    const lock = lockFolder(dir, "test");
    expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });

  it("`llavac data prepare` into a folder another live process holds: exit 2 naming the process, nothing written", () => {
    const dir = tempDir("llavac-lock-");
    const out = path.join(dir, "out");
    mkdirSync(out);
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 20000)"]);
    writeFileSync(
      path.join(out, LOCK_FILE),
      JSON.stringify({ pid: child.pid, host: hostname(), command: "llavac data prepare json2jsonl", started: "earlier" }),
    );
    try {
      const r = spawnSync(
        process.execPath,
        [
          path.join(ROOT, "bin/llavac.js"),
          "data",
          "prepare",
          "json2jsonl",
          "--input",
          path.join(ROOT, "examples/data-fixtures/root/llava/llava_v1_5_mix_sample.json"),
          "--out",
          out,
        ],
        { encoding: "utf8" },
      );
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`in use by process ${child.pid}`);
      expect(existsSync(path.join(out, "llava_v1_5_mix_sample.jsonl"))).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
