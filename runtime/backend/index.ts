// Backend selection: the fastest backend that loads, in the order tfjs-node-gpu → tfjs-node → wasm → cpu,
// or the one asked for. The node backends are optional dependencies (they download libtensorflow at
// install time, which fails without a network); a failed import simply moves on to the next.
import * as tf from "./tf.js";
import { registerNativeIdentities } from "./native-identity.js";
import { registerNativeMatMul } from "./native-matmul.js";
import { registerNativeKernels } from "./native-ops.js";
import { installTapeFix } from "./tape-fix.js";
import { patchWasmBackend } from "./wasm-fixes.js";

export const BACKENDS = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  error?: string;
}

export interface BackendChoice {
  backend: BackendName;
  /** The tfjs backend name now active ("tensorflow", "wasm", "cpu"). */
  tfjs: string;
  attempts: BackendAttempt[];
}

/** How each backend is loaded and activated; replaceable in tests. */
export type BackendLoaders = Record<BackendName, () => Promise<string>>;

/**
 * Load a tfjs-node package and put llavac's kernels over its own: the fused ones (native-ops), the no-op
 * casts and reshapes that share their input's buffer (native-identity), and on the CPU package the matmuls
 * through oneDNN's primitive (native-matmul: a CPU kernel, so not for the GPU package's devices).
 */
async function loadNative(pkg: string, opts: { oneDnnMatMul: boolean }): Promise<string> {
  nativeThreadDefaults();
  await import(pkg);
  registerNativeKernels();
  registerNativeIdentities();
  if (opts.oneDnnMatMul) registerNativeMatMul();
  return "tensorflow";
}

export const defaultLoaders: BackendLoaders = {
  "tensorflow-gpu": () => loadNative("@tensorflow/tfjs-node-gpu", { oneDnnMatMul: false }),
  tensorflow: () => loadNative("@tensorflow/tfjs-node", { oneDnnMatMul: true }),
  wasm: async () => {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    // Node runs the single-threaded SIMD build (no cross-origin isolation for threads).
    wasm.setThreadsCount?.(1);
    patchWasmBackend();
    return "wasm";
  },
  cpu: async () => {
    await import("@tensorflow/tfjs-backend-cpu");
    return "cpu";
  },
};

/**
 * TensorFlow reads its thread pools' sizes from the environment when tfjs-node creates its eager
 * context, at import. Intra-op (the pool each kernel shards over) stays TensorFlow's default, every
 * core. Inter-op defaults to one thread: tfjs-node runs its kernels synchronously, one at a time, so
 * TensorFlow's inter-op pool (as many threads as cores) only idles: the step's matmuls took the same
 * CPU time with 1, 2 and the default (BENCHMARKS.md), and the benchmark has always run with 1. oneDNN
 * stays on (TensorFlow's default; off, the LM head's product took ~40% more CPU). A value the user set
 * is kept.
 */
function nativeThreadDefaults(): void {
  process.env.TF_NUM_INTEROP_THREADS ??= "1";
}

export class BackendError extends Error {}

/**
 * Activate `prefer` (failing if it cannot load), or the first backend of the chain that loads.
 * `LLAVAC_BACKEND` in the environment stands for `prefer`.
 */
export async function selectBackend(prefer?: string, loaders: BackendLoaders = defaultLoaders): Promise<BackendChoice> {
  const wanted = prefer ?? process.env.LLAVAC_BACKEND;
  if (wanted !== undefined && !(BACKENDS as readonly string[]).includes(wanted)) {
    throw new BackendError(`unknown backend "${wanted}" (one of ${BACKENDS.join(", ")})`);
  }
  // PROD silences tfjs's console advice ("install our node backend"): the choice is reported instead.
  tf.env().set("PROD", true);
  // On every backend: backpropagation frees saved tensors and gradients as it goes.
  installTapeFix();
  const chain = wanted ? [wanted as BackendName] : [...BACKENDS];
  const attempts: BackendAttempt[] = [];
  for (const backend of chain) {
    try {
      const name = await loaders[backend]();
      if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise the ${name} backend`);
      await tf.ready();
      attempts.push({ backend, ok: true });
      return { backend, tfjs: tf.getBackend(), attempts };
    } catch (err) {
      attempts.push({ backend, ok: false, error: (err as Error).message.split("\n")[0]! });
    }
  }
  const detail = attempts.map((a) => `${a.backend}: ${a.error}`).join("; ");
  throw new BackendError(wanted ? `backend ${wanted} is not available (${detail})` : `no tfjs backend could be loaded (${detail})`);
}
