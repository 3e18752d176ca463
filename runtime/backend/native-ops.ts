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

// AdamW's update and the gradients' global norm as TensorFlow's own kernels. `ResourceApplyAdam`
// updates m, v and the parameter in one pass (HF's AdamW with `correct_bias`: the same formula, the
// bias corrections folded into its step size; without them both powers are 0), where the tfjs
// composition takes twelve element-wise kernels, each a pass over the tensor. It works on TensorFlow
// resource variables, which tfjs does not have: each of p, m and v gets one handle (`VarHandleOp`), and
// each update points the handles at the tfjs variables' current buffers (`AssignVariableOp` shares,
// it does not copy), updates and hands the buffers back (`ReadVariableOp` shares too). TensorFlow copies
// a buffer that another handle still shares before writing it, so the tfjs tensors are never written
// behind tfjs's back; but the variables' own handles are such sharers, and those copies (three of every
// parameter, each a fresh allocation) took three quarters of the update's time. So where a variable's
// buffer is tfjs's for that variable alone, its handle is let go for the update (the resource variable is
// then the buffer's one owner and the update runs in place) and replaced by the read-back one after it.
// A buffer that other tfjs tensors share keeps the copy. The handles keep pointing at the buffers between
// updates (so a step does not re-point 3 handles a parameter), and are pointed again only when something
// assigned a variable since (a checkpoint's restore). The tfjs variables stay the state's one home
// (checkpoints read and restore them), the handles only borrow it for the update.
interface Binding {
  TF_ATTR_TYPE: number;
  TF_ATTR_STRING: number;
  TF_ATTR_SHAPE: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_INT: number;
  TF_FLOAT: number;
}
interface NativeExec {
  binding: Binding & { deleteTensor?(id: number): void };
  executeSingleOutput(name: string, attrs: unknown[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: unknown[], inputs: tf.Tensor[], outputs: number): tf.Tensor[];
  /** tfjs-node's record of each tfjs buffer: its TensorFlow handle (`id`, −1 for none) and how many tfjs tensors share it. */
  tensorMap?: { get(dataId: object): { id: number; refCount: number; values: unknown } | undefined };
}
type TensorRecord = NonNullable<ReturnType<NonNullable<NativeExec["tensorMap"]>["get"]>>;

/** The records of `xs` if each buffer is its tensor's alone and held by a TensorFlow handle; else undefined. */
function soleRecords(b: NativeExec, xs: tf.Tensor[]): TensorRecord[] | undefined {
  if (!b.tensorMap || !b.binding.deleteTensor) return undefined;
  const records = xs.map((x) => b.tensorMap!.get(x.dataId));
  return records.every((r) => r !== undefined && r.refCount === 1 && r.id >= 0 && r.values == null)
    ? (records as TensorRecord[])
    : undefined;
}

function nativeExec(): NativeExec | undefined {
  if (tf.getBackend() !== "tensorflow" || process.env.LLAVAC_NATIVE_OPTIMIZER === "0") return undefined;
  const b = tf.backend() as unknown as Partial<NativeExec>;
  return b.executeSingleOutput && b.executeMultipleOutputs && b.binding ? (b as NativeExec) : undefined;
}

let handles = 0;

/** One update's hyperparameters as the scalar tensors ResourceApplyAdam takes, shared by every parameter's
 * update of the step (made once a step, not once a parameter). */
export class AdamConstants {
  readonly scalars: tf.Scalar[];
  readonly decayScalar: tf.Scalar | undefined;
  constructor(readonly o: { powers: [number, number]; lr: number; betas: [number, number]; eps: number; decay: number }) {
    this.scalars = [o.powers[0], o.powers[1], o.lr, o.betas[0], o.betas[1], o.eps].map((x) => tf.keep(tf.scalar(x)));
    this.decayScalar = o.decay > 0 ? tf.keep(tf.scalar(o.decay)) : undefined;
  }
  dispose(): void {
    tf.dispose([...this.scalars, ...(this.decayScalar ? [this.decayScalar] : [])]);
  }
}

const dataIdOf = (x: tf.Tensor) => (x as unknown as { dataId: object }).dataId;

/** The three resource handles (parameter, m, v) of one parameter's update. */
export class NativeAdamSlot {
  /** Updates that ran in place (the buffers the variables' alone), for tests. */
  inPlace = 0;
  /** The buffers the handles point at, as the tfjs variables held them after the last update: while the
   * variables still hold these (nothing assigned them since), the handles need not be pointed again. */
  private bound: object[] | undefined;
  /** The moments m and v as the last in-place update left them: their buffers are the resource variables'
   * alone (the tfjs variables' records hold no TensorFlow handle) until `sync` reads them back. Reading them
   * back after every update took two ops a parameter that only a checkpoint (or a test) needed. */
  private lent: [tf.Variable, tf.Variable] | undefined;

  private constructor(
    private readonly b: NativeExec,
    private readonly h: [tf.Tensor, tf.Tensor, tf.Tensor],
  ) {}

  /** Handles for a float32 tensor of `shape`; undefined off the native backend. */
  static create(shape: number[]): NativeAdamSlot | undefined {
    const b = nativeExec();
    if (!b) return undefined;
    const B = b.binding;
    const handle = () =>
      b.executeSingleOutput(
        "VarHandleOp",
        [
          { name: "container", type: B.TF_ATTR_STRING, value: "" },
          { name: "shared_name", type: B.TF_ATTR_STRING, value: `llavac_adamw_${handles++}` },
          { name: "dtype", type: B.TF_ATTR_TYPE, value: B.TF_FLOAT },
          { name: "shape", type: B.TF_ATTR_SHAPE, value: shape },
        ],
        [],
      );
    // Kept: an update called inside someone's tidy must not lose the handles at its end.
    return new NativeAdamSlot(b, [tf.keep(handle()), tf.keep(handle()), tf.keep(handle())]);
  }

  /**
   * p, m, v ← one AdamW update with gradient g (already scaled): TensorFlow's ApplyAdam with step size
   * lr·√(1−β₂ᵗ)/(1−β₁ᵗ) (the powers given as 0 for no bias correction), then p ← p − decay·p.
   */
  update(p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, c: AdamConstants): void {
    const { b, h } = this;
    const B = b.binding;
    const dtype = { name: "dtype", type: B.TF_ATTR_TYPE, value: B.TF_FLOAT };
    const T = { name: "T", type: B.TF_ATTR_TYPE, value: B.TF_FLOAT };
    const off = (name: string) => ({ name, type: B.TF_ATTR_BOOL, value: false });
    const vars = [p, m, v];
    // Lent moments are still these variables' (nothing can have assigned them without a sync, see AdamW.m).
    if (this.lent && (this.lent[0] !== m || this.lent[1] !== v)) this.sync();
    const lent = this.lent !== undefined;
    tf.tidy(() => {
      // The handles still point at the variables' buffers from the last update unless something (a
      // checkpoint's restore) assigned the variables since.
      const bound = this.bound;
      vars.forEach((x, i) => {
        if (bound?.[i] !== dataIdOf(x)) b.executeMultipleOutputs("AssignVariableOp", [dtype, off("validate_shape")], [h[i]!, x], 0);
      });
      const read = (i: number) => b.executeSingleOutput("ReadVariableOp", [dtype], [h[i]!]);
      // In place where the buffers are the variables' alone: tfjs's handles let go, the resource variables own
      // them. Otherwise TensorFlow copies a shared buffer before writing it, so no tfjs tensor is written.
      // Lent moments are the resource variables' alone already.
      const sole = soleRecords(b, lent ? [p] : vars);
      if (sole) this.inPlace++;
      if (sole)
        for (const r of sole) {
          b.binding.deleteTensor!(r.id);
          r.id = -1;
        }
      try {
        b.executeMultipleOutputs("ResourceApplyAdam", [T, off("use_locking"), off("use_nesterov")], [h[0], h[1], h[2], ...c.scalars, g], 0);
        // Decoupled weight decay: p ← p − decay·p is gradient descent with p as its own gradient (the
        // read shares p's buffer, so TensorFlow copies it first).
        if (c.decayScalar)
          b.executeMultipleOutputs("ResourceApplyGradientDescent", [T, off("use_locking")], [h[0], c.decayScalar, read(0)], 0);
      } finally {
        // The variables take the updated buffers back: the read-back handles (taken from the tensors that
        // read them, which then dispose of nothing; the variables keep their dataIds), or as new tensors.
        // In place, only the parameter is read back (the next forward pass reads it); m and v stay lent.
        if (sole) {
          this.takeBack(sole[0]!, 0);
          this.lent = [m, v];
        } else {
          vars.forEach((x, i) => (lent && i > 0 ? undefined : x.assign(read(i))));
          if (!lent) this.lent = undefined;
        }
        this.bound = vars.map(dataIdOf);
      }
    });
  }

  /** The record `r` takes the buffer of handle i back (the read's tensor then disposes of nothing). */
  private takeBack(r: TensorRecord, i: number): void {
    const B = this.b.binding;
    const read = this.b.executeSingleOutput("ReadVariableOp", [{ name: "dtype", type: B.TF_ATTR_TYPE, value: B.TF_FLOAT }], [this.h[i]!]);
    const back = this.b.tensorMap!.get(read.dataId)!;
    r.id = back.id;
    back.id = -1;
    read.dispose();
  }

  /** Give lent moments their TensorFlow handles back (before anything reads or assigns them). */
  sync(): void {
    const lent = this.lent;
    if (!lent) return;
    this.lent = undefined;
    lent.forEach((x, k) => this.takeBack(this.b.tensorMap!.get(dataIdOf(x))!, k + 1));
  }

  dispose(): void {
    this.sync();
    const B = this.b.binding;
    for (const handle of this.h) {
      this.b.executeMultipleOutputs("DestroyResourceOp", [{ name: "ignore_lookup_error", type: B.TF_ATTR_BOOL, value: true }], [handle], 0);
      handle.dispose();
    }
  }
}

/** Σ‖g‖² over the tensors, as TensorFlow's L2Loss (Σx²/2, one pass and no squared copy) per tensor and
 * one AddN; undefined off the native backend. */
export function nativeSumSquares(xs: tf.Tensor[]): tf.Scalar | undefined {
  const b = nativeExec();
  if (!b || xs.length === 0) return undefined;
  const T = { name: "T", type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT };
  return tf.tidy(() => {
    const halves = xs.map((x) => b.executeSingleOutput("L2Loss", [T], [x]));
    const total =
      halves.length === 1
        ? halves[0]!
        : b.executeSingleOutput("AddN", [{ name: "N", type: b.binding.TF_ATTR_INT, value: halves.length }, T], halves);
    return total.mul(2) as tf.Scalar;
  });
}
