// One training step of a fixed small LLaVA (ViT 2×256 at 224/16, mlp2x_gelu, LLaMA 4×512, 8 heads, MSL
// 512, vocab 32,000; batch 4; phase-2 freezing), in llavac's runtime (best available tfjs backend) and in
// PyTorch CPU, in the same run, alternating, plus the tiny example's tokens/s.
//   PYTHONS=/usr/bin/python3,/path/to/venv/bin/python node bench/train-step.mjs
// Target (issue §8): the tfjs step ≤ 1.5× PyTorch's.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { machine } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pythons = (process.env.PYTHONS ?? "python3").split(",").filter(Boolean);
const rounds = Number(process.env.ROUNDS ?? 2);
const steps = process.env.STEPS ?? "3";

const runJson = (cmd, args) => JSON.parse(execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop());
const results = new Map();
const add = (r) => {
  const e = results.get(r.framework) ?? { ...r, runs: [] };
  e.runs.push(r.step_s);
  e.peak_rss_mib = Math.max(e.peak_rss_mib, r.peak_rss_mib);
  results.set(r.framework, e);
};
for (let i = 0; i < rounds; i++) {
  add(runJson(process.execPath, [path.join(root, "bench/train-step-tfjs.mjs"), steps, "1", "1"]));
  for (const py of pythons) {
    try {
      add(runJson(py, [path.join(root, "tools/bench/torch_step.py"), "--steps", steps, "--warmup", "1"]));
    } catch {
      console.log(`  ${py}: no PyTorch here (skipped); set PYTHONS to Pythons that have it`);
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`training step · ViT 2×256 (224/16) + mlp2x_gelu + LLaMA 4×512 (8 heads, MSL 512, vocab 32,000) · batch 4 · phase-2 freezing`);
console.log(machine());
const tfjs = [...results.values()].find((r) => r.framework.startsWith("tfjs"));
for (const r of results.values()) {
  const s = median(r.runs);
  const ratio = r === tfjs ? "" : `  tfjs / this = ${(median(tfjs.runs) / s).toFixed(2)}×`;
  console.log(`  ${r.framework.padEnd(22)} ${String(r.threads).padStart(2)} thread(s)${r.micro_batch ? `, micro-batch ${r.micro_batch}` : ""}  step ${s.toFixed(2)} s (runs: ${r.runs.map((x) => x.toFixed(2)).join(", ")})  peak RSS ${r.peak_rss_mib.toFixed(0)} MiB${ratio}`);
}

// The tiny example: both phases, a few steps each, real data pipeline.
const out = mkdtempSync(path.join(tmpdir(), "llavac-bench-tiny-"));
execFileSync(process.execPath, [path.join(root, "bin/llavac.js"), "run", "examples/tiny-shapes/tiny.llava", "-o", out, "--steps", "30"], {
  cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, CI: "1", LLAVAC_TINY_DATA: path.join(out, "data") },
});
for (const phase of ["pretrain", "finetune"]) {
  const r = JSON.parse(readFileSync(path.join(out, phase, "run.json"), "utf8"));
  console.log(`  tiny example, ${phase}: ${Math.round(r.tokensPerSecond).toLocaleString("en")} tokens/s on ${r.backend.backend} (${r.taken} steps)`);
}
