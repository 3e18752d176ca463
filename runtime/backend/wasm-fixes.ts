// Four faults of tfjs's wasm backend (4.22), fixed once for every model:
//  1. matMul with transposeA/transposeB runs 10–100× slower than transposing first and multiplying;
//     autodiff of matMul uses the flags, so every backward pass hit the slow path. The BatchMatMul and
//     _FusedMatMul kernels are wrapped to transpose explicitly.
//  1a. The explicit transposes then dominate: wasm's Transpose moves ~60M floats/s; a plain JS loop over
//     the heap moves ~400M/s. Swapping the last two axes (all matmul needs) is done in JS.
//  1b. A BatchMatMul with more than one batch (attention: batch × heads) skips XNNPACK for a plain loop
//     at ~2 GFLOP/s; one XNNPACK matmul per batch slice runs at ~30. The wrapper splits the batch.
//  2. UnsortedSegmentSum, which the gradient of gather (embedding lookups) needs, is not registered for
//     wasm, so training threw. It is registered here (a plain loop over the wasm heap).
//  3. OneHot with dtype float32 writes the integer bit pattern of its on-value (1 reads back as 1.4e-45),
//     which silently zeroed the cross-entropy gradient. It is replaced by a loop over the heap.
import { getKernel, registerKernel, unregisterKernel, util, type KernelConfig, type KernelFunc, type TensorInfo } from "./tf.js";

interface WasmBackendLike {
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object): boolean;
}

let patched = false;

/** Swaps of the last two axes ([..., r, c] → [..., c, r]) run in JS; other permutations keep wasm's kernel. */
function wrapTranspose(): void {
  const original = getKernel("Transpose", "wasm");
  if (!original) return;
  unregisterKernel("Transpose", "wasm");
  registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as { inputs: { x: TensorInfo }; backend: WasmBackendLike; attrs: { perm: number[] } };
      const { x } = inputs;
      const rank = x.shape.length,
        perm = attrs.perm;
      const lastTwo = rank >= 2 && perm.every((p, i) => (i < rank - 2 ? p === i : p === (i === rank - 2 ? rank - 1 : rank - 2)));
      if (!lastTwo || x.dtype !== "float32") return original.kernelFunc(args);
      const R = x.shape[rank - 2]!,
        C = x.shape[rank - 1]!;
      const out = backend.makeOutput([...x.shape.slice(0, -2), C, R], "float32");
      const src = backend.typedArrayFromHeap(x) as Float32Array;
      const dst = backend.typedArrayFromHeap(out) as Float32Array;
      const batch = util.sizeFromShape(x.shape.slice(0, -2));
      for (let b = 0, o = 0; b < batch; b++, o += R * C) {
        for (let r = 0; r < R; r++) {
          const row = o + r * C;
          for (let c = 0; c < C; c++) dst[o + c * R + r] = src[row + c]!;
        }
      }
      return out;
    },
  } as KernelConfig);
}

function transposeLast2(x: TensorInfo, backend: unknown, transpose: KernelFunc): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return transpose({ inputs: { x }, backend: backend as never, attrs: { perm } }) as TensorInfo;
}

const batchOf = (t: TensorInfo) => util.sizeFromShape(t.shape.slice(0, -2));

/**
 * a [..., m, k] · b [..., k, n] as one 2-D matmul per batch slice (slices copied out of and back into
 * the wasm heap), when both sides have the same batch or one side has a batch of one.
 */
function sliceBatches(
  a: TensorInfo,
  b: TensorInfo,
  backend: WasmBackendLike,
  matmul: KernelFunc,
  attrs: Record<string, unknown>,
): TensorInfo | undefined {
  const batchA = batchOf(a),
    batchB = batchOf(b);
  const batch = Math.max(batchA, batchB);
  if (
    batch <= 1 ||
    (batchA !== batch && batchA !== 1) ||
    (batchB !== batch && batchB !== 1) ||
    a.dtype !== "float32" ||
    b.dtype !== "float32"
  )
    return undefined;
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const outShape = [...(batchA === batch ? a.shape : b.shape).slice(0, -2), m, n];
  const out = backend.makeOutput(outShape, "float32");
  for (let i = 0; i < batch; i++) {
    const ai = backend.makeOutput([1, m, k], "float32");
    const bi = backend.makeOutput([1, k, n], "float32");
    // Views are taken after each allocation: growing the heap detaches earlier ones.
    (backend.typedArrayFromHeap(ai) as Float32Array).set(
      (backend.typedArrayFromHeap(a) as Float32Array).subarray((batchA === 1 ? 0 : i) * m * k, ((batchA === 1 ? 0 : i) + 1) * m * k),
    );
    (backend.typedArrayFromHeap(bi) as Float32Array).set(
      (backend.typedArrayFromHeap(b) as Float32Array).subarray((batchB === 1 ? 0 : i) * k * n, ((batchB === 1 ? 0 : i) + 1) * k * n),
    );
    const oi = matmul({
      inputs: { a: ai, b: bi },
      backend: backend as never,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    }) as TensorInfo;
    (backend.typedArrayFromHeap(out) as Float32Array).set(backend.typedArrayFromHeap(oi) as Float32Array, i * m * n);
    for (const t of [ai, bi, oi]) backend.disposeData(t.dataId);
  }
  return out;
}

function wrapMatMul(name: "BatchMatMul" | "_FusedMatMul"): void {
  const original = getKernel(name, "wasm");
  const transpose = getKernel("Transpose", "wasm")?.kernelFunc;
  if (!original || !transpose) return;
  const kernelFunc: KernelFunc = (args) => {
    const { inputs, backend, attrs } = args as {
      inputs: Record<string, TensorInfo>;
      backend: WasmBackendLike;
      attrs: Record<string, unknown>;
    };
    const plain = name === "BatchMatMul";
    if (!attrs.transposeA && !attrs.transposeB && !(plain && Math.max(batchOf(inputs.a!), batchOf(inputs.b!)) > 1))
      return original.kernelFunc(args);
    const temps: TensorInfo[] = [];
    const a = attrs.transposeA ? (temps.push(transposeLast2(inputs.a!, backend, transpose)), temps[temps.length - 1]!) : inputs.a!;
    const b = attrs.transposeB ? (temps.push(transposeLast2(inputs.b!, backend, transpose)), temps[temps.length - 1]!) : inputs.b!;
    const flat = { ...attrs, transposeA: false, transposeB: false };
    const out =
      (plain ? sliceBatches(a, b, backend, original.kernelFunc, flat) : undefined) ??
      original.kernelFunc({ ...args, inputs: { ...inputs, a, b }, attrs: flat });
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
      const { inputs, backend, attrs } = args as {
        inputs: { x: TensorInfo; segmentIds: TensorInfo };
        backend: WasmBackendLike;
        attrs: { numSegments: number };
      };
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
        const from = i * inner,
          to = s * inner;
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
      const { inputs, backend, attrs } = args as {
        inputs: { indices: TensorInfo };
        backend: WasmBackendLike;
        attrs: { depth: number; onValue: number; offValue: number; dtype: string };
      };
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
  wrapTranspose();
  wrapMatMul("BatchMatMul");
  wrapMatMul("_FusedMatMul");
  registerUnsortedSegmentSum();
  replaceOneHot();
}
