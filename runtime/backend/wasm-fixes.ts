// Three faults of tfjs's wasm backend (4.22), fixed once for every model:
//  1. matMul with transposeA/transposeB runs 10–100× slower than transposing first and multiplying;
//     autodiff of matMul uses the flags, so every backward pass hit the slow path. The BatchMatMul and
//     _FusedMatMul kernels are wrapped to transpose explicitly.
//  2. UnsortedSegmentSum, which the gradient of gather (embedding lookups) needs, is not registered for
//     wasm, so training threw. It is registered here (a plain loop over the wasm heap).
//  3. OneHot with dtype float32 writes the integer bit pattern of its on-value (1 reads back as 1.4e-45),
//     which silently zeroed the cross-entropy gradient. It is replaced by a loop over the heap.
import { getKernel, registerKernel, unregisterKernel, util, type KernelConfig, type KernelFunc, type TensorInfo } from "./tf.js";

interface WasmBackendLike {
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object): boolean;
}

let patched = false;

function transposeLast2(x: TensorInfo, backend: unknown, transpose: KernelFunc): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return transpose({ inputs: { x }, backend: backend as never, attrs: { perm } }) as TensorInfo;
}

function wrapMatMul(name: "BatchMatMul" | "_FusedMatMul"): void {
  const original = getKernel(name, "wasm");
  const transpose = getKernel("Transpose", "wasm")?.kernelFunc;
  if (!original || !transpose) return;
  const kernelFunc: KernelFunc = (args) => {
    const { inputs, backend, attrs } = args as { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> };
    if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
    const temps: TensorInfo[] = [];
    const a = attrs.transposeA ? (temps.push(transposeLast2(inputs.a!, backend, transpose)), temps[temps.length - 1]!) : inputs.a!;
    const b = attrs.transposeB ? (temps.push(transposeLast2(inputs.b!, backend, transpose)), temps[temps.length - 1]!) : inputs.b!;
    const out = original.kernelFunc({ ...args, inputs: { ...inputs, a, b }, attrs: { ...attrs, transposeA: false, transposeB: false } });
    for (const t of temps) backend.disposeData(t.dataId);
    return out;
  };
  unregisterKernel(name, "wasm");
  registerKernel({ ...original, kernelFunc } as KernelConfig);
}

function registerUnsortedSegmentSum(): void {
  if (getKernel("UnsortedSegmentSum", "wasm")) return;
  registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as { inputs: { x: TensorInfo; segmentIds: TensorInfo }; backend: WasmBackendLike; attrs: { numSegments: number } };
      const { x, segmentIds } = inputs;
      const inner = util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
      const outShape = [attrs.numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const out = backend.makeOutput(outShape, x.dtype);
      const dst = backend.typedArrayFromHeap(out);
      dst.fill(0);
      const src = backend.typedArrayFromHeap(x);
      const ids = backend.typedArrayFromHeap(segmentIds);
      for (let i = 0; i < ids.length; i++) {
        const s = ids[i]!;
        if (s < 0 || s >= attrs.numSegments) continue;
        const from = i * inner, to = s * inner;
        for (let j = 0; j < inner; j++) dst[to + j]! += src[from + j]!;
      }
      return out;
    },
  });
}

function replaceOneHot(): void {
  if (!getKernel("OneHot", "wasm")) return;
  unregisterKernel("OneHot", "wasm");
  registerKernel({
    kernelName: "OneHot",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as { inputs: { indices: TensorInfo }; backend: WasmBackendLike; attrs: { depth: number; onValue: number; offValue: number; dtype: string } };
      const { indices } = inputs;
      const out = backend.makeOutput([...indices.shape, attrs.depth], attrs.dtype);
      const dst = backend.typedArrayFromHeap(out);
      dst.fill(attrs.offValue);
      const ids = backend.typedArrayFromHeap(indices);
      for (let i = 0; i < ids.length; i++) {
        const k = ids[i]!;
        if (k >= 0 && k < attrs.depth) dst[i * attrs.depth + k] = attrs.onValue;
      }
      return out;
    },
  });
}

/** Patch the wasm backend's kernels; call after the backend is registered, before use. Idempotent. */
export function patchWasmBackend(): void {
  if (patched) return;
  patched = true;
  wrapMatMul("BatchMatMul");
  wrapMatMul("_FusedMatMul");
  registerUnsortedSegmentSum();
  replaceOneHot();
}
