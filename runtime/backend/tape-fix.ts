// Backpropagation that frees memory as it goes, as PyTorch's autograd does. tfjs 4.22's
// engine.gradients keeps, until the whole backward pass ends, both the tensors each op saved for its
// gradient and the gradient of every intermediate tensor; on the benchmark step that is ~2 GiB beyond
// the activations. Walking the tape in reverse, an op's saved tensors are dead once its gradient has
// run, and the gradient of its outputs is complete (every consumer came later on the tape) and dead
// once passed on. This replaces engine.gradients for first-order gradients (the only kind the runtime
// takes) with the same walk, the same kernels in the same order (so bit-identical results) plus those
// two disposals; higher-order gradients keep tfjs's own.
import * as tf from "./tf.js";

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T>(name: string | (() => T), f?: () => T): T;
  gradients: (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean) => { value: tf.Tensor; grads: tf.Tensor[] };
  llavacTapeFix?: boolean;
  /** tfjs's own engine.gradients (tests compare against it). */
  llavacTfjsGradients?: EngineInternals["gradients"];
}

/** The nodes on a path from some x to y, each with only the inputs that come from an x. */
function pathNodes(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const reach: TapeNode[] = [];
  for (const node of tape) {
    if (!Object.values(node.inputs).some((t) => fromX.has(t.id))) continue;
    for (const o of node.outputs) fromX.add(o.id);
    reach.push(node);
  }
  const toY = new Set([y.id]);
  const kept: TapeNode[] = [];
  for (let i = reach.length - 1; i >= 0; i--) {
    const node = reach[i]!;
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [k, t] of Object.entries(node.inputs))
      if (fromX.has(t.id)) {
        inputs[k] = t;
        toY.add(t.id);
      }
    kept.push({ ...node, inputs });
  }
  return kept.reverse();
}

export function installTapeFix(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.llavacTapeFix) return;
  const original = engine.gradients.bind(engine);
  engine.llavacTapeFix = true;
  engine.llavacTfjsGradients = original;
  engine.gradients = (f, xs, dy, allowNoGradients = false) => {
    if (engine.state.gradientDepth !== 0) return original(f, xs, dy, allowNoGradients);
    if (xs.length === 0) throw new Error("gradients() received an empty list of xs.");
    if (dy != null && dy.dtype !== "float32") throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
    const y = engine.scopedRun(
      () => engine.startTape(),
      () => engine.endTape(),
      () => engine.tidy("forward", f),
    );
    if (!(y instanceof tf.Tensor)) throw new Error("The result y returned by f() must be a tensor.");
    const tape = engine.state.activeTape!;
    const nodes = pathNodes(tape, xs, y);
    if (!allowNoGradients && nodes.length === 0)
      throw new Error("Cannot compute gradient of y=f(x) with respect to x: f must enclose every operation from x to y.");
    const wanted = new Set(xs.map((x) => x.id));
    return engine.tidy("backward", () => {
      const grad = new Map<number, tf.Tensor>([[y.id, dy ?? tf.ones(y.shape)]]);
      for (let i = nodes.length - 1; i >= 0; i--) {
        const node = nodes[i]!;
        if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        const dys = node.outputs.map((o) => grad.get(o.id) ?? null);
        // The input gradients in one tidy: a custom gradient (tf.customGrad, which the runtime's fused
        // layers and tfjs's own fused matMul use) computes them all when node.gradient is called, so its
        // temporaries are freed here, not when the whole backward pass ends.
        const dxs = engine.tidy(() => {
          const fns = node.gradient!(dys);
          const out: Record<string, tf.Tensor> = {};
          for (const name of Object.keys(node.inputs)) {
            if (!(name in fns)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(fns)}.`);
            out[name] = fns[name]!();
          }
          return out as unknown as tf.TensorContainer;
        }) as unknown as Record<string, tf.Tensor>;
        for (const [name, x] of Object.entries(node.inputs)) {
          const dx = dxs[name]!;
          if (dx.dtype !== "float32")
            throw new Error(
              `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`,
            );
          if (!tf.util.arraysEqual(dx.shape, x.shape))
            throw new Error(
              `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
            );
          const prev = grad.get(x.id);
          if (prev === undefined) grad.set(x.id, dx);
          else {
            grad.set(x.id, tf.add(prev, dx));
            prev.dispose();
          }
        }
        // Done with this op: what it saved, and its outputs' gradients (unless one is asked for, or a
        // gradient function passed the same tensor object on as an input's gradient).
        for (const t of node.saved ?? []) t.dispose();
        for (const o of node.outputs) {
          const g = grad.get(o.id);
          // (dy, when the caller gave it, is the caller's to dispose.)
          if (g === undefined || wanted.has(o.id) || g === dy) continue;
          grad.delete(o.id);
          let shared = false;
          for (const v of grad.values())
            if (v === g) {
              shared = true;
              break;
            }
          if (!shared) g.dispose();
        }
      }
      const grads = xs.map((x) => grad.get(x.id)!);
      for (const node of tape) for (const t of node.saved ?? []) t.dispose();
      engine.state.activeTape = null;
      return { value: y, grads };
    });
  };
}
