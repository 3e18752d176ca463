// Backend selection and the wasm kernel fixes.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import * as tf from "../runtime/backend/tf.js";
import { BackendError, defaultLoaders, selectBackend, type BackendLoaders } from "../runtime/backend/index.js";
import { installNative, InstallError } from "../runtime/backend/install.js";
import { tempDir } from "./data-helpers.js";
import { ROOT, run } from "./helpers.js";
import { DEFAULT_BACKEND, HAS_NATIVE, warnIfNoNative } from "./native.js";

const missing = (pkg: string) => async (): Promise<string> => {
  throw new Error(`Cannot find package '${pkg}'`);
};

describe("backend selection", () => {
  it("falls back along tensorflow-gpu → tensorflow → wasm when the node backends are missing", async () => {
    const loaders: BackendLoaders = {
      ...defaultLoaders,
      "tensorflow-gpu": missing("@tensorflow/tfjs-node-gpu"),
      tensorflow: missing("@tensorflow/tfjs-node"),
    };
    const c = await selectBackend(undefined, loaders);
    expect(c.backend).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(c.attempts.map((a) => [a.backend, a.ok])).toEqual([
      ["tensorflow-gpu", false],
      ["tensorflow", false],
      ["wasm", true],
    ]);
    expect(c.attempts[0]!.error).toContain("tfjs-node-gpu");
  });

  it("falls back to cpu when wasm fails too", async () => {
    const loaders: BackendLoaders = { ...defaultLoaders, "tensorflow-gpu": missing("a"), tensorflow: missing("b"), wasm: missing("c") };
    const c = await selectBackend(undefined, loaders);
    expect(c.backend).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });

  it("with the real packages of this machine, the first backend of the chain that loads wins (tensorflow where it is built)", async () => {
    const c = await selectBackend(undefined);
    const first = c.attempts.find((a) => a.ok)!;
    expect(c.backend).toBe(first.backend);
    expect(c.attempts.slice(0, -1).every((a) => !a.ok)).toBe(true);
    // No GPU package is built here; tfjs-node is where `llavac backend install` (or .ci/run) built it.
    expect(c.backend).toBe(DEFAULT_BACKEND);
  });

  it("--backend forces one backend, and fails clearly when it cannot load", async () => {
    expect((await selectBackend("cpu")).backend).toBe("cpu");
    await expect(selectBackend("tensorflow", { ...defaultLoaders, tensorflow: missing("@tensorflow/tfjs-node") })).rejects.toThrow(
      /backend tensorflow is not available.*tfjs-node/,
    );
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
  const a = () =>
    tf.tensor3d(
      Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i)),
      [2, 5, 3],
    );
  const b = () =>
    tf.tensor3d(
      Array.from({ length: 2 * 5 * 4 }, (_, i) => Math.cos(i)),
      [2, 5, 4],
    );

  it("matMul with transposeA and transposeB (the autodiff path)", async () => {
    for (const [ta, tb] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
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
    const f = () =>
      tf.grad((t: tf.Tensor) =>
        tf
          .gather(t, tf.tensor1d([3, 0, 3, 1], "int32"))
          .mul(
            tf.tensor2d([
              [1, 2],
              [3, 4],
              [5, 6],
              [7, 8],
            ]),
          )
          .sum(),
      )(tf.zeros([5, 2]));
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

warnIfNoNative("backend");

describe("llavac backend", () => {
  const llavac = (args: string[]) =>
    run(process.execPath, [path.join(ROOT, "bin/llavac.js"), ...args], { cwd: ROOT, env: { NO_COLOR: "1" } });

  it("lists every backend, which load and why the others do not, with versions and threads", async () => {
    const r = await llavac(["backend", "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      backends: { backend: string; ok: boolean; version?: string; threads?: string; error?: string; hint?: string }[];
      chosen: string;
    };
    expect(j.backends.map((b) => b.backend)).toEqual(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]);
    const by = Object.fromEntries(j.backends.map((b) => [b.backend, b]));
    expect(by.wasm).toMatchObject({ ok: true, version: "tfjs-backend-wasm 4.22.0" });
    expect(by.cpu!.ok).toBe(true);
    expect(by["tensorflow-gpu"]!.ok).toBe(false);
    expect(by["tensorflow-gpu"]!.hint).toMatch(/llavac backend install --gpu/);
    expect(j.chosen).toBe(DEFAULT_BACKEND);
    if (HAS_NATIVE) {
      expect(by.tensorflow!.ok).toBe(true);
      expect(by.tensorflow!.version).toMatch(/^tfjs-node 4\.22\.0, TensorFlow 2\.\d+/);
      expect(by.tensorflow!.threads).toMatch(/^\d+ intra-op/);
    } else {
      expect(by.tensorflow!.ok).toBe(false);
      expect(by.tensorflow!.error).toBeTruthy();
      expect(by.tensorflow!.hint).toBe("llavac backend install");
    }
    const human = await llavac(["backend"]);
    expect(human.stdout).toMatch(new RegExp(`✓ ${DEFAULT_BACKEND} .*← used by llavac run`));
  });

  it("backend install refuses bad input with a clear error, before building anything", async () => {
    const dir = tempDir("llavac-install-");
    const notFound = await llavac(["backend", "install", "--wheel", path.join(dir, "nope.whl")]);
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(/llavac: wheel not found: .*nope\.whl/);
    const both = await llavac(["backend", "install", "--wheel", "a.whl", "--pip", "tensorflow-cpu"]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/give --wheel or --pip, not both/);
  });

  it.skipIf(!HAS_NATIVE)("backend install refuses a file that is not a TensorFlow wheel, and leaves the built backend alone", async () => {
    const dir = tempDir("llavac-install-");
    const junk = path.join(dir, "junk.whl");
    writeFileSync(junk, "not a zip");
    expect(() => installNative({ wheel: junk })).toThrow(InstallError);
    expect(() => installNative({ wheel: junk })).toThrow(/not a readable wheel/);
    // A real zip without the libraries: the wasm package's own files zipped would do, but a wheel of
    // the wrong kind is what users meet, so build one with pip's own wheel layout.
    const AdmZip = createRequire(path.join(ROOT, "node_modules/@tensorflow/tfjs-node/package.json"))("adm-zip") as new () => {
      addFile(n: string, b: Buffer): void;
      writeZip(f: string): void;
    };
    const z = new AdmZip();
    z.addFile("numpy/__init__.py", Buffer.from(""));
    const other = path.join(dir, "numpy-2.0-cp311-cp311-linux_x86_64.whl");
    z.writeZip(other);
    expect(() => installNative({ wheel: other })).toThrow(/has no tensorflow\/libtensorflow_cc\.so\.2: not a TensorFlow 2\.x Linux wheel/);
    const again = spawnSync(
      process.execPath,
      ["-e", "require('@tensorflow/tfjs-node'); process.stdout.write(require('@tensorflow/tfjs-node').getBackend())"],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } },
    );
    expect(again.stdout).toBe("tensorflow");
  });
});
