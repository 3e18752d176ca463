// PIL's BICUBIC resampling (Image.resize), exactly: separable passes (horizontal, then vertical), each
// output pixel centred at (x + 0.5) · scale in the input, the Keys cubic (a = −0.5) widened by the scale
// when shrinking, fixed-point weights with 22 fractional bits, and rounding to 8 bits after each pass.
// Used where libvips disagrees with PIL (enlarging); it matches PIL bit for bit.

const PRECISION_BITS = 32 - 8 - 2;
const A = -0.5;

function cubic(x: number): number {
  x = Math.abs(x);
  if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
  return 0;
}

interface Coefficients {
  bounds: Int32Array; // per output pixel: first input index, count
  weights: Int32Array; // per output pixel, `taps` fixed-point weights
  taps: number;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < count; x++) {
      const w = cubic((x + xmin - center + 0.5) / filterScale);
      k[x] = w;
      total += w;
    }
    for (let x = 0; x < count; x++) {
      const w = total !== 0 ? k[x]! / total : 0;
      // PIL rounds half away from zero when converting to fixed point.
      weights[xx * taps + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { bounds, weights, taps };
}

const clip8 = (v: number) => {
  const x = Math.floor(v / (1 << PRECISION_BITS));
  return x < 0 ? 0 : x > 255 ? 255 : x;
};

/** Resize interleaved 8-bit RGB pixels to (outW, outH). */
export function resizeBicubicPil(src: Uint8Array, w: number, h: number, outW: number, outH: number): Uint8Array {
  const C = 3;
  let img = src,
    width = w;
  if (outW !== w) {
    const { bounds, weights, taps } = coefficients(w, outW);
    const out = new Uint8Array(outW * h * C);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2]!,
          count = bounds[xx * 2 + 1]!;
        for (let c = 0; c < C; c++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let x = 0; x < count; x++) ss += img[(y * width + xmin + x) * C + c]! * weights[xx * taps + x]!;
          out[(y * outW + xx) * C + c] = clip8(ss);
        }
      }
    }
    img = out;
    width = outW;
  }
  if (outH !== h) {
    const { bounds, weights, taps } = coefficients(h, outH);
    const out = new Uint8Array(width * outH * C);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[yy * 2]!,
        count = bounds[yy * 2 + 1]!;
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < C; c++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let y = 0; y < count; y++) ss += img[((ymin + y) * width + x) * C + c]! * weights[yy * taps + y]!;
          out[(yy * width + x) * C + c] = clip8(ss);
        }
      }
    }
    img = out;
  }
  return img;
}
