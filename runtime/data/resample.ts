// PIL's Image.resize for 8-bit RGB (Pillow 9.4, libImaging's ImagingResample), bit for bit, when enlarging
// and when shrinking (its antialiasing: the filter widened by the scale factor):
//   - per axis, output pixel i is centred at (i + 0.5) · scale in the input, scale = in / out; the filter's
//     support is widened by max(scale, 1) and its argument is multiplied by 1 / max(scale, 1); taps run from
//     trunc(centre − support + 0.5) to trunc(centre + support + 0.5), clamped to the image, and are
//     normalised to sum to 1, then turned into fixed point with 22 fractional bits, rounding half away from 0;
//   - two separable passes, horizontal first (only over the rows the vertical pass reads), each rounding to
//     8 bits: (Σ pixel · weight + 2^21) >> 22, clamped to 0–255. An axis whose size does not change is not
//     resampled at all.
// The sums are exact integers (below 2^31, as in PIL's int arithmetic), so the order of the taps does not
// matter. That allows two savings PIL does not make, without changing a pixel: a padding canvas
// (expand_to_square) is never materialised (taps that fall on it add background · their weights), and only the
// output window a centre crop keeps is computed.

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

export type ResampleFilter = "bicubic" | "bilinear" | "lanczos";

// PIL's filters and their supports. Bicubic is Keys' cubic with a = −0.5.
const sinc = (x: number) => (x === 0 ? 1 : Math.sin(x * Math.PI) / (x * Math.PI));
const FILTERS: Record<ResampleFilter, [(x: number) => number, number]> = {
  bicubic: [
    (x) => {
      x = Math.abs(x);
      if (x < 1) return (1.5 * x - 2.5) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * -0.5;
      return 0;
    },
    2,
  ],
  bilinear: [(x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0), 1],
  lanczos: [(x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0), 3],
};

export interface Taps {
  /** Per output pixel: first input index and number of taps. */
  start: Int32Array;
  count: Int32Array;
  /** `ksize` fixed-point weights per output pixel. */
  weights: Int32Array;
  ksize: number;
}

export function taps(inSize: number, outSize: number, filter: ResampleFilter): Taps {
  const [f, filterSupport] = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterSupport * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const ss = 1 / filterScale;
  const start = new Int32Array(outSize),
    count = new Int32Array(outSize),
    weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const n = Math.min(Math.trunc(centre + support + 0.5), inSize) - lo;
    let total = 0;
    for (let x = 0; x < n; x++) total += k[x] = f((x + lo - centre + 0.5) * ss);
    for (let x = 0; x < n; x++) {
      const w = (total !== 0 ? k[x]! / total : k[x]!) * (1 << PRECISION_BITS);
      weights[o * ksize + x] = w < 0 ? Math.trunc(w - 0.5) : Math.trunc(w + 0.5);
    }
    start[o] = lo;
    count[o] = n;
  }
  return { start, count, weights, ksize };
}

const clip8 = (s: number) => {
  const v = s >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

export interface ResampleJob {
  /** Interleaved 8-bit RGB, `width` × `height`. */
  src: Uint8Array;
  width: number;
  height: number;
  /** The canvas the image sits on (expand_to_square): its size, where the image is, the colour elsewhere. */
  canvas?: { width: number; height: number; left: number; top: number; background: readonly [number, number, number] };
  /** Size of the whole resized canvas. */
  outWidth: number;
  outHeight: number;
  filter: ResampleFilter;
  /** The part of the resized canvas to compute (a crop); the whole of it by default. */
  window?: { left: number; top: number; width: number; height: number };
}

/** PIL's resize of (the canvas around) an RGB image, computing only `window`: interleaved RGB of its size. */
export function resamplePil(job: ResampleJob): Uint8Array {
  const { src, width: w, height: h, outWidth: outW, outHeight: outH } = job;
  const cv = job.canvas ?? { width: w, height: h, left: 0, top: 0, background: [0, 0, 0] as const };
  const win = job.window ?? { left: 0, top: 0, width: outW, height: outH };
  const W0 = cv.width,
    H0 = cv.height;
  const [bg0, bg1, bg2] = cv.background;
  const needH = outW !== W0,
    needV = outH !== H0;
  const cw = win.width,
    ch = win.height;
  const vt = needV ? taps(H0, outH, job.filter) : undefined;
  // Canvas rows the vertical pass reads.
  const rFirst = vt ? vt.start[win.top]! : win.top;
  const rLast = vt ? vt.start[win.top + ch - 1]! + vt.count[win.top + ch - 1]! : win.top + ch;
  const rows = rLast - rFirst;
  const mid = new Uint8Array(rows * cw * 3);
  if (needH) {
    const { start, count, weights, ksize } = taps(W0, outW, job.filter);
    // Per output column: the taps on image pixels, and the canvas taps folded into a per-channel bias.
    const srcOff = new Int32Array(cw),
      kOff = new Int32Array(cw),
      n = new Int32Array(cw);
    const bias = new Float64Array(cw * 3),
      bgRow = new Uint8Array(cw * 3);
    for (let i = 0; i < cw; i++) {
      const o = win.left + i,
        lo = start[o]!,
        hi = lo + count[o]!;
      const a = Math.min(Math.max(lo, cv.left), hi),
        b = Math.max(Math.min(hi, cv.left + w), a);
      let outside = 0,
        all = 0;
      for (let x = lo; x < hi; x++) {
        const k = weights[o * ksize + x - lo]!;
        all += k;
        if (x < a || x >= b) outside += k;
      }
      srcOff[i] = (a - cv.left) * 3;
      kOff[i] = o * ksize + a - lo;
      n[i] = b - a;
      bias[i * 3] = HALF + bg0 * outside;
      bias[i * 3 + 1] = HALF + bg1 * outside;
      bias[i * 3 + 2] = HALF + bg2 * outside;
      bgRow[i * 3] = clip8(HALF + bg0 * all);
      bgRow[i * 3 + 1] = clip8(HALF + bg1 * all);
      bgRow[i * 3 + 2] = clip8(HALF + bg2 * all);
    }
    for (let r = rFirst; r < rLast; r++) {
      const out = (r - rFirst) * cw * 3;
      const y = r - cv.top;
      if (y < 0 || y >= h) {
        mid.set(bgRow, out);
        continue;
      }
      const row = y * w * 3;
      for (let i = 0; i < cw; i++) {
        let s0 = bias[i * 3]!,
          s1 = bias[i * 3 + 1]!,
          s2 = bias[i * 3 + 2]!;
        let p = row + srcOff[i]!;
        for (let t = kOff[i]!, e = t + n[i]!; t < e; t++, p += 3) {
          const k = weights[t]!;
          s0 += src[p]! * k;
          s1 += src[p + 1]! * k;
          s2 += src[p + 2]! * k;
        }
        const q = out + i * 3;
        mid[q] = clip8(s0);
        mid[q + 1] = clip8(s1);
        mid[q + 2] = clip8(s2);
      }
    }
  } else {
    // No horizontal pass: the canvas rows themselves, cut to the window's columns.
    for (let r = rFirst; r < rLast; r++) {
      const out = (r - rFirst) * cw * 3,
        y = r - cv.top;
      for (let i = 0; i < cw; i++) {
        const x = win.left + i - cv.left,
          q = out + i * 3;
        if (y >= 0 && y < h && x >= 0 && x < w) {
          const p = (y * w + x) * 3;
          mid[q] = src[p]!;
          mid[q + 1] = src[p + 1]!;
          mid[q + 2] = src[p + 2]!;
        } else {
          mid[q] = bg0;
          mid[q + 1] = bg1;
          mid[q + 2] = bg2;
        }
      }
    }
  }
  if (!vt) return mid;
  const out = new Uint8Array(ch * cw * 3);
  const acc = new Int32Array(cw * 3);
  const L = cw * 3;
  for (let j = 0; j < ch; j++) {
    const o = win.top + j;
    acc.fill(HALF);
    for (let t = 0, n = vt.count[o]!; t < n; t++) {
      const k = vt.weights[o * vt.ksize + t]!;
      const row = (vt.start[o]! + t - rFirst) * L;
      for (let q = 0; q < L; q++) acc[q] += mid[row + q]! * k;
    }
    const base = j * L;
    for (let q = 0; q < L; q++) out[base + q] = clip8(acc[q]!);
  }
  return out;
}
