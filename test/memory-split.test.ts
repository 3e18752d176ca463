// A split held in memory (runtime/train/memory.ts) answers reads as its loader did, and is not held
// when it does not fit the budget.
import { describe, expect, it } from "vitest";
import type { RawSamples } from "../runtime/data/loader-core.js";
import type { SampleLoader } from "../runtime/data/loader.js";
import { ROWS } from "../runtime/data/samples.js";
import { MemorySplit } from "../runtime/train/memory.js";
import { TrainingError, toBatch } from "../runtime/train/run.js";

const msl = 3,
  shape: [number, number, number] = [1, 2, 2];
/** n samples whose rows and pixels are their index; sample 2's image failed. */
function fake(n: number): SampleLoader & { closed: boolean } {
  return {
    info: { samples: n, msl, files: ["x.h5"] },
    closed: false,
    read(indices: number[]): Promise<RawSamples> {
      return Promise.resolve({
        indices,
        msl,
        rows: Int32Array.from(indices.flatMap((g) => Array(ROWS * msl).fill(g))),
        images: Float32Array.from(indices.flatMap((g) => Array(4).fill(g))),
        failures: indices.includes(2) ? [{ sample: 2, file: "x.h5", row: 2, image: "2.png", error: "bad" }] : [],
      });
    },
    async close() {
      this.closed = true;
    },
  };
}

describe("a split held in memory", () => {
  it("reads each sample's rows, image and failure as the loader gave them, in any order; out of range is refused", async () => {
    const loader = fake(5);
    const split = (await MemorySplit.read(loader, { imageShape: shape, micro: 2 }))!;
    expect(loader.closed).toBe(true);
    const r = await split.read([4, 2, 0]);
    expect(Array.from(r.rows)).toEqual([4, 2, 0].flatMap((g) => Array(ROWS * msl).fill(g)));
    expect(Array.from(r.images)).toEqual([4, 2, 0].flatMap((g) => Array(4).fill(g)));
    expect(r.failures.map((f) => f.sample)).toEqual([2]);
    expect((await split.read([1])).failures).toEqual([]);
    await expect(split.read([5])).rejects.toThrow(/sample 5 is out of range/);
    expect(split.features([0])).toBeUndefined();
  });

  it("is not held when it does not fit the budget (the loader stays open)", async () => {
    const loader = fake(5);
    const bytes = 5 * 4 * (ROWS * msl + 4);
    expect(await MemorySplit.read(loader, { imageShape: shape, micro: 2, budget: bytes - 1 })).toBeUndefined();
    expect(loader.closed).toBe(false);
    expect(await MemorySplit.read(loader, { imageShape: shape, micro: 2, budget: bytes })).toBeDefined();
  });
});

describe("a micro-batch refuses token ids outside the model's vocabulary (runtime/train/run.ts toBatch)", () => {
  it("names the sample, the row and the id, instead of failing inside the embedding's gather", async () => {
    const raw = await fake(5).read([1, 4]);
    expect(toBatch(raw, shape, 1, 5).inputIds.every((id) => id === 1 || id === 4)).toBe(true);
    expect(() => toBatch(raw, shape, 1, 4)).toThrow(TrainingError);
    expect(() => toBatch(raw, shape, 1, 4)).toThrow(
      /sample 4 has the token id 4 in its text_input_ids at position 0, outside the model's vocabulary of 4/,
    );
    const negative = { ...raw, rows: raw.rows.map((x) => (x === 1 ? -1 : x)) };
    expect(() => toBatch(negative, shape, 1, 5)).toThrow(/sample 1 has the token id -1/);
  });
});
