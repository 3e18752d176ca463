// Phase-2 HDF5 generation (`llavac data hdf5`) on synthetic LLaVA-665K-like conversations, with 1 and
// 2 workers in the same run (target: ≥ 3,000 samples/s with 2 workers). MSL 2048, 576 image slots.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, machine, summarise, timeProcess } from "./lib.mjs";
import { syntheticDataset } from "./synthetic-665k.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const samples = Number(process.env.SAMPLES ?? 24000);
const runs = Number(process.env.RUNS ?? 3);
const dir = mkdtempSync(path.join(tmpdir(), "llavac-hdf5-bench-"));
await syntheticDataset(dir, samples);
writeFileSync(
  path.join(dir, "spec.llava"),
  `import { clip_vit_l14_336 } from "std/vision"
import { vicuna_7b_v1_5 } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { vicuna_v1 } from "std/templates"
model m { vision = clip_vit_l14_336, projector = mlp2x_gelu, language = vicuna_7b_v1_5 { max_position_embeddings: 2048 } }
dataset mix { format: llava_jsonl, samples: ${samples}, jsonl: "jsonl" }
phase finetune { model = m, data = mix, template = vicuna_v1, images = "images", hdf5 = "shuffled",
  preprocess = hdf5_writer { output: "h5" }, freeze = [/^image_model/], batch = 128 per step,
  optimizer = adamw { lr: 2e-5 }, schedule = warmup_cosine {} }
`,
);
const bin = path.join(root, "bin/llavac.js");
const times = { 1: [], 2: [] };
for (let i = 0; i < runs; i++) {
  for (const w of [1, 2]) {
    rmSync(path.join(dir, "h5"), { recursive: true, force: true });
    times[w].push(timeProcess(process.execPath, [bin, "data", "hdf5", "spec.llava", "--workers", String(w)], { cwd: dir }));
  }
}
const start = timeProcess(process.execPath, [bin, "check", "spec.llava", "--format", "json"], { cwd: dir, allowFailure: true });
const s1 = summarise(times[1]),
  s2 = summarise(times[2]);
const rate = (ms) => Math.round(samples / (ms / 1000));
console.log(
  `# llavac data hdf5, ${samples.toLocaleString("en-US")} synthetic conversations (~300 words, 2–6 turns, 15/16 with an image), MSL 2048, ${runs} runs each, on ${machine()}`,
);
console.log(
  `1 worker   median ${fmt(s1.median)}  → ${rate(s1.median).toLocaleString("en-US")} samples/s (whole command, start-up included)`,
);
console.log(
  `2 workers  median ${fmt(s2.median)}  → ${rate(s2.median).toLocaleString("en-US")} samples/s   target ≥ 3,000: ${rate(s2.median) >= 3000 ? "met" : "MISSED"}`,
);
console.log(`scaling 1 → 2 workers: ×${(s1.median / s2.median).toFixed(2)}   (start-up of the CLI with the spec: ${fmt(start)})`);
