// Backend selection and the wasm kernel fixes.
import { describe, expect, it } from "vitest";
import * as tf from "../runtime/backend/tf.js";
import { BackendError, defaultLoaders, selectBackend, type BackendLoaders } from "../runtime/backend/index.js";

const missing = (pkg: string) => async (): Promise<string> => { throw new Error(`Cannot find package '${pkg}'`); };

describe("backend selection", () => {
  it("falls back along tensorflow-gpu → tensorflow → wasm when the node backends are missing", async () => {
    const loaders: BackendLoaders = { ...defaultLoaders, "tensorflow-gpu": missing("@tensorflow/tfjs-node-gpu"), tensorflow: missing("@tensorflow/tfjs-node") };
    const c = await selectBackend(undefined, loaders);
    expect(c.backend).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(c.attempts.map((a) => [a.backend, a.ok])).toEqual([["tensorflow-gpu", false], ["tensorflow", false], ["wasm", true]]);
    expect(c.attempts[0]!.error).toContain("tfjs-node-gpu");
  });

  it("falls back to cpu when wasm fails too", async () => {
    const loaders: BackendLoaders = { ...defaultLoaders, "tensorflow-gpu": missing("a"), tensorflow: missing("b"), wasm: missing("c") };
    const c = await selectBackend(undefined, loaders);
    expect(c.backend).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });

  it("with the real packages of this machine: the node backends do not install here, so the chain ends on wasm", async () => {
    const c = await selectBackend(undefined);
    // Where tfjs-node(-gpu) did install, the first that loads wins; here they are absent.
    const first = c.attempts.find((a) => a.ok)!;
    expect(c.backend).toBe(first.backend);
    if (c.attempts[0]!.ok === false) expect(c.attempts.slice(0, 2).every((a) => !a.ok)).toBe(true);
    expect(["tensorflow-gpu", "tensorflow", "wasm"]).toContain(c.backend);
  });

  it("--backend forces one backend, and fails clearly when it cannot load", async () => {
    expect((await selectBackend("cpu")).backend).toBe("cpu");
    await expect(selectBackend("tensorflow", { ...defaultLoaders, tensorflow: missing("@tensorflow/tfjs-node") })).rejects.toThrow(/backend tensorflow is not available.*tfjs-node/);
    await expect(selectBackend("tpu")).rejects.toThrow(BackendError);
    await expect(selectBackend("tpu")).rejects.toThrow(/unknown backend "tpu"/);
  });

  it("LLAVAC_BACKEND chooses when no backend is given", async () => {
    process.env.LLAVAC_BACKEND = "cpu";
    try {
      expect((await selectBackend()).backend).toBe("cpu");
    } finally {
      delete process.env.LLAVAC_BACKEND;
    }
  });
});

/** Run `fn` on a backend and read its result. */
async function on(backend: string, fn: () => tf.Tensor): Promise<Float32Array | Int32Array> {
  await selectBackend(backend);
  return tf.tidy(() => fn().dataSync() as Float32Array);
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > tol * (1 + Math.abs(b[i]!))) return false;
  return true;
}

describe("wasm kernel fixes agree with the cpu backend", () => {
  const a = () => tf.tensor3d(Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 3]);
  const b = () => tf.tensor3d(Array.from({ length: 2 * 5 * 4 }, (_, i) => Math.cos(i)), [2, 5, 4]);

  it("matMul with transposeA and transposeB (the autodiff path)", async () => {
    for (const [ta, tb] of [[true, false], [false, true], [true, true]] as const) {
      const f = () => {
        const x = ta ? a() : a().transpose([0, 2, 1]);
        const y = tb ? b().transpose([0, 2, 1]) : b();
        return tf.matMul(x, y, ta, tb);
      };
      expect(close(await on("wasm", f), await on("cpu", f))).toBe(true);
    }
    const fused = () => tf.fused.matMul({ a: a().reshape([10, 3]), b: tf.ones([4, 3]), transposeB: true, bias: tf.tensor1d([1, 2, 3, 4]) });
    expect(close(await on("wasm", fused), await on("cpu", fused))).toBe(true);
  });

  it("the gradient of gather (UnsortedSegmentSum), with repeated and out-of-order indices", async () => {
    const f = () => tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d([3, 0, 3, 1], "int32")).mul(tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]])).sum())(tf.zeros([5, 2]));
    const w = await on("wasm", f);
    expect(Array.from(w)).toEqual([3, 4, 7, 8, 0, 0, 6, 8, 0, 0]);
    expect(Array.from(await on("cpu", f))).toEqual(Array.from(w));
  });

  it("oneHot as float32 (wasm wrote integer bit patterns)", async () => {
    const f = () => tf.oneHot(tf.tensor1d([1, 3, 0], "int32"), 4, 1, 0, "float32");
    expect(Array.from(await on("wasm", f))).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
    const g = () => tf.oneHot(tf.tensor1d([2], "int32"), 3, 0.5, -1, "float32");
    expect(Array.from(await on("wasm", g))).toEqual([-1, -1, 0.5]);
  });
});
