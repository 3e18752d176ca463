// Images as the Cerebras reader prepares them (PIL + torchvision), held against Debian's python3-pil on the
// committed camera-sized fixtures (scripts/make-image-fixtures.mjs: every PNG colour type and bit depth,
// palettes with and without tRNS, grey, grey + alpha, RGBA, 16-bit, RGB, grey and CMYK JPEGs with and without
// the Adobe marker, an ICC profile and an EXIF rotation that PIL ignores). PNGs must be equal; JPEGs within 1
// level (decoder IDCT differences; here they are equal too). Skipped, saying so, where PIL is absent.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeRgb, type ImageTransform, prepareImage } from "../runtime/data/images.js";
import { resamplePil } from "../runtime/data/resample.js";
import { resamplePilSimd, simdAvailable } from "../runtime/data/resample-simd.js";
import { tempDir } from "./data-helpers.js";
import { ROOT } from "./helpers.js";
import { oraclePython } from "./oracle-python.js";

const PY = oraclePython("PIL", "numpy");
if (!PY)
  console.warn(
    "image-equality: Debian python3-pil / python3-numpy are not installed; the comparisons with PIL are skipped (.ci/run installs them)",
  );
const FIXTURES = path.join(ROOT, "test/fixtures/images");
const files = readdirSync(FIXTURES)
  .filter((f) => /\.(png|jpg)$/.test(f))
  .sort()
  .map((f) => path.join(FIXTURES, f));
const CLIP: ImageTransform[] = [
  { kind: "expand_to_square", background: [122, 116, 104] },
  { kind: "resize", size: 336, interpolation: "bicubic" },
  { kind: "center_crop", size: 336 },
];

/** PIL's result for each file (HWC uint8), from tools/oracles/pil_prepare.py in the given mode. */
function pil(mode: "convert" | "dump" | "dump-nopad"): Map<string, Buffer> {
  const dir = tempDir();
  execFileSync(PY!, [path.join(ROOT, "tools/oracles/pil_prepare.py"), mode, ...(mode === "convert" ? [] : ["336"]), dir, ...files]);
  return new Map(files.map((f) => [f, readFileSync(path.join(dir, `${path.basename(f)}.raw`))]));
}

/** CHW float pixels (0–255, no to_tensor) → HWC bytes. */
function hwc(img: { data: Float32Array; width: number; height: number }): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) for (let p = 0; p < n; p++) out[p * 3 + c] = img.data[c * n + p]!;
  return out;
}

/** Compares every file's pixels with PIL's: PNGs exactly, JPEGs within 1; logs what was compared. */
function expectEqual(what: string, ours: Map<string, Uint8Array>, theirs: Map<string, Buffer>) {
  let pixels = 0,
    worst = 0;
  const off: string[] = [];
  for (const f of files) {
    const a = ours.get(f)!,
      b = theirs.get(f)!;
    expect(a.length, `${path.basename(f)}: size`).toBe(b.length);
    let max = 0,
      differing = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (d) differing++;
      if (d > max) max = d;
    }
    pixels += a.length / 3;
    worst = Math.max(worst, max);
    if (max > (f.endsWith(".jpg") ? 1 : 0)) off.push(`${path.basename(f)}: ${differing} samples differ, by up to ${max}`);
  }
  console.log(`${what}: ${pixels.toLocaleString("en")} pixels of ${files.length} images compared with PIL, max difference ${worst}`);
  expect(off).toEqual([]);
}

describe("images equal to PIL's", () => {
  it("the fixtures cover every mode", () => {
    const names = files.map((f) => path.basename(f));
    for (const n of ["rgb8.png", "rgb16.png", "rgba8.png", "rgba16.png", "grey8.png", "grey16.png", "greyalpha8.png"])
      expect(names).toContain(n);
    for (const n of ["greyalpha16.png", "palette8.png", "palette8-trns.png", "rgb.jpg", "cmyk-adobe.jpg", "cmyk-noadobe.jpg"])
      expect(names).toContain(n);
  });

  it.skipIf(!PY)("decoding equals Image.open(p).convert('RGB') in every mode", { timeout: 300_000 }, async () => {
    const ours = new Map<string, Uint8Array>();
    for (const f of files) ours.set(f, (await decodeRgb(f)).data);
    expectEqual("convert('RGB')", ours, pil("convert"));
  });

  it.skipIf(!PY)(
    "expand_to_square → bicubic 336 → center crop equals PIL's, shrinking camera-sized images",
    { timeout: 300_000 },
    async () => {
      const ours = new Map<string, Uint8Array>();
      for (const f of files) ours.set(f, hwc(await prepareImage(f, CLIP)));
      expectEqual("expand2square + resize + crop", ours, pil("dump"));
    },
  );

  it.skipIf(!PY)("resize of the shorter side → center crop (no padding) equals PIL's", { timeout: 300_000 }, async () => {
    const ours = new Map<string, Uint8Array>();
    for (const f of files) ours.set(f, hwc(await prepareImage(f, CLIP.slice(1))));
    expectEqual("resize + crop", ours, pil("dump-nopad"));
  });

  it.skipIf(!PY)("the comparison sees a difference: libvips' own shrink and 16-bit grey conversion are not PIL's", async () => {
    const theirs = pil("convert");
    const grey16 = path.join(FIXTURES, "grey16.png");
    const sharpGrey = (await sharp(grey16).removeAlpha().toColourspace("srgb").raw().toBuffer()) as Buffer;
    expect(Buffer.compare(sharpGrey, theirs.get(grey16)!)).not.toBe(0);
    const rgb = path.join(FIXTURES, "rgb8.png");
    const dir = tempDir();
    execFileSync(PY!, [path.join(ROOT, "tools/oracles/pil_prepare.py"), "dump-nopad", "336", dir, rgb]);
    const want = readFileSync(path.join(dir, "rgb8.png.raw"));
    const vips = await sharp(rgb)
      .resize(448, 336, { kernel: "cubic" })
      .extract({ left: 56, top: 0, width: 336, height: 336 })
      .raw()
      .toBuffer();
    expect(Buffer.compare(vips, want)).not.toBe(0);
  });
});

describe("the SIMD resampler", () => {
  it("runs here (WebAssembly SIMD is in Node 20)", () => {
    expect(simdAvailable()).toBe(true);
  });

  it("equals the scalar reference on random sizes, canvases, crops and filters, enlarging and shrinking", () => {
    let seed = 7;
    const r = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const mismatches: string[] = [];
    for (let trial = 0; trial < 80; trial++) {
      const w = 1 + Math.floor(r() * 260),
        h = 1 + Math.floor(r() * 260);
      // Noise with saturated runs, so the bicubic overshoot is clamped at both ends.
      const src = Uint8Array.from({ length: w * h * 3 }, () => (r() < 0.3 ? (r() < 0.5 ? 0 : 255) : Math.floor(r() * 256)));
      const side = Math.max(w, h);
      const canvas =
        r() < 0.5 && w !== h
          ? {
              width: side,
              height: side,
              left: h > w ? (side - w) >> 1 : 0,
              top: w > h ? (side - h) >> 1 : 0,
              background: [122, 116, 104] as const,
            }
          : undefined;
      const outWidth = 1 + Math.floor(r() * 400),
        outHeight = 1 + Math.floor(r() * 400);
      const cw = 1 + Math.floor(r() * outWidth),
        ch = 1 + Math.floor(r() * outHeight);
      const window =
        r() < 0.5
          ? { left: Math.floor(r() * (outWidth - cw + 1)), top: Math.floor(r() * (outHeight - ch + 1)), width: cw, height: ch }
          : undefined;
      const filter = (["bicubic", "bilinear", "lanczos"] as const)[trial % 3]!;
      const job = { src, width: w, height: h, canvas, outWidth, outHeight, filter, window };
      const a = resamplePil(job),
        b = resamplePilSimd(job);
      // Again with other pixels: the second call reuses the geometry's cached plan.
      const other = { ...job, src: src.map((v) => 255 - v) };
      const c = resamplePil(other),
        d = resamplePilSimd(other);
      const same = (x: Uint8Array, y: Uint8Array) => x.length === y.length && x.every((v, i) => v === y[i]);
      if (!same(a, b) || !same(c, d)) mismatches.push(JSON.stringify({ w, h, outWidth, outHeight, filter, window, canvas }));
    }
    expect(mismatches).toEqual([]);
  });
});

describe("decoding", () => {
  it("finds a CMYK JPEG whose frame header lies after 80 KB of other segments (the header check walks them all)", async () => {
    // Two 40,000-byte APP15 segments after SOI push the frame header (4 components) beyond the first 64 KiB.
    const whole = readFileSync(path.join(FIXTURES, "cmyk-adobe.jpg"));
    const app = Buffer.alloc(40_002, 0x20);
    app.writeUInt16BE(0xffef, 0);
    app.writeUInt16BE(40_000, 2);
    const f = path.join(tempDir(), "cmyk-late-frame.jpg");
    writeFileSync(f, Buffer.concat([whole.subarray(0, 2), app, app, whole.subarray(2)]));
    const ours = await decodeRgb(f);
    expect(Buffer.compare(Buffer.from(ours.data), Buffer.from((await decodeRgb(whole)).data))).toBe(0);
    // Taken for a plain image, it would have gone through libvips' own CMYK conversion, which differs.
    const vips = (await sharp(f, { ignoreIcc: true }).removeAlpha().toColourspace("srgb").raw().toBuffer()) as Buffer;
    expect(Buffer.compare(vips, Buffer.from(ours.data))).not.toBe(0);
  });

  it("reads a file once and names it when it cannot: a missing image is an error with its path, not a blank", async () => {
    const f = path.join(tempDir(), "gone.jpg");
    await expect(decodeRgb(f)).rejects.toThrow(f);
    // The bytes of a file decode as the file does (one path through sharp for both).
    const rgb = path.join(FIXTURES, "rgb8.png");
    const [a, b] = [await decodeRgb(rgb), await decodeRgb(readFileSync(rgb))];
    expect([a.width, a.height]).toEqual([b.width, b.height]);
    expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).toBe(0);
  });

  it("rejects a truncated PNG (a full decode, as data hdf5 and data verify --images do with the same function)", async () => {
    const whole = readFileSync(path.join(FIXTURES, "rgb8.png"));
    const f = path.join(tempDir(), "cut.png");
    writeFileSync(f, whole.subarray(0, whole.length >> 1));
    await expect(decodeRgb(f)).rejects.toThrow();
  });
});
