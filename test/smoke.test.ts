// `llavac run --smoke`: the demo spec's LLaVA-1.5-7B model, shrunk, on the first samples of real HDF5
// files made from the fixtures. A clean run reports no problems; a missing image is reported and fails.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./data-helpers.js";
import { ROOT, run } from "./helpers.js";

const llavac = (args: string[], cwd: string) =>
  run(process.execPath, [path.join(ROOT, "bin/llavac.js"), ...args], { cwd, env: { NO_COLOR: "1", CI: "1" } });

async function demo(): Promise<string> {
  const dir = tempDir("llavac-smoke-");
  mkdirSync(path.join(dir, "examples"));
  for (const d of ["data-demo", "data-fixtures"])
    cpSync(path.join(ROOT, "examples", d), path.join(dir, "examples", d), { recursive: true });
  const r = await llavac(
    [
      "data",
      "prepare",
      "json2jsonl",
      "--input",
      "examples/data-fixtures/root/llava/blip_laion_cc_sbu_sample.json",
      "--out",
      "out/jsonl/captions",
      "--image-prefix",
      "llava",
    ],
    dir,
  );
  expect(r.code, r.stderr).toBe(0);
  return dir;
}

describe("smoke runs", () => {
  it("shrink the 7B model, keep the data's geometry, and report loss, parameter counts, supervision and images", async () => {
    const dir = await demo();
    const r = await llavac(["run", "examples/data-demo/demo.llava", "--phase", "pretrain", "--smoke", "--steps", "4"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /smoke pretrain: 4 steps on the first 2 of 2 samples .*ViT 2×32, LLaMA 2×64; 576 image slots at 1, MSL 2048, vocabulary 32,000/,
    );
    expect(r.stdout).toMatch(/loss\s+[\d.]+ → [\d.]+/);
    // Phase 1 freezes both towers: only the shrunk projector trains.
    expect(r.stdout).toMatch(/parameters\s+6,272 trainable · [\d,]+ frozen in the runtime; the compiler counts 6,272 · [\d,]+ ✓/);
    expect(r.stdout).toMatch(/full size: 20,979,712 trainable/);
    expect(r.stdout).toMatch(/supervision\s+every sample read has supervised tokens ✓/);
    expect(r.stdout).toMatch(/images\s+all 2 loaded with the spec's transforms ✓/);
    expect(r.stdout).toContain("no problems found");
  }, 240_000);

  it("an image that fails to load is named, the run continues, and the verdict fails", async () => {
    const dir = await demo();
    // Make the HDF5 files first, then lose an image they point to.
    const h = await llavac(["data", "hdf5", "examples/data-demo/demo.llava", "--phase", "pretrain"], dir);
    expect(h.code, h.stderr).toBe(0);
    rmSync(path.join(dir, "examples/data-fixtures/root/llava/coco/train2017/000000000025.jpg"));
    const r = await llavac(["run", "examples/data-demo/demo.llava", "--phase", "pretrain", "--smoke", "--steps", "2"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/images\s+1 failed to load ✗/);
    expect(r.stdout).toMatch(/llava\/coco\/train2017\/000000000025\.jpg \(.*row \d\): /);
    expect(r.stdout).toMatch(/1 problem\(s\): 1 image\(s\) fail to load/);
  }, 240_000);
});
