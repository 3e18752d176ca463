// `llavac check --data` on a synthetic LLaVA-665K-like jsonl (bench/synthetic-665k.mjs: ~300 words over 2–6
// turns, 15/16 with an image), MSL 2048, images by header only (their 20 files repeat, so after the first
// records the image checks are cache hits: this measures the text path). Target: ≥ 50,000 records/s.
// Prints the records/s the command reports for its data pass (wall time, and per CPU-second of the
// process, its worker threads included, which a loaded machine distorts less), the whole command's time,
// and the machine's load average.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { machine } from "./lib.mjs";
import { syntheticDataset } from "./synthetic-665k.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const records = Number(process.env.RECORDS ?? 200_000);
const runs = Number(process.env.RUNS ?? 3);
const dir = mkdtempSync(path.join(tmpdir(), "llavac-check-data-bench-"));
await syntheticDataset(dir, records);
writeFileSync(
  path.join(dir, "spec.llava"),
  `import { clip_vit_l14_336 } from "std/vision"
import { vicuna_7b_v1_5 } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { vicuna_v1 } from "std/templates"
model m { vision = clip_vit_l14_336, projector = mlp2x_gelu, language = vicuna_7b_v1_5 { max_position_embeddings: 2048 } }
dataset mix { format: llava_jsonl, samples: ${records}, jsonl: "jsonl" }
phase finetune { model = m, data = mix, template = vicuna_v1, images = "images", hdf5 = "shuffled",
  preprocess = hdf5_writer { output: "h5" }, freeze = [/^image_model/], batch = 128 per step,
  optimizer = adamw { lr: 2e-5 }, schedule = warmup_cosine {} }
`,
);
const rows = [];
const load0 = loadavg()[0];
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(root, "bin/llavac.js"), "check", "spec.llava", "--data", "--format", "json"], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const d = JSON.parse(r.stdout).data[0];
  if (d.checked !== records) throw new Error(`checked ${d.checked} of ${records}`);
  rows.push({ wall, seconds: d.seconds, cpu: d.cpu_seconds, threads: d.threads });
}
rmSync(dir, { recursive: true, force: true });
rows.sort((a, b) => a.seconds - b.seconds);
const med = rows[Math.floor(rows.length / 2)];
const k = (x) => Math.round(x).toLocaleString("en-US");
console.log(
  `# llavac check --data, ${records.toLocaleString("en-US")} synthetic LLaVA-665K-like records, MSL 2048, ${runs} runs, on ${machine()}`,
);
console.log(
  `data pass: median ${med.seconds.toFixed(2)} s → ${k(records / med.seconds)} records/s wall, ${k(records / med.cpu)} records per CPU-second   target ≥ 50,000: ${records / med.seconds >= 50_000 ? "met" : "MISSED"} (wall)`,
);
console.log(
  `whole command (start-up, spec, tokenizer, data): median ${rows
    .map((r) => r.wall)
    .sort((a, b) => a - b)
    [Math.floor(rows.length / 2)].toFixed(2)} s`,
);
// How the batches were shared (this thread first, then each worker): on 2 cores both should take a part.
if (med.threads) console.log(`batches checked per thread (this one, then the workers), median run: ${med.threads.join(", ")}`);
// The machine may be shared: its load says how far the wall figure is from an idle machine's.
console.log(`load average (1 min) at the start ${load0.toFixed(1)}, at the end ${loadavg()[0].toFixed(1)}`);
