// The native backend's matmuls through oneDNN's matmul primitive. tfjs-node runs every matMul as
// TensorFlow's `BatchMatMulV2`, which in eager mode is Eigen's tensor contraction: Eigen cuts the product
// into blocks (the LM head's [844, 512] · [512, 32,000] into four), packs each, and calls oneDNN's sgemm on
// the packed blocks (ONEDNN_VERBOSE shows only `gemm_api` calls for it). TensorFlow's graph rewrite would
// turn the op into `_MklBatchMatMulV2` (one oneDNN matmul primitive that reads the transposed operand in
// place), but its eager rewrite does not reach tfjs-node's ops; the op runs when asked for by name with
// the `_kernel` label its kernel is registered under. Measured per product at 1 thread (CPU time,
// BENCHMARKS.md): the LM head's forward 1.12 → 0.92 s, the attention's batched products with a transposed
// left operand (the keys' and values' gradients) 71 → 36 ms a layer; the batched product with only the
// right operand transposed (the attention scores) was slower through oneDNN (73 → 91 ms), so it stays.
// float32 only; where the op does not exist (a TensorFlow without oneDNN, a GPU device) the first call
// fails and every call goes back to tfjs-node's kernel. `LLAVAC_NATIVE_MATMUL=0` keeps tfjs-node's.
import * as tf from "./tf.js";

interface Binding {
  TF_ATTR_TYPE: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_STRING: number;
  TF_FLOAT: number;
}
interface NativeBackend {
  binding: Binding;
  executeSingleOutput(name: string, attrs: unknown[], inputs: tf.TensorInfo[]): tf.TensorInfo;
}

/** Whether `_MklBatchMatMulV2` ran (undefined until the first float32 matmul asks). */
let available: boolean | undefined;
/** Products run through oneDNN's primitive so far (for tests). */
let oneDnnProducts = 0;
export const oneDnnMatMuls = (): number => oneDnnProducts;

/** Which products go to oneDNN's primitive: all but the batched ones with only the right operand
 * transposed (slower there than Eigen's contraction, measured on the attention scores). */
export function useOneDnnMatMul(a: readonly number[], b: readonly number[], transposeA: boolean, transposeB: boolean): boolean {
  const batch = (s: readonly number[]) => s.slice(0, -2).reduce((n, d) => n * d, 1);
  return transposeA || !transposeB || Math.max(batch(a), batch(b)) === 1;
}

/** Replace tfjs-node's BatchMatMul kernel (once); a no-op where it is not registered or switched off. */
export function registerNativeMatMul(): void {
  const base = tf.getKernel(tf.BatchMatMul, "tensorflow");
  if (!base || process.env.LLAVAC_NATIVE_MATMUL === "0" || (base as { llavac?: boolean }).llavac) return;
  tf.unregisterKernel(tf.BatchMatMul, "tensorflow");
  const config: tf.KernelConfig & { llavac: true } = {
    kernelName: tf.BatchMatMul,
    backendName: "tensorflow",
    llavac: true,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      if (
        available === false ||
        a.dtype !== "float32" ||
        b.dtype !== "float32" ||
        !useOneDnnMatMul(a.shape, b.shape, transposeA, transposeB)
      )
        return base.kernelFunc(args);
      const backend = args.backend as unknown as NativeBackend;
      const B = backend.binding;
      const attrs = [
        { name: "T", type: B.TF_ATTR_TYPE, value: B.TF_FLOAT },
        { name: "adj_x", type: B.TF_ATTR_BOOL, value: transposeA },
        { name: "adj_y", type: B.TF_ATTR_BOOL, value: transposeB },
        // The label TensorFlow registers its oneDNN kernels under (mkl_op_registry's kMklNameChangeOpLabel).
        { name: "_kernel", type: B.TF_ATTR_STRING, value: "MklNameChangeOp" },
      ];
      try {
        const out = backend.executeSingleOutput("_MklBatchMatMulV2", attrs, [a, b]);
        available = true;
        oneDnnProducts++;
        return out;
      } catch (err) {
        if (available) throw err;
        available = false;
        return base.kernelFunc(args);
      }
    },
  };
  tf.registerKernel(config);
}
