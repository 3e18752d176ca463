// `llavac data hdf5` (1 and 2 workers) against the real Cerebras Model Zoo 2.2.1 writer
// (create_hdf5_dataset.py LlavaPhaseTwo, one process) on the same synthetic LLaVA-665K-like data, in the
// same run: phase 2 (vicuna_v1), MSL 2048, 576 image slots, use_ftfy on, the same tokenizer.model (LLaMA-2,
// rebuilt from the embedded vocabulary, <unk> pad). Whole commands are timed, start-up included.
//
//   CEREBRAS_MODELZOO=<src/ of a Release_2.2.1 checkout> CEREBRAS_PYTHON=<python with its dependencies>
//   FTFY_SRC=<ftfy 6.1.1 source> node bench/hdf5-vs-cerebras.mjs
//
// See tools/oracles/cerebras_writer.py for the Python environment; without CEREBRAS_MODELZOO only llavac runs.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, machine, summarise, timeProcess } from "./lib.mjs";
import { syntheticDataset } from "./synthetic-665k.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const samples = Number(process.env.SAMPLES ?? 12000);
const runs = Number(process.env.RUNS ?? 3);
const modelzoo = process.env.CEREBRAS_MODELZOO;
const python = process.env.CEREBRAS_PYTHON ?? "python3";
const dir = mkdtempSync(path.join(tmpdir(), "llavac-vs-cerebras-"));
await syntheticDataset(dir, samples, { modelKey: true });

// The tokenizer folders of the writer-equality fixture (tokenizer.model from the embedded vocabulary).
const maker = path.join(dir, "make-tokenizers.mts");
writeFileSync(
  maker,
  `import { writeWriterTokenizers } from ${JSON.stringify(path.join(root, "test/writer-fixture.ts"))};\nawait writeWriterTokenizers(process.argv[2]!);\n`,
);
const made = spawnSync(path.join(root, "node_modules/.bin/tsx"), [maker, path.join(dir, "tok")], { stdio: "inherit" });
if (made.status !== 0) throw new Error("could not write the tokenizer folders");

writeFileSync(
  path.join(dir, "spec.llava"),
  `import { clip_vit_l14_336 } from "std/vision"
import { vicuna_7b_v1_5 } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { vicuna_v1 } from "std/templates"
model m { vision = clip_vit_l14_336, projector = mlp2x_gelu,
  language = vicuna_7b_v1_5 { max_position_embeddings: 2048, tokenizer: tokenizer { model: "tok/padded/tokenizer.model", huggingface: "NousResearch/Llama-2-7b-hf" } } }
dataset mix { format: llava_jsonl, samples: ${samples}, jsonl: "jsonl" }
phase finetune { model = m, data = mix, template = vicuna_v1, images = "images", hdf5 = "shuffled",
  preprocess = hdf5_writer { output: "h5" }, freeze = [/^image_model/], batch = 128 per step,
  optimizer = adamw { lr: 2e-5 }, schedule = warmup_cosine {} }
`,
);
const bin = path.join(root, "bin/llavac.js");
const cerebras = () => {
  const r = spawnSync(
    python,
    [
      path.join(root, "tools/oracles/cerebras_writer.py"),
      "bench",
      "--modelzoo",
      modelzoo,
      "--tokenizers",
      path.join(dir, "tok"),
      "--input",
      path.join(dir, "jsonl"),
      "--images",
      path.join(dir, "images"),
      "--phase",
      "2",
      "--msl",
      "2048",
      "--patches",
      "576",
    ],
    { encoding: "utf8" },
  );
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  if (r.status !== 0 || out.exit_code !== 0) throw new Error(`the Cerebras writer failed: ${out.error ?? r.stderr.slice(-2000)}`);
  if (out.processed !== samples) throw new Error(`the Cerebras writer processed ${out.processed} of ${samples}`);
  return out.seconds * 1000;
};
const withCerebras = modelzoo !== undefined && existsSync(modelzoo);
const times = { 1: [], 2: [], cerebras: [] };
for (let i = 0; i < runs; i++) {
  for (const w of [1, 2]) {
    rmSync(path.join(dir, "h5"), { recursive: true, force: true });
    times[w].push(timeProcess(process.execPath, [bin, "data", "hdf5", "spec.llava", "--workers", String(w)], { cwd: dir }));
  }
  if (withCerebras) times.cerebras.push(cerebras());
}
const rate = (ms) => Math.round(samples / (ms / 1000));
const s1 = summarise(times[1]),
  s2 = summarise(times[2]);
console.log(
  `# data hdf5 vs the Cerebras 2.2.1 writer: ${samples.toLocaleString("en-US")} synthetic conversations (~300 words, 2–6 turns, 15/16 with an image), phase 2, MSL 2048, use_ftfy, ${runs} runs each (interleaved), on ${machine()}`,
);
console.log(`llavac, 1 worker    median ${fmt(s1.median)}  → ${rate(s1.median).toLocaleString("en-US")} samples/s`);
console.log(`llavac, 2 workers   median ${fmt(s2.median)}  → ${rate(s2.median).toLocaleString("en-US")} samples/s`);
if (withCerebras) {
  const sc = summarise(times.cerebras);
  console.log(`Cerebras, 1 process median ${fmt(sc.median)}  → ${rate(sc.median).toLocaleString("en-US")} samples/s`);
  console.log(
    `ratio: llavac 1 worker ×${(sc.median / s1.median).toFixed(2)}, 2 workers ×${(sc.median / s2.median).toFixed(2)} the Cerebras writer's samples/s`,
  );
} else
  console.log(
    "Cerebras writer: skipped (set CEREBRAS_MODELZOO to the src/ folder of a Release_2.2.1 checkout and CEREBRAS_PYTHON; see tools/oracles/cerebras_writer.py)",
  );
rmSync(dir, { recursive: true, force: true });
