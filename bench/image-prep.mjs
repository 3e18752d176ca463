// Image preparation for the runtime (decode → expand_to_square → bicubic resize 336 → center crop → to_tensor
// → normalize to float32 CHW) on camera-sized JPEGs: llavac's pipeline as the training loader runs it (one
// thread, a batch of images in flight, sharp decoding on libuv's pool, resampling in WebAssembly) against the
// Cerebras reader's way, PIL + numpy in one Python process (as each of its data-loader workers does), on the
// same files in the same run. Before timing, the pixels of the first images are held against PIL's (they must
// be equal). Target: ≥ 3× PIL's images/s. IMAGES=200 RUNS=3 CONCURRENCY=8 by default. Each side's CPU time per
// image (all its threads: process.cpuUsage, Python's process_time) is printed too: on a shared machine it moves
// far less than images/s, and it says how much of the ratio is the second core.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
const concurrency = Number(process.env.CONCURRENCY ?? 8);
const runs = Number(process.env.RUNS ?? 3);
const dir = mkdtempSync(path.join(tmpdir(), "llavac-img-bench-"));
const r = rng(7);
// Phone and camera sizes, landscape and portrait; one in eight is a 12-megapixel 4032×3024.
const sizes = [
  [1600, 1200],
  [1200, 1600],
  [2048, 1536],
  [1920, 1080],
  [1536, 2048],
  [1600, 1200],
  [2592, 1944],
  [4032, 3024],
];
const files = [];
for (let i = 0; i < count; i++) {
  const [w, h] = sizes[i % sizes.length];
  // Smooth colour fields, edges and noise: photo-like JPEGs rather than flat ones.
  const px = Buffer.alloc(w * h * 3);
  const [a, b, c] = [r() * 255, r() * 255, r() * 255];
  const cx = r() * w,
    cy = r() * h,
    rad = (0.1 + r() * 0.3) * Math.min(w, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const k = (y * w + x) * 3,
        n = (r() - 0.5) * 30,
        inside = (x - cx) ** 2 + (y - cy) ** 2 < rad * rad;
      px[k] = Math.max(0, Math.min(255, (inside ? 255 - a : (a * x) / w) + n));
      px[k + 1] = Math.max(0, Math.min(255, (b * y) / h + n));
      px[k + 2] = Math.max(0, Math.min(255, (inside ? 40 : c) + n));
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

// Equal pixels first (before to_tensor), on one image of each size.
const check = files.slice(0, sizes.length);
execFileSync("/usr/bin/python3", [path.join(root, "tools/oracles/pil_prepare.py"), "dump", "336", dir, ...check]);
let maxDiff = 0,
  compared = 0;
for (const f of check) {
  const ours = await prepareImage(f, T.slice(0, 3));
  const pil = readFileSync(`${f}.raw`);
  const n = 336 * 336;
  for (let c = 0; c < 3; c++) for (let p = 0; p < n; p++) maxDiff = Math.max(maxDiff, Math.abs(ours.data[c * n + p] - pil[p * 3 + c]));
  compared += 3 * n;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
// Images/s and CPU ms per image of one pass over the files.
async function llavac() {
  const t0 = performance.now(),
    c0 = cpuMs();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < files.length) await prepareImage(files[next++], T);
    }),
  );
  return [files.length / ((performance.now() - t0) / 1000), (cpuMs() - c0) / files.length];
}
const pil = () =>
  execFileSync("/usr/bin/python3", [path.join(root, "tools/oracles/pil_prepare.py"), "bench", "336", ...files])
    .toString()
    .trim()
    .split(" ")
    .map(Number);
await llavac(); // warm-up
const ours = [],
  theirs = [];
for (let i = 0; i < runs; i++) {
  ours.push(await llavac());
  theirs.push(pil());
}
rmSync(dir, { recursive: true, force: true });
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const [ips, cpu] = [0, 1].map((k) => [ours.map((o) => o[k]), theirs.map((t) => t[k])]);
const ratio = med(ips[0]) / med(ips[1]);
const threads = process.env.UV_THREADPOOL_SIZE ?? 4;
console.log(
  `# image preparation, ${count} JPEGs (1600×1200 to 4032×3024), 336 px CLIP pipeline, ${runs} interleaved runs each, on ${machine()}`,
);
console.log(`pixels equal to PIL's: ${compared.toLocaleString("en")} compared on ${check.length} images, max difference ${maxDiff}`);
const per = (xs) => xs.map((x) => x.toFixed(1)).join(" ");
console.log(
  `llavac (one thread, ${concurrency} in flight; decoding on libuv's ${threads} threads, one libvips thread each)  ${med(ips[0]).toFixed(1)} images/s   CPU per image ${per(cpu[0])} ms`,
);
console.log(`PIL + numpy (one process, one thread)  ${med(ips[1]).toFixed(1)} images/s   CPU per image ${per(cpu[1])} ms`);
console.log(`CPU per image, PIL's over llavac's ×${(med(cpu[1]) / med(cpu[0])).toFixed(2)} (medians): the ratio with one core each`);
console.log(
  `ratio of medians ×${ratio.toFixed(2)}   (per run: ${ips[0].map((o, i) => `×${(o / ips[1][i]).toFixed(2)}`).join(" ")})   target ≥ ×3 while exact: ${ratio >= 3 && maxDiff === 0 ? "met" : "MISSED"}`,
);
