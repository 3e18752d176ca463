// Run folders record the settings they were trained with; resuming with other settings stops with
// what changed and the two ways forward.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Derived } from "../compiler/derive.js";
import { runConfig } from "../compiler/run-config.js";
import { defaultRunDir } from "../compiler/cli/run.js";
import { fingerprintOf } from "../runtime/train/fingerprint.js";
import { checkFingerprint, TrainingError } from "../runtime/train/run.js";
import { tempDir } from "./data-helpers.js";
import { check, TINY } from "./helpers.js";

async function config(overrides: string[] = []) {
  const r = await check(TINY, { overrides });
  expect(r.errors).toEqual([]);
  const p = r.result.phases.find((x) => x.unit.ir.$name === "align")! as (typeof r.result.phases)[number] & { derived: Derived };
  return runConfig(r.result, p, "out");
}

/** A folder with a checkpoint in it, as a run leaves it. */
function withCheckpoint(dir: string): string {
  const ckpt = path.join(dir, "checkpoints");
  mkdirSync(ckpt, { recursive: true });
  writeFileSync(path.join(ckpt, "checkpoint_4.json"), "{}");
  writeFileSync(path.join(ckpt, "checkpoint_4.safetensors"), "");
  return ckpt;
}

describe("run folder fingerprints", () => {
  it("cover the training settings but not where the run writes or how often it logs and checkpoints", async () => {
    const base = fingerprintOf(await config());
    expect(
      base.settings["optimizer.learning_rate.0.initial_learning_rate"] ?? base.settings["optimizer.learning_rate.initial_learning_rate"],
    ).toBeDefined();
    expect(base.settings["batch.global"]).toBe("32");
    expect(Object.keys(base.settings).some((k) => k.startsWith("model.arch."))).toBe(true);
    expect(fingerprintOf(await config(["align.run.log_steps=7", "align.run.checkpoint_steps=3", "align.run.max_checkpoints=9"])).hash).toBe(
      base.hash,
    );
    for (const set of [
      "align.optimizer.weight_decay=0.1",
      "align.batch=16 per step",
      "align.freeze=[/^image_model/]",
      "align.run.seed=5",
      "align.schedule.warmup=20%",
    ]) {
      expect(fingerprintOf(await config([set])).hash, set).not.toBe(base.hash);
    }
  });

  it("resuming with other settings stops with each change (old → new) and the two ways forward; --fresh proceeds and records the new ones", async () => {
    const dir = tempDir("llavac-fp-");
    const ckpt = withCheckpoint(dir);
    const before = await config();
    checkFingerprint(before, dir, ckpt, false);
    expect(JSON.parse(readFileSync(path.join(dir, "fingerprint.json"), "utf8")).hash).toBe(fingerprintOf(before).hash);
    // The same settings resume.
    expect(() => checkFingerprint(before, dir, ckpt, false)).not.toThrow();

    const after = await config(["align.optimizer.weight_decay=0.1", "align.batch=16 per step"]);
    let message = "";
    try {
      checkFingerprint(after, dir, ckpt, false);
    } catch (err) {
      expect(err).toBeInstanceOf(TrainingError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/holds checkpoints of a run with other settings, so it is not resumed/);
    expect(message).toMatch(/\n {2}batch\.global\s+32 → 16\n/);
    expect(message).toMatch(/\n {2}optimizer\.weight_decay\s+0 → 0\.1\n/);
    expect(message).toContain("--fresh");
    expect(message).toContain("-o <new folder>");
    // Nothing was recorded by the refused run.
    expect(JSON.parse(readFileSync(path.join(dir, "fingerprint.json"), "utf8")).hash).toBe(fingerprintOf(before).hash);

    expect(() => checkFingerprint(after, dir, ckpt, true)).not.toThrow();
    expect(JSON.parse(readFileSync(path.join(dir, "fingerprint.json"), "utf8")).hash).toBe(fingerprintOf(after).hash);
  });

  it("a folder without checkpoints takes the new settings; one with checkpoints but no fingerprint is resumed and gets one", async () => {
    const empty = tempDir("llavac-fp-");
    checkFingerprint(await config(), empty, path.join(empty, "checkpoints"), false);
    const other = await config(["align.optimizer.weight_decay=0.1"]);
    expect(() => checkFingerprint(other, empty, path.join(empty, "checkpoints"), false)).not.toThrow();
    const old = tempDir("llavac-fp-");
    expect(() => checkFingerprint(other, old, withCheckpoint(old), false)).not.toThrow();
    expect(JSON.parse(readFileSync(path.join(old, "fingerprint.json"), "utf8")).hash).toBe(fingerprintOf(other).hash);
  });

  it("llavac run's default folder is per spec", () => {
    expect(defaultRunDir("examples/tiny-shapes/tiny.llava")).toBe(path.join("out", "tiny"));
    expect(defaultRunDir("/abs/path/demo.llava")).toBe(path.join("out", "demo"));
  });
});
