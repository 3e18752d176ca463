// PIL's resampling (runtime/data/resample.ts, the reference) with WebAssembly SIMD: the same taps, the same
// fixed-point weights, the same integer sums and rounding, so the same pixels, several times faster than the
// scalar loop. Two kernels: `rows`, the horizontal pass over two image rows (12 bytes, four pixels' taps, at
// a time, against weights repeated per channel), writing the intermediate as rows; and `acc`, the vertical pass,
// 16 bytes of the intermediate rows at a time times each tap's weight. The image is never transposed or padded.
// The module (under a kilobyte) is assembled below from its instructions, so there is no binary or toolchain
// to keep.

import { op as core, get, I32, i32c, MAGIC, name, section, set, tee, uleb, V128, vec } from "../util/wasm-encode.js";
import { type ResampleJob, resamplePil, type Taps, taps } from "./resample.js";

const HALF = 1 << 21;

// --- a minimal WebAssembly assembler for the two functions ---------------------------------------------------
const simd = (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm];
const op = {
  ...core,
  mulI: core.mul,
  shrS32: core.shrS,
  load: [0x28, 2, 0],
  vload: (offset: number) => simd(0x00, 0, ...uleb(offset)),
  vstore: simd(0x0b, 0, 0),
  splat: simd(0x11),
  extLo8: simd(0x89), // i16x8.extend_low_i8x16_u
  extHi8: simd(0x8a),
  extLo16: simd(0xa9), // i32x4.extend_low_i16x8_u
  extHi16: simd(0xaa),
  mul: simd(0xb5), // i32x4.mul
  vadd: simd(0xae), // i32x4.add
  shrS: simd(0xac), // i32x4.shr_s
  narrow32: simd(0x85), // i16x8.narrow_i32x4_s
  narrow16u: simd(0x66), // i8x16.narrow_i16x8_u (saturating: the clamp to 0–255)
};

// acc(src, stride, len, weights, n, bias, dst): for each 16-byte block e of [0, len):
//   dst[e..e+16) = clamp8((bias[e mod 48 ..] + Σ_t weights[t] · src[t · stride + e ..]) >> 22)
// with `bias` 64 int32s repeating the per-channel rounding bias (the pattern of 3 channels repeats every 48).
const [SRC, STRIDE, LEN, W, N, BIAS, DST, E, P, WP, T, B, A0, A1, A2, A3, K, V, LO, HI] = Array.from({ length: 20 }, (_, i) => i);
const accumulate = (a: number, half: number, ext: number[]) => [
  ...get(a),
  ...get(half),
  ...ext,
  ...get(K),
  ...op.mul,
  ...op.vadd,
  ...set(a),
];
const shifted = (a: number) => [...get(a), ...i32c(22), ...op.shrS];
const body = [
  ...i32c(0),
  ...set(E),
  ...op.block,
  ...op.loop,
  ...get(E),
  ...get(LEN),
  ...op.geU,
  ...op.brIf(1),
  ...get(BIAS),
  ...get(E),
  ...i32c(48),
  ...op.remU,
  ...i32c(2),
  ...op.shl,
  ...op.add,
  ...set(B),
  ...[A0, A1, A2, A3].flatMap((a, j) => [...get(B), ...op.vload(16 * j), ...set(a)]),
  ...get(SRC),
  ...get(E),
  ...op.add,
  ...set(P),
  ...get(W),
  ...set(WP),
  ...get(N),
  ...set(T),
  ...op.block,
  ...op.loop,
  ...get(T),
  ...op.eqz,
  ...op.brIf(1),
  ...get(WP),
  ...op.load,
  ...op.splat,
  ...set(K),
  ...get(P),
  ...op.vload(0),
  ...tee(V),
  ...op.extLo8,
  ...set(LO),
  ...get(V),
  ...op.extHi8,
  ...set(HI),
  ...accumulate(A0, LO, op.extLo16),
  ...accumulate(A1, LO, op.extHi16),
  ...accumulate(A2, HI, op.extLo16),
  ...accumulate(A3, HI, op.extHi16),
  ...get(P),
  ...get(STRIDE),
  ...op.add,
  ...set(P),
  ...get(WP),
  ...i32c(4),
  ...op.add,
  ...set(WP),
  ...get(T),
  ...i32c(1),
  ...op.sub,
  ...set(T),
  ...op.br(0),
  ...op.end,
  ...op.end,
  ...get(DST),
  ...get(E),
  ...op.add,
  ...shifted(A0),
  ...shifted(A1),
  ...op.narrow32,
  ...shifted(A2),
  ...shifted(A3),
  ...op.narrow32,
  ...op.narrow16u,
  ...op.vstore,
  ...get(E),
  ...i32c(16),
  ...op.add,
  ...set(E),
  ...op.br(0),
  ...op.end,
  ...op.end,
  ...op.end,
];
const code = [
  ...vec(
    [
      [5, I32],
      [8, V128],
    ].map(([n, t]) => [...uleb(n!), t!]),
  ),
  ...body,
];

// rows(src0, src1, n, tab, weights, bias, dst0, dst1): the horizontal pass over two image rows at once (they
// share the weights), n output pixels each. For output i, tab[4i..] = (byte offset of its first tap in the
// row, number of 4-pixel chunks, byte offset of its weights); the weights are repeated per channel (12 int32s
// per chunk, 0 past the last tap), so each chunk is 12 bytes of the row times 12 weights, lane by lane; the
// lanes are then summed per channel onto bias[4i..4i+3) (the fourth 0). (One row: pass it twice.)
const [S0, S1, RN, RT, RW, RB, D0, D1, I, P0, P1, RC, RWP, TP] = Array.from({ length: 14 }, (_, i) => i);
const [A0r, A1r, A2r, A3r, A4r, A5r, K0, K1, K2, RV, RLO, RHI] = Array.from({ length: 12 }, (_, i) => 14 + i);
const whileLt = (i: number, limit: number, inner: number[]) => [
  ...op.block,
  ...op.loop,
  ...get(i),
  ...get(limit),
  ...op.geU,
  ...op.brIf(1),
  ...inner,
  ...op.br(0),
  ...op.end,
  ...op.end,
];
// i8x16.shuffle of two vectors by i32 lanes (0–3 the first's, 4–7 the second's).
const shuffle32 = (lanes: number[]) => simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
// The three accumulators' lanes hold bytes 0–11 of the chunks: channels R G B R | G B R G | B R G B. Summed per
// channel in registers: a + [a3 b0 b1 ·] + [b2 b3 c0 ·] + [c1 c2 c3 ·] = [R G B ·], plus the bias [bR bG bB 0]
// (in K0), then >> 22: one output pixel of one row, left on the stack.
const reduce = ([a, b, c]: number[]) => [
  ...get(a!),
  ...get(a!),
  ...get(b!),
  ...shuffle32([3, 4, 5, 0]),
  ...op.vadd,
  ...get(b!),
  ...get(c!),
  ...shuffle32([2, 3, 4, 0]),
  ...op.vadd,
  ...get(c!),
  ...get(c!),
  ...shuffle32([1, 2, 3, 0]),
  ...op.vadd,
  ...get(K0),
  ...op.vadd,
  ...i32c(22),
  ...op.shrS,
];
// Both rows' pixel narrowed with saturation (the clamp to 0–255) to bytes R0 G0 B0 · R1 G1 B1 ·, stored 4 bytes
// at a time at dst + 3i (the fourth byte is overwritten by the next pixel; rows have a byte of slack).
const storeLane = (dst: number, l: number) => [
  ...get(dst),
  ...get(I),
  ...i32c(3),
  ...op.mulI,
  ...op.add,
  ...get(RV),
  ...simd(0x5a, 0, 0, l),
];
const store2 = [
  ...get(RB),
  ...get(I),
  ...i32c(16),
  ...op.mulI,
  ...op.add,
  ...op.vload(0),
  ...set(K0),
  ...reduce([A0r, A1r, A2r]),
  ...reduce([A3r, A4r, A5r]),
  ...op.narrow32,
  ...tee(RV),
  ...get(RV),
  ...op.narrow16u,
  ...set(RV),
  ...storeLane(D0, 0),
  ...storeLane(D1, 1),
];
const chunk = (p: number, [a, b, c]: number[]) => [
  ...get(p),
  ...op.vload(0),
  ...tee(RV),
  ...op.extLo8,
  ...set(RLO),
  ...get(RV),
  ...op.extHi8,
  ...set(RHI),
  ...[
    [a!, RLO, op.extLo16, K0],
    [b!, RLO, op.extHi16, K1],
    [c!, RHI, op.extLo16, K2],
  ].flatMap(([acc, half, ext, k]) => [
    ...get(acc as number),
    ...get(half as number),
    ...(ext as number[]),
    ...get(k as number),
    ...op.mul,
    ...op.vadd,
    ...set(acc as number),
  ]),
  ...get(p),
  ...i32c(12),
  ...op.add,
  ...set(p),
];
const rbody = [
  ...i32c(0),
  ...set(I),
  ...whileLt(I, RN, [
    ...get(RT),
    ...get(I),
    ...i32c(16),
    ...op.mulI,
    ...op.add,
    ...set(TP),
    ...[S0, S1].flatMap((s, j) => [...get(s), ...get(TP), ...op.load, ...op.add, ...set(j ? P1 : P0)]),
    ...get(TP),
    ...[0x28, 2, 4],
    ...set(RC),
    ...get(RW),
    ...get(TP),
    ...[0x28, 2, 8],
    ...op.add,
    ...set(RWP),
    ...[A0r, A1r, A2r, A3r, A4r, A5r].flatMap((r) => [...simd(0x0c, ...new Array(16).fill(0)), ...set(r)]),
    ...op.block,
    ...op.loop,
    ...get(RC),
    ...op.eqz,
    ...op.brIf(1),
    ...[K0, K1, K2].flatMap((k, j) => [...get(RWP), ...op.vload(16 * j), ...set(k)]),
    ...chunk(P0, [A0r, A1r, A2r]),
    ...chunk(P1, [A3r, A4r, A5r]),
    ...get(RWP),
    ...i32c(48),
    ...op.add,
    ...set(RWP),
    ...get(RC),
    ...i32c(1),
    ...op.sub,
    ...set(RC),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...store2,
    ...get(I),
    ...i32c(1),
    ...op.add,
    ...set(I),
  ]),
  ...op.end,
];
const rcode = [
  ...vec(
    [
      [6, I32],
      [12, V128],
    ].map(([n, t]) => [...uleb(n!), t!]),
  ),
  ...rbody,
];
const moduleBytes = new Uint8Array([
  ...MAGIC,
  ...section(
    1,
    vec([
      [0x60, ...vec(Array.from({ length: 7 }, () => [I32])), 0],
      [0x60, ...vec(Array.from({ length: 8 }, () => [I32])), 0],
    ]),
  ),
  ...section(2, vec([[...name("m"), ...name("mem"), 0x02, 0x00, 0x01]])),
  ...section(3, vec([[0], [1]])),
  ...section(
    7,
    vec([
      [...name("acc"), 0x00, 0],
      [...name("rows"), 0x00, 1],
    ]),
  ),
  ...section(
    10,
    vec([
      [...uleb(code.length), ...code],
      [...uleb(rcode.length), ...rcode],
    ]),
  ),
]);

// The few WebAssembly JS API members used (the project compiles without the DOM library that declares them).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const WA = (globalThis as unknown as { WebAssembly: Record<string, new (...args: unknown[]) => unknown> }).WebAssembly;

interface Kernel {
  acc: (src: number, stride: number, len: number, w: number, n: number, bias: number, dst: number) => void;
  rows: (src0: number, src1: number, n: number, tab: number, weights: number, bias: number, dst0: number, dst1: number) => void;
  memory: WasmMemory;
}
let kernel: Kernel | null | undefined;

/** The SIMD kernel, or null where this WebAssembly has no SIMD (then the scalar reference is used). */
function getKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const memory = new WA.Memory!({ initial: 1 }) as WasmMemory;
    const inst = new WA.Instance!(new WA.Module!(moduleBytes), { m: { mem: memory } }) as { exports: Record<string, unknown> };
    kernel = { acc: inst.exports.acc as Kernel["acc"], rows: inst.exports.rows as Kernel["rows"], memory };
  } catch {
    kernel = null;
  }
  return kernel;
}

/** Whether the SIMD kernel runs here (tests assert it where WebAssembly has SIMD, as Node 20 does). */
export const simdAvailable = () => getKernel() !== null;

const STRIP_BYTES = 1 << 19;
const up16 = (n: number) => (n + 15) & ~15;

interface Plan {
  vt: Taps;
  rFirst: number;
  rLast: number;
  /** Per output column: byte offset of its first tap in a row, 4-pixel chunks, byte offset of its weights. */
  tab: Int32Array;
  /** Per output column, 4 lanes (R G B, 0): rounding bias plus background · the weights of taps on the canvas. */
  bias: Int32Array;
  /** The horizontal weights repeated per channel, 12 per chunk. */
  wexp: Int32Array;
  /** The horizontal pass of a row of background (rows of the canvas off the image). */
  bgRow: Uint8Array;
}

// Plans by geometry: datasets repeat a few image sizes, and the taps and tables depend on nothing else.
const plans = new Map<string, Plan>();

function plan(job: ResampleJob, cv: NonNullable<ResampleJob["canvas"]>, win: NonNullable<ResampleJob["window"]>): Plan {
  const { width: w, outWidth: outW, outHeight: outH } = job;
  const key = [
    w,
    job.height,
    cv.width,
    cv.height,
    cv.left,
    cv.top,
    ...cv.background,
    outW,
    outH,
    win.left,
    win.top,
    win.width,
    win.height,
    job.filter,
  ].join();
  const hit = plans.get(key);
  if (hit) return hit;
  const [bg0, bg1, bg2] = cv.background;
  const cw = win.width,
    ch = win.height;
  const ht = taps(cv.width, outW, job.filter),
    vt = taps(cv.height, outH, job.filter);
  const rFirst = vt.start[win.top]!,
    rLast = vt.start[win.top + ch - 1]! + vt.count[win.top + ch - 1]!;
  const tab = new Int32Array(cw * 4),
    bias = new Int32Array(cw * 4),
    bgRow = new Uint8Array(cw * 3);
  let chunks = 0;
  const first = new Int32Array(cw),
    count = new Int32Array(cw);
  const clip = (v: number) => Math.min(255, Math.max(0, v >> 22));
  for (let i = 0; i < cw; i++) {
    const o = win.left + i,
      lo = ht.start[o]!,
      hi = lo + ht.count[o]!;
    const a = Math.min(Math.max(lo, cv.left), hi),
      b = Math.max(Math.min(hi, cv.left + w), a);
    let outside = 0,
      all = 0;
    for (let x = lo; x < hi; x++) {
      const kx = ht.weights[o * ht.ksize + x - lo]!;
      all += kx;
      if (x < a || x >= b) outside += kx;
    }
    first[i] = o * ht.ksize + a - lo;
    count[i] = b - a;
    tab[i * 4] = (a - cv.left) * 3;
    tab[i * 4 + 1] = Math.ceil((b - a) / 4);
    tab[i * 4 + 2] = chunks * 48;
    chunks += tab[i * 4 + 1]!;
    for (const [c, bg] of [bg0, bg1, bg2].entries()) {
      bias[i * 4 + c] = HALF + bg * outside;
      bgRow[i * 3 + c] = clip(HALF + bg * all);
    }
  }
  const wexp = new Int32Array(chunks * 12);
  for (let i = 0; i < cw; i++) {
    const base = tab[i * 4 + 2]! >> 2;
    for (let t = 0; t < count[i]!; t++) wexp.fill(ht.weights[first[i]! + t]!, base + t * 3, base + t * 3 + 3);
  }
  const p: Plan = { vt, rFirst, rLast, tab, bias, wexp, bgRow };
  if (plans.size >= 32) plans.clear();
  plans.set(key, p);
  return p;
}

/** resamplePil's result, with SIMD; the scalar reference where SIMD is missing or an axis is not resampled. */
export function resamplePilSimd(job: ResampleJob, forceScalar = false): Uint8Array {
  const { src, width: w, height: h, outWidth: outW, outHeight: outH } = job;
  const cv = job.canvas ?? { width: w, height: h, left: 0, top: 0, background: [0, 0, 0] as const };
  const win = job.window ?? { left: 0, top: 0, width: outW, height: outH };
  const k = forceScalar ? null : getKernel();
  if (!k || outW === cv.width || outH === cv.height) return resamplePil(job);
  const cw = win.width,
    ch = win.height;
  const { vt, rFirst, rLast, tab, bias, wexp, bgRow } = plan(job, cv, win);
  // Image rows in strips of about 512 KiB (an even number of rows).
  const rowBytes = w * 3,
    strip = Math.max(2, Math.floor(STRIP_BYTES / rowBytes) & ~1);
  // Intermediate and output rows: a byte of slack for the horizontal pass's 4-byte stores.
  const SMT = up16(cw * 3 + 1);
  // Memory: the tables, the weights (horizontal, per channel; vertical), the image, the intermediate rows, the
  // output; slack after each for the last chunk's reads and writes.
  const tabOff = 0,
    biasOff = up16(tab.byteLength),
    biasV = up16(biasOff + bias.byteLength),
    wH = biasV + 256,
    wV = wH + wexp.byteLength,
    sOff = up16(wV + vt.weights.byteLength),
    mtOff = up16(sOff + strip * rowBytes + 64),
    outOff = up16(mtOff + (rLast - rFirst) * SMT + 16),
    end = outOff + ch * SMT + 16;
  if (k.memory.buffer.byteLength < end) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / 65536));
  const buf = k.memory.buffer;
  const u8 = new Uint8Array(buf),
    i32 = new Int32Array(buf);
  i32.set(tab, tabOff >> 2);
  i32.set(bias, biasOff >> 2);
  i32.fill(HALF, biasV >> 2, (biasV >> 2) + 64);
  i32.set(wexp, wH >> 2);
  i32.set(vt.weights, wV >> 2);
  // Horizontal pass, the canvas rows rFirst..rLast as rows (rows off the image are the background's).
  const y0 = Math.max(rFirst, cv.top),
    y1 = Math.min(rLast, cv.top + h);
  for (let r = rFirst; r < rLast; r++) if (r < y0 || r >= y1) u8.set(bgRow, mtOff + (r - rFirst) * SMT);
  // The image goes into WebAssembly memory a strip of rows at a time, each resampled while it is still in cache.
  const dstRow0 = mtOff - rFirst * SMT;
  for (let s0 = y0; s0 < y1; s0 += strip) {
    const s1 = Math.min(s0 + strip, y1);
    u8.set(src.subarray((s0 - cv.top) * rowBytes, (s1 - cv.top) * rowBytes), sOff);
    for (let r = s0; r < s1; r += 2) {
      const r1 = Math.min(r + 1, s1 - 1);
      k.rows(sOff + (r - s0) * rowBytes, sOff + (r1 - s0) * rowBytes, cw, tabOff, wH, biasOff, dstRow0 + r * SMT, dstRow0 + r1 * SMT);
    }
  }
  // Vertical pass.
  for (let j = 0; j < ch; j++) {
    const o = win.top + j;
    k.acc(mtOff + (vt.start[o]! - rFirst) * SMT, SMT, cw * 3, wV + o * vt.ksize * 4, vt.count[o]!, biasV, outOff + j * SMT);
  }
  const out = new Uint8Array(ch * cw * 3);
  for (let j = 0; j < ch; j++) out.set(u8.subarray(outOff + j * SMT, outOff + j * SMT + cw * 3), j * cw * 3);
  return out;
}
