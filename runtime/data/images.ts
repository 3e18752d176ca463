// Image preparation with sharp, as the Cerebras/LLaVA transforms define it:
//   expand_to_square (pad with a background colour, image centred) → resize the shorter side (bicubic)
//   → center_crop → to_tensor ([0, 1]) → normalize (per-channel mean and std) → float32 CHW.
// sharp runs its operations in a fixed order (resize before extend) whatever order they are called in,
// so padding is done in its own pipeline and the padded pixels are resized in a second one.
import sharp from "sharp";
import { resizeBicubicPil } from "./resample.js";

export type ImageTransform =
  | { kind: "expand_to_square"; background: [number, number, number] }
  | { kind: "resize"; size: number; interpolation: "bicubic" | "bilinear" | "nearest" | "lanczos" }
  | { kind: "center_crop"; size: number }
  | { kind: "to_tensor" }
  | { kind: "normalize"; mean: [number, number, number]; std: [number, number, number] };

const KERNELS = { bicubic: "cubic", bilinear: "linear", nearest: "nearest", lanczos: "lanczos3" } as const;

// Many small images are prepared at once: one libvips thread per image and no operation cache is
// faster than libvips splitting each image across threads (measured in bench/image-prep.mjs).
sharp.concurrency(1);
sharp.cache(false);

interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

const raw = async (s: ReturnType<typeof sharp>): Promise<Raw> => {
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};

const fromRaw = (r: Raw) => sharp(r.data, { raw: { width: r.width, height: r.height, channels: 3 } });

/** LLaVA's expand2square: a square canvas of the background colour with the image centred on it. */
function padToSquare(img: Raw, background: [number, number, number]): Raw {
  const { width: w, height: h } = img;
  if (w === h) return img;
  const side = Math.max(w, h);
  const top = w > h ? Math.floor((w - h) / 2) : 0;
  const left = h > w ? Math.floor((h - w) / 2) : 0;
  const out = Buffer.allocUnsafe(side * side * 3);
  const [r, g, b] = background;
  for (let p = 0; p < out.length; p += 3) {
    out[p] = r;
    out[p + 1] = g;
    out[p + 2] = b;
  }
  for (let y = 0; y < h; y++) img.data.copy(out, ((top + y) * side + left) * 3, y * w * 3, (y + 1) * w * 3);
  return { data: out, width: side, height: side };
}

/** An image (path or encoded bytes) → float32 CHW after the transforms, plus its final size. */
export async function prepareImage(
  input: string | Buffer,
  transforms: readonly ImageTransform[],
): Promise<{ data: Float32Array; width: number; height: number }> {
  // Decode once to RGB (alpha dropped, grey expanded, as PIL's convert("RGB") does).
  let img: Raw = await raw(sharp(input).removeAlpha().toColourspace("srgb"));
  if (img.data.length !== img.width * img.height * 3) throw new Error("the image did not decode to 3 channels");
  let mean: [number, number, number] = [0, 0, 0];
  let std: [number, number, number] = [1, 1, 1];
  let tensor = false;
  let i = 0;
  const ts = [...transforms];
  // Stage 1: pad to square in JavaScript (cheaper than another libvips pass).
  if (ts[0]?.kind === "expand_to_square") {
    img = padToSquare(img, ts[0].background);
    i = 1;
  }
  // Stage 2: the remaining geometry (resize, then crop), one pipeline where sharp can do it.
  for (; i < ts.length; i++) {
    const t = ts[i]!;
    switch (t.kind) {
      case "expand_to_square":
        img = padToSquare(img, t.background);
        break;
      case "resize": {
        // torchvision Resize(int): the shorter side becomes `size`, the longer keeps the aspect (truncated).
        const { width: w, height: h } = img;
        const [nw, nh] = w <= h ? [t.size, Math.floor((t.size * h) / w)] : [Math.floor((t.size * w) / h), t.size];
        if (nw === w && nh === h) break;
        const next = ts[i + 1];
        if (t.interpolation === "bicubic" && (nw > w || nh > h)) {
          // Enlarging: libvips samples differently from PIL here, so resample as PIL does.
          img = { data: Buffer.from(resizeBicubicPil(img.data, w, h, nw, nh)), width: nw, height: nh };
        } else if (next?.kind === "center_crop" && nw >= next.size && nh >= next.size) {
          // Resize and crop in one pass.
          const top = Math.round((nh - next.size) / 2),
            left = Math.round((nw - next.size) / 2);
          img = await raw(
            fromRaw(img)
              .resize(nw, nh, { fit: "fill", kernel: KERNELS[t.interpolation] })
              .extract({ left, top, width: next.size, height: next.size }),
          );
          i++;
        } else {
          img = await raw(fromRaw(img).resize(nw, nh, { fit: "fill", kernel: KERNELS[t.interpolation] }));
        }
        break;
      }
      case "center_crop": {
        const { width: w, height: h } = img;
        const s = t.size;
        if (w === s && h === s) break;
        if (w < s || h < s) {
          // torchvision pads a smaller image with zeros before cropping.
          const top = Math.floor(Math.max(0, s - h) / 2),
            left = Math.floor(Math.max(0, s - w) / 2);
          img = await raw(
            fromRaw(img).extend({
              top,
              bottom: Math.max(0, s - h - top),
              left,
              right: Math.max(0, s - w - left),
              background: { r: 0, g: 0, b: 0 },
            }),
          );
        }
        const top = Math.round((img.height - s) / 2),
          left = Math.round((img.width - s) / 2);
        img = await raw(fromRaw(img).extract({ left, top, width: s, height: s }));
        break;
      }
      case "to_tensor":
        tensor = true;
        break;
      case "normalize":
        mean = t.mean;
        std = t.std;
        break;
    }
  }
  // One pass over the pixels, through a per-channel table of (v · scale − mean) / std. Without
  // to_tensor the values stay 0–255.
  const scale = tensor ? 1 / 255 : 1;
  const lut = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => (v * scale - mean[c]!) / std[c]!));
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
