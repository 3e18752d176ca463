// TensorFlow kernels that tfjs has no op for, run on the native `tensorflow` backend only (every other
// backend keeps the runtime's composition of tfjs ops). TensorFlow's SparseSoftmaxCrossEntropyWithLogits
// computes the per-row loss and its gradient in the logits (softmax − one-hot) in one pass over the
// [N, vocab] block, where the tfjs composition takes ten kernels (max, subtract, exp, sum, divide,
// gather, log, and for the gradient one-hot, subtract, multiply): on the tiny example that block is
// most of a step's time.
import * as tf from "./tf.js";

/** The kernel's name in tfjs's registry. */
export const SPARSE_SOFTMAX_CE = "LlavacSparseSoftmaxCrossEntropy";

interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number; TF_INT32: number };
  executeMultipleOutputs(name: string, attrs: unknown[], inputs: tf.TensorInfo[], outputs: number): tf.TensorInfo[];
}

/** Register the native kernels (once); a no-op where tfjs-node's backend is not registered. */
export function registerNativeKernels(): void {
  if (tf.getKernel(SPARSE_SOFTMAX_CE, "tensorflow")) return;
  tf.registerKernel({
    kernelName: SPARSE_SOFTMAX_CE,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as NativeBackend;
      const type = (value: number, name: string) => ({ name, type: b.binding.TF_ATTR_TYPE, value });
      return b.executeMultipleOutputs(
        "SparseSoftmaxCrossEntropyWithLogits",
        [type(b.binding.TF_FLOAT, "T"), type(b.binding.TF_INT32, "Tlabels")],
        [inputs.logits!, inputs.labels!],
        2,
      );
    },
  });
}

/**
 * Per-row cross-entropy of logits [N, V] against int32 targets [N] and its gradient in the logits
 * (softmax − one-hot), from TensorFlow's fused kernel; undefined on a backend without it.
 */
export function nativeSparseSoftmaxCE(logits: tf.Tensor, targets: tf.Tensor): { loss: tf.Tensor; backprop: tf.Tensor } | undefined {
  if (tf.getBackend() !== "tensorflow" || !tf.getKernel(SPARSE_SOFTMAX_CE, "tensorflow")) return undefined;
  const [loss, backprop] = tf.engine().runKernel(SPARSE_SOFTMAX_CE, { logits, labels: targets }, {}) as tf.Tensor[];
  return { loss: loss!, backprop: backprop! };
}
