// Writes test/fixtures/images/: one camera-sized image per PNG colour type and bit depth and per JPEG colour
// space, the set test/image-equality.test.ts holds against PIL. Pixels are computed (gradients, hard-edged
// shapes, fine stripes that alias when shrunk, saturated regions that make bicubic overshoot, a little noise),
// never drawn with a font, so no system library but Node's zlib and sharp's JPEG encoder is involved.
// PNGs are encoded here (so every colour type, depth, palette and tRNS is exactly what is asked for); JPEGs
// by sharp, CMYK once with libjpeg's Adobe marker and once with it removed. Usage:
//   node scripts/make-image-fixtures.mjs [outDir]
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";

const out = path.resolve(process.argv[2] ?? new URL("../test/fixtures/images", import.meta.url).pathname);
mkdirSync(out, { recursive: true });

function mulberry(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A photo-like scene as 16-bit RGB + alpha (0–65535), deterministic for (w, h, seed). */
function scene(w, h, seed) {
  const r = mulberry(seed);
  const px = new Uint16Array(w * h * 4);
  const shapes = Array.from({ length: 9 }, () => ({
    x: r() * w,
    y: r() * h,
    s: (0.05 + r() * 0.2) * Math.min(w, h),
    round: r() < 0.5,
    c: [r() < 0.5 ? 0 : 65535, r() * 65535, r() < 0.5 ? 65535 : 0],
  }));
  const [f1, f2, f3] = [r() * 0.02, r() * 0.02, r() * 0.01];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const k = (y * w + x) * 4;
      let c = [32768 + 30000 * Math.sin(x * f1 + y * f3), (65535 * x) / w, 32768 + 30000 * Math.cos(y * f2 - x * f3)];
      for (const s of shapes) {
        const dx = x - s.x,
          dy = y - s.y;
        if (s.round ? dx * dx + dy * dy < s.s * s.s : Math.abs(dx) < s.s && Math.abs(dy) < s.s * 0.6) c = s.c;
      }
      // Fine stripes (1–3 px): what a shrink without antialiasing gets wrong.
      if (x > w * 0.7 && y < h * 0.3) c = (x >> (y % 3)) & 1 ? [65535, 65535, 65535] : [0, 0, 0];
      // A noisy patch (noise compresses badly, so keep it small).
      if (x < w * 0.1 && y > h * 0.85) c = c.map((v) => Math.max(0, Math.min(65535, v + (r() - 0.5) * 20000)));
      px[k] = c[0];
      px[k + 1] = c[1];
      px[k + 2] = c[2];
      px[k + 3] = Math.min(65535, Math.max(0, 65535 * (0.2 + (0.8 * (x + y)) / (w + h))));
    }
  return px;
}

const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const chunk = (type, data) => {
  const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
  return Buffer.concat([u32(data.length), td, u32(crc32(td))]);
};

/** A PNG from packed rows (each `rowBytes` long), with the Paeth filter on every row. */
function png({ w, h, depth, colour, rows, bpp, plte, trns }) {
  const rowBytes = rows.length / h;
  const filtered = Buffer.alloc(h * (rowBytes + 1));
  for (let y = 0; y < h; y++) {
    const o = y * (rowBytes + 1);
    filtered[o] = 4;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? rows[y * rowBytes + i - bpp] : 0;
      const b = y > 0 ? rows[(y - 1) * rowBytes + i] : 0;
      const c = y > 0 && i >= bpp ? rows[(y - 1) * rowBytes + i - bpp] : 0;
      const p = a + b - c,
        pa = Math.abs(p - a),
        pb = Math.abs(p - b),
        pc = Math.abs(p - c);
      const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      filtered[o + 1 + i] = (rows[y * rowBytes + i] - pred) & 255;
    }
  }
  const ihdr = Buffer.concat([u32(w), u32(h), Buffer.from([depth, colour, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    ...(plte ? [chunk("PLTE", plte)] : []),
    ...(trns ? [chunk("tRNS", trns)] : []),
    chunk("IDAT", deflateSync(filtered, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Samples (one value per channel, `depth` bits) → packed big-endian rows. */
function pack(values, w, h, channels, depth) {
  const rowBytes = Math.ceil((w * channels * depth) / 8);
  const rows = Buffer.alloc(rowBytes * h);
  for (let y = 0; y < h; y++)
    for (let i = 0; i < w * channels; i++) {
      const v = values[y * w * channels + i];
      if (depth === 16) rows.writeUInt16BE(v, y * rowBytes + i * 2);
      else if (depth === 8) rows[y * rowBytes + i] = v;
      else rows[y * rowBytes + ((i * depth) >> 3)] |= v << (8 - depth - ((i * depth) & 7));
    }
  return rows;
}

const take = (px, channels, f) => {
  const n = px.length / 4;
  const v = new Uint16Array(n * channels.length);
  for (let p = 0; p < n; p++) for (let j = 0; j < channels.length; j++) v[p * channels.length + j] = f(px, p * 4, channels[j]);
  return v;
};
const grey16 = (px, k) => Math.round(0.299 * px[k] + 0.587 * px[k + 1] + 0.114 * px[k + 2]);
// 16-bit values whose low byte carries information, so high byte, rescaling and clipping all differ.
const deep = (v, k) => (v & 0xff00) | ((k >> 2) & 0xff);

const files = [];
function writePng(name, w, h, seed, make) {
  const px = scene(w, h, seed);
  const spec = make(px, w, h);
  const bytes = png({ w, h, ...spec, rows: pack(spec.values, w, h, spec.channels, spec.depth) });
  writeFileSync(path.join(out, name), bytes);
  files.push([name, bytes.length]);
}
const pc = (px, w, h, channels, depth, colour, f) => ({
  values: take(px, channels, f),
  channels: channels.length,
  depth,
  colour,
  bpp: Math.max(1, (channels.length * depth) / 8),
});

writePng("rgb8.png", 1600, 1200, 1, (px, w, h) => pc(px, w, h, [0, 1, 2], 8, 2, (p, k, c) => p[k + c] >> 8));
writePng("rgb16.png", 1023, 1365, 2, (px, w, h) => pc(px, w, h, [0, 1, 2], 16, 2, (p, k, c) => deep(p[k + c], k + c)));
writePng("rgba8.png", 1279, 961, 3, (px, w, h) => pc(px, w, h, [0, 1, 2, 3], 8, 6, (p, k, c) => p[k + c] >> 8));
writePng("rgba16.png", 1280, 960, 4, (px, w, h) => pc(px, w, h, [0, 1, 2, 3], 16, 6, (p, k, c) => deep(p[k + c], k + c)));
writePng("grey8.png", 1600, 1200, 5, (px, w, h) => pc(px, w, h, [0], 8, 0, (p, k) => grey16(p, k) >> 8));
// PIL opens 16-bit grey as mode I and convert("RGB") clips at 255: most values here are below 1024.
writePng("grey16.png", 1600, 1200, 6, (px, w, h) => pc(px, w, h, [0], 16, 0, (p, k) => (grey16(p, k) >> 7) + ((k >> 2) % 3)));
writePng("grey4.png", 1200, 1600, 7, (px, w, h) => pc(px, w, h, [0], 4, 0, (p, k) => grey16(p, k) >> 12));
writePng("grey1.png", 1600, 1200, 8, (px, w, h) => pc(px, w, h, [0], 1, 0, (p, k) => grey16(p, k) >> 15));
writePng("greyalpha8.png", 1600, 1200, 9, (px, w, h) => pc(px, w, h, [0, 3], 8, 4, (p, k, c) => (c ? p[k + 3] : grey16(p, k)) >> 8));
writePng("greyalpha16.png", 1199, 1601, 10, (px, w, h) =>
  pc(px, w, h, [0, 3], 16, 4, (p, k, c) => deep(c ? p[k + 3] : grey16(p, k), k + c)),
);
writePng("grey8-trns.png", 1600, 1200, 11, (px, w, h) => ({
  ...pc(px, w, h, [0], 8, 0, (p, k) => grey16(p, k) >> 8),
  trns: Buffer.from([0, 128]),
}));
// A 6×6×6 colour cube as the palette (index = 36r + 6g + b).
const cube = Buffer.from(
  Array.from({ length: 216 }, (_, i) => [Math.floor(i / 36) * 51, (Math.floor(i / 6) % 6) * 51, (i % 6) * 51]).flat(),
);
const cubeIndex = (p, k) => Math.round(p[k] / 13107) * 36 + Math.round(p[k + 1] / 13107) * 6 + Math.round(p[k + 2] / 13107);
writePng("palette8.png", 1600, 1200, 12, (px, w, h) => ({ ...pc(px, w, h, [0], 8, 3, cubeIndex), plte: cube }));
writePng("palette8-trns.png", 1200, 1600, 13, (px, w, h) => ({
  ...pc(px, w, h, [0], 8, 3, cubeIndex),
  plte: cube,
  trns: Buffer.from(Array.from({ length: 216 }, (_, i) => (i * 97) & 255)),
}));
const small = Buffer.from(Array.from({ length: 16 }, (_, i) => [i * 17, 255 - i * 16, (i * 53) & 255]).flat());
writePng("palette4.png", 1600, 1200, 14, (px, w, h) => ({
  ...pc(px, w, h, [0], 4, 3, (p, k) => ((p[k] >> 14) << 2) | (p[k + 2] >> 14)),
  plte: small,
}));

/** An 8-bit RGB/grey/CMYK raw buffer from the scene, for sharp's JPEG encoder. */
async function writeJpeg(name, w, h, seed, kind, quality = 90) {
  const px = scene(w, h, seed);
  const n = w * h;
  const ch = kind === "grey" ? 1 : kind.startsWith("rgb") ? 3 : 4;
  const raw = Buffer.alloc(n * ch);
  for (let p = 0; p < n; p++) {
    const k = p * 4;
    if (kind === "grey") raw[p] = grey16(px, k) >> 8;
    else if (ch === 3) for (let c = 0; c < 3; c++) raw[p * 3 + c] = px[k + c] >> 8;
    else {
      // A CMYK separation with a real black channel, so PIL's naive CMYK→RGB has all four to work with.
      const [r, g, b] = [px[k] / 65535, px[k + 1] / 65535, px[k + 2] / 65535];
      const kk = 1 - Math.max(r, g, b);
      const cmy = [r, g, b].map((v) => (kk >= 1 ? 0 : (1 - v - kk) / (1 - kk)));
      for (let c = 0; c < 3; c++) raw[p * 4 + c] = Math.round(cmy[c] * 255);
      raw[p * 4 + 3] = Math.round(kk * 255);
    }
  }
  let img = sharp(raw, { raw: { width: w, height: h, channels: ch } });
  if (ch === 4) img = img.pipelineColourspace("cmyk").toColourspace("cmyk");
  else if (ch === 1) img = img.toColourspace("b-w");
  // A Display P3 profile and an EXIF rotation, both of which PIL ignores (no colour management, no rotation).
  else if (kind === "rgb-p3") img = img.withIccProfile("p3").withMetadata({ orientation: 6 });
  let bytes = await img.jpeg({ quality }).toBuffer();
  if (kind === "cmyk-noadobe") bytes = withoutMarker(bytes, 0xee);
  writeFileSync(path.join(out, name), bytes);
  files.push([name, bytes.length]);
}

/** The JPEG without its APPn segments of the given marker (0xEE: Adobe). */
function withoutMarker(jpg, marker) {
  const parts = [jpg.subarray(0, 2)];
  let i = 2;
  while (i < jpg.length && jpg[i] === 0xff && jpg[i + 1] !== 0xda) {
    const len = jpg.readUInt16BE(i + 2);
    if (jpg[i + 1] !== marker) parts.push(jpg.subarray(i, i + 2 + len));
    i += 2 + len;
  }
  parts.push(jpg.subarray(i));
  return Buffer.concat(parts);
}

await writeJpeg("rgb.jpg", 4032, 3024, 20, "rgb", 80);
await writeJpeg("rgb-portrait.jpg", 1200, 1600, 21, "rgb");
await writeJpeg("rgb-p3-rotated.jpg", 1600, 1200, 25, "rgb-p3");
await writeJpeg("grey.jpg", 1600, 1200, 22, "grey");
await writeJpeg("cmyk-adobe.jpg", 1600, 1200, 23, "cmyk");
await writeJpeg("cmyk-noadobe.jpg", 901, 1201, 24, "cmyk-noadobe");

for (const [f, n] of files) console.log(`${f.padEnd(20)} ${(n / 1024).toFixed(0).padStart(6)} KiB`);
console.log(`total ${(files.reduce((s, [, n]) => s + n, 0) / 2 ** 20).toFixed(2)} MiB in ${out}`);
