// Image preparation as the Cerebras/LLaVA reader does it with PIL + torchvision, pixel for pixel:
//   Image.open(p).convert("RGB") → expand_to_square (pad with a background colour, image centred) → resize the
//   shorter side (PIL's BICUBIC, antialiased when shrinking) → center_crop → to_tensor ([0, 1]) → normalize
//   (per-channel mean and std) → float32 CHW.
// sharp decodes (the same libjpeg-turbo IDCT and upsampling as PIL's, so JPEGs decode to the same samples);
// where sharp's conversion to RGB is not PIL's (16-bit grey, CMYK) the conversion is done here, and no colour
// management is applied (PIL ignores embedded ICC profiles). Resizing is PIL's own algorithm
// (runtime/data/resample.ts, with SIMD in resample-simd.ts), fused with the padding and the crop. One home: the training loader, evaluation
// and `data inspect` all prepare images with prepareImage.
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import type { ResampleFilter } from "./resample.js";
import { resamplePilSimd } from "./resample-simd.js";

export type ImageTransform =
  | { kind: "expand_to_square"; background: [number, number, number] }
  /** `size`: the shorter side (aspect kept), or [height, width] exactly (torchvision's Resize with a sequence). */
  | { kind: "resize"; size: number | [number, number]; interpolation: "bicubic" | "bilinear" | "nearest" | "lanczos" }
  | { kind: "center_crop"; size: number }
  | { kind: "to_tensor" }
  | { kind: "normalize"; mean: [number, number, number]; std: [number, number, number] };

// Many images are prepared at once: one libvips thread per image and no operation cache is faster than
// libvips splitting each image across threads (measured in bench/image-prep.mjs).
sharp.concurrency(1);
sharp.cache(false);

interface Raw {
  data: Uint8Array;
  width: number;
  height: number;
}

/** PNG colour type from the IHDR chunk (0 grey, 4 grey + alpha, …), or -1 when the bytes are not a PNG. */
function pngColourType(head: Buffer): number {
  return head.length >= 26 && head.readUInt32BE(0) === 0x89504e47 && head.toString("latin1", 12, 16) === "IHDR" ? head[25]! : -1;
}

/**
 * Whether the header shows an image that needs none of decodeRgb's special conversions (CMYK, 16-bit grey):
 * a PNG that is not 16-bit grey, or a JPEG whose frame has 1 or 3 components. Then the metadata pass (an extra
 * header parse per image) is skipped; anything else (another format, no frame header before the scan) asks.
 */
function plainRgb(b: Buffer): boolean {
  if (b.length < 26) return false;
  if (b.readUInt32BE(0) === 0x89504e47) return b.toString("latin1", 12, 16) === "IHDR" && !(b[24] === 16 && b[25] === 0);
  if (b[0] !== 0xff || b[1] !== 0xd8) return false;
  // JPEG markers up to the frame header (SOFn: C0–CF except C4 DHT, C8 JPG, CC DAC); each segment has a length.
  for (let p = 2; p + 4 <= b.length; ) {
    if (b[p] !== 0xff) return false;
    const m = b[p + 1]!;
    if (m === 0xff) {
      p++;
      continue;
    }
    if (m === 0xda || m === 0xd9) return false;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return p + 10 <= b.length && (b[p + 9] === 1 || b[p + 9] === 3);
    p += m === 0x01 || (m >= 0xd0 && m <= 0xd8) ? 2 : 2 + b.readUInt16BE(p + 2);
  }
  return false;
}

/** Decoded pixels equal to PIL's `Image.open(input).convert("RGB")`. */
export async function decodeRgb(input: string | Buffer): Promise<Raw> {
  // The file is read once, here: its bytes answer plainRgb and sharp decodes them (no second open, no separate
  // header read on libuv's pool, where each waits behind the decodes in flight).
  const bytes = typeof input === "string" ? await readFile(input) : input;
  const s = sharp(bytes, { ignoreIcc: true });
  const m = plainRgb(bytes) ? undefined : await s.metadata();
  if (m?.space === "cmyk") {
    // PIL reads CMYK JPEGs with Adobe's (inverted) polarity, as libvips does, and converts without a profile:
    // each of R, G, B is (255 − K) − C·(255 − K)/255, the division rounded as PIL's MULDIV255.
    const { data, info } = await s.pipelineColourspace("cmyk").toColourspace("cmyk").raw().toBuffer({ resolveWithObject: true });
    if (info.channels < 4) throw new Error("the CMYK image did not decode to 4 channels");
    const n = info.width * info.height,
      C = info.channels;
    const out = new Uint8Array(n * 3);
    for (let p = 0, q = 0; p < n * C; p += C, q += 3) {
      const nk = 255 - data[p + 3]!;
      for (let c = 0; c < 3; c++) {
        const t = data[p + c]! * nk + 128;
        out[q + c] = nk - ((t + (t >> 8)) >> 8);
      }
    }
    return { data: out, width: info.width, height: info.height };
  }
  if (m?.depth === "ushort" && (m.space === "grey16" || m.space === "b-w") && pngColourType(bytes) === 0) {
    // PIL opens 16-bit grey PNGs as 32-bit integers (mode I); convert("RGB") clamps them to 0–255, it does not
    // rescale. (16-bit RGB, RGBA and grey + alpha keep the high byte, as sharp's own conversion does.)
    const { data, info } = await s.toColourspace("grey16").raw({ depth: "ushort" }).toBuffer({ resolveWithObject: true });
    const v = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
    const n = info.width * info.height,
      C = info.channels;
    const out = new Uint8Array(n * 3);
    for (let p = 0, q = 0; p < n; p++, q += 3) {
      const g = v[p * C]!,
        c = g > 255 ? 255 : g;
      out[q] = out[q + 1] = out[q + 2] = c;
    }
    return { data: out, width: info.width, height: info.height };
  }
  // Alpha dropped without compositing, grey and palettes expanded, 16-bit samples to their high byte.
  const { data, info } = await s.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error("the image did not decode to 3 channels");
  return { data, width: info.width, height: info.height };
}

/** LLaVA's expand2square: a square canvas of the background colour with the image centred on it. */
function padToSquare(img: Raw, background: readonly [number, number, number]): Raw {
  const { width: w, height: h } = img;
  if (w === h) return img;
  const side = Math.max(w, h);
  const { left, top } = centred(w, h);
  const out = new Uint8Array(side * side * 3);
  const [r, g, b] = background;
  for (let p = 0; p < out.length; p += 3) {
    out[p] = r;
    out[p + 1] = g;
    out[p + 2] = b;
  }
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((top + y) * side + left) * 3);
  return { data: out, width: side, height: side };
}

/** Where expand2square puts a w × h image on its square canvas (PIL's paste at ((side − w) // 2, (side − h) // 2)). */
const centred = (w: number, h: number) => ({ left: h > w ? Math.floor((h - w) / 2) : 0, top: w > h ? Math.floor((w - h) / 2) : 0 });

/** Python's round() (half to even), as torchvision's center_crop rounds its offsets. */
const roundHalfEven = (x: number) => {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** torchvision's center_crop of an RGB image: zero padding first when it is smaller than the crop. */
function centerCrop(img: Raw, s: number): Raw {
  const { width: w, height: h } = img;
  if (w === s && h === s) return img;
  const out = new Uint8Array(s * s * 3);
  // Offsets of the crop in the (zero-padded) image.
  const padL = w < s ? Math.floor((s - w) / 2) : 0,
    padT = h < s ? Math.floor((s - h) / 2) : 0;
  const left = w < s ? -padL : roundHalfEven((w - s) / 2),
    top = h < s ? -padT : roundHalfEven((h - s) / 2);
  for (let y = 0; y < s; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= h) continue;
    const x0 = Math.max(0, -left),
      x1 = Math.min(s, w - left);
    if (x1 > x0) out.set(img.data.subarray((sy * w + x0 + left) * 3, (sy * w + x1 + left) * 3), (y * s + x0) * 3);
  }
  return { data: out, width: s, height: s };
}

/** An image (path or encoded bytes) → float32 CHW after the transforms, plus its final size. */
export async function prepareImage(
  input: string | Buffer,
  transforms: readonly ImageTransform[],
): Promise<{ data: Float32Array; width: number; height: number }> {
  let img = await decodeRgb(input);
  // A pending expand_to_square: the canvas is only materialised if something other than a resize needs it.
  let pad: readonly [number, number, number] | undefined;
  const settle = () => {
    if (pad) img = padToSquare(img, pad);
    pad = undefined;
  };
  let mean: readonly number[] = [0, 0, 0];
  let std: readonly number[] = [1, 1, 1];
  let tensor = false;
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i]!;
    switch (t.kind) {
      case "expand_to_square":
        settle();
        if (img.width !== img.height) pad = t.background;
        break;
      case "resize": {
        const side = Math.max(img.width, img.height);
        const [w, h] = pad ? [side, side] : [img.width, img.height];
        // torchvision Resize(int): the shorter side becomes `size`, the longer keeps the aspect (truncated);
        // Resize((h, w)) makes exactly that size.
        const [nw, nh] = Array.isArray(t.size)
          ? [t.size[1], t.size[0]]
          : w <= h
            ? [t.size, Math.floor((t.size * h) / w)]
            : [Math.floor((t.size * w) / h), t.size];
        if (nw === w && nh === h) break;
        if (t.interpolation === "nearest") {
          settle();
          const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
            .resize(nw, nh, { fit: "fill", kernel: "nearest" })
            .raw()
            .toBuffer({ resolveWithObject: true });
          img = { data, width: info.width, height: info.height };
          break;
        }
        // A center crop right after is fused: only the pixels it keeps are computed.
        const next = transforms[i + 1];
        let window: { left: number; top: number; width: number; height: number } | undefined;
        if (next?.kind === "center_crop" && nw >= next.size && nh >= next.size) {
          window = {
            left: roundHalfEven((nw - next.size) / 2),
            top: roundHalfEven((nh - next.size) / 2),
            width: next.size,
            height: next.size,
          };
          i++;
        }
        const data = resamplePilSimd({
          src: img.data,
          width: img.width,
          height: img.height,
          canvas: pad ? { width: w, height: h, ...centred(img.width, img.height), background: pad } : undefined,
          outWidth: nw,
          outHeight: nh,
          filter: t.interpolation as ResampleFilter,
          window,
        });
        pad = undefined;
        img = { data, width: window?.width ?? nw, height: window?.height ?? nh };
        break;
      }
      case "center_crop":
        settle();
        img = centerCrop(img, t.size);
        break;
      case "to_tensor":
        tensor = true;
        break;
      case "normalize":
        mean = t.mean;
        std = t.std;
        break;
    }
  }
  settle();
  // One pass over the pixels through a per-channel table. The table is torchvision's float32 arithmetic step
  // by step (v / 255, − mean, / std, each rounded to float32). Without to_tensor the values stay 0–255.
  const f = Math.fround;
  const lut = [0, 1, 2].map((c) =>
    Float32Array.from({ length: 256 }, (_, v) => f(f((tensor ? f(v / 255) : v) - f(mean[c]!)) / f(std[c]!))),
  );
  const [l0, l1, l2] = lut as [Float32Array, Float32Array, Float32Array];
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  const data = img.data;
  for (let p = 0, q = 0; p < plane; p++, q += 3) {
    out[p] = l0[data[q]!]!;
    out[plane + p] = l1[data[q + 1]!]!;
    out[2 * plane + p] = l2[data[q + 2]!]!;
  }
  return { data: out, width: img.width, height: img.height };
}

/** A blank (black) image of the given size through the same transforms: what text-only samples get. */
export async function blankImage(
  width: number,
  height: number,
  transforms: readonly ImageTransform[],
): Promise<{ data: Float32Array; width: number; height: number }> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .png()
    .toBuffer();
  return prepareImage(png, transforms);
}
