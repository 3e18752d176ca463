// Image preparation for the runtime (decode → expand_to_square → bicubic resize 336 → center crop →
// normalize to float32 CHW): llavac's sharp pipeline against PIL + numpy on the same 200 JPEGs, in the
// same run (target: ≥ 2× PIL's images/s).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { register } from "tsx/esm/api";
import { machine } from "./lib.mjs";
import { rng } from "./synthetic-665k.mjs";

register();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { prepareImage } = await import(path.join(root, "runtime/data/images.ts"));
const count = Number(process.env.IMAGES ?? 200);
const concurrency = Number(process.env.CONCURRENCY ?? 16);
const dir = mkdtempSync(path.join(tmpdir(), "llavac-img-bench-"));
mkdirSync(dir, { recursive: true });
const r = rng(7);
const sizes = [
  [640, 480],
  [640, 427],
  [500, 375],
  [480, 640],
  [612, 612],
  [800, 600],
];
const files = [];
for (let i = 0; i < count; i++) {
  const [w, h] = sizes[i % sizes.length];
  // Smooth colour fields with noise: photo-like JPEGs rather than flat ones.
  const px = Buffer.alloc(w * h * 3);
  const [a, b, c] = [r() * 255, r() * 255, r() * 255];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const k = (y * w + x) * 3,
        n = (r() - 0.5) * 40;
      px[k] = Math.max(0, Math.min(255, (a * x) / w + n));
      px[k + 1] = Math.max(0, Math.min(255, (b * y) / h + n));
      px[k + 2] = Math.max(0, Math.min(255, c + n));
    }
  const f = path.join(dir, `${i}.jpg`);
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(f);
  files.push(f);
}
const T = [
  { kind: "expand_to_square", background: [122, 116, 104] },
  { kind: "resize", size: 336, interpolation: "bicubic" },
  { kind: "center_crop", size: 336 },
  { kind: "to_tensor" },
  { kind: "normalize", mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
];
async function llavac() {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < files.length) await prepareImage(files[next++], T);
    }),
  );
  return files.length / ((performance.now() - t0) / 1000);
}
const pil = () =>
  Number(execFileSync("/usr/bin/python3", [path.join(root, "tools/oracles/pil_prepare.py"), "bench", "336", ...files]).toString());
await llavac(); // warm-up
const runs = Number(process.env.RUNS ?? 5);
const ours = [],
  theirs = [];
for (let i = 0; i < runs; i++) {
  ours.push(await llavac());
  theirs.push(pil());
}
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(
  `# image preparation, ${count} JPEGs (640×480-class, photo-like), 336 px CLIP pipeline, ${runs} interleaved runs each, on ${machine()}`,
);
console.log(`llavac (sharp, ${concurrency} in flight)  ${med(ours).toFixed(0)} images/s`);
console.log(`PIL + numpy (one process)        ${med(theirs).toFixed(0)} images/s`);
const ratios = ours.map((o, i) => o / theirs[i]);
console.log(
  `ratio of medians ×${(med(ours) / med(theirs)).toFixed(2)}   (per run: ${ratios.map((r) => "×" + r.toFixed(2)).join(" ")})   target ≥ ×2: ${med(ours) / med(theirs) >= 2 ? "met" : "MISSED"}`,
);
