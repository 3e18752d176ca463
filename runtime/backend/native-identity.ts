// tfjs casts and reshapes tensors to what they already are, all through its gradients (every
// multiply's and square's gradient casts its saved input to float32; matMul reshapes its 3-D operands
// to 3-D). The cpu and wasm backends answer those with the input's own buffer; tfjs-node runs a
// TensorFlow op for each (and for a reshape, uploads its shape first), ~90 of the ~560 ops of the
// tiny example's forward and backward pass. Here they share the buffer too, as tfjs-node's own
// Identity kernel does; a real conversion still runs TensorFlow's op.
import * as tf from "./tf.js";

interface Counted {
  incRef(dataId: object): void;
}

const MARK = Symbol.for("llavac.identity");

/** Wrap the native backend's Cast and Reshape (once) so that a no-op one returns its input's buffer. */
export function registerNativeIdentities(): void {
  const same: Record<string, (x: tf.TensorInfo, attrs: Record<string, unknown>) => boolean> = {
    Cast: (x, a) => a.dtype === x.dtype,
    Reshape: (x, a) => {
      const shape = tf.util.inferFromImplicitShape(a.shape as number[], tf.util.sizeFromShape(x.shape));
      return shape.length === x.shape.length && shape.every((d, i) => d === x.shape[i]);
    },
  };
  for (const [name, isSame] of Object.entries(same)) {
    const kernel = tf.getKernel(name, "tensorflow");
    if (!kernel || (kernel.kernelFunc as { [MARK]?: true })[MARK]) continue;
    const inner = kernel.kernelFunc;
    const kernelFunc = Object.assign(
      (args: Parameters<tf.KernelFunc>[0]) => {
        const x = args.inputs.x as tf.TensorInfo;
        if (!isSame(x, args.attrs as Record<string, unknown>)) return inner(args);
        (args.backend as unknown as Counted).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      },
      { [MARK]: true as const },
    );
    tf.unregisterKernel(name, "tensorflow");
    tf.registerKernel({ ...kernel, kernelFunc: kernelFunc as tf.KernelFunc });
  }
}
