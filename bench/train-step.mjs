// One training step of a fixed small LLaVA (ViT 2×256 at 224/16, mlp2x_gelu, LLaMA 4×512, 8 heads, MSL
// 512, vocab 32,000; batch 4; phase-2 freezing) in llavac's runtime on each tfjs backend that loads
// (native tensorflow at 1 and 2 threads, whole batch in one piece; wasm, single-threaded, micro-batch 1
// because its heap is 32-bit) and in PyTorch CPU at 1 and 2 threads, in the same run, alternating; then
// one `tfjs / this = R×` line per backend against PyTorch at the same thread count, and the tiny example.
//   PYTHONS=/path/to/venv/bin/python node bench/train-step.mjs      (ROUNDS, STEPS, THREADS=1,2, BACKENDS=tensorflow,wasm, TINY=0 skips the tiny example)
// Targets (issue 10): native ≤ 1.0× PyTorch's step with peak RSS ≤ 1.3×; wasm ≤ 4×.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { machine, summarise } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pythons = (process.env.PYTHONS ?? "python3").split(",").filter(Boolean);
const rounds = Number(process.env.ROUNDS ?? 2);
const steps = process.env.STEPS ?? "3";
const threadCounts = (process.env.THREADS ?? "1,2").split(",").map(Number);

const runJson = (cmd, args, env = {}) =>
  JSON.parse(
    execFileSync(cmd, args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2", ...env },
    })
      .trim()
      .split("\n")
      .pop(),
  );
const loads = (backend) =>
  spawnSync(
    process.execPath,
    ["--input-type=module", "-e", `import { selectBackend } from "./dist/runtime.js"; await selectBackend(${JSON.stringify(backend)});`],
    { cwd: root, stdio: "ignore", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } },
  ).status === 0;

const backends = (process.env.BACKENDS ?? "tensorflow,wasm")
  .split(",")
  .filter(
    (b) =>
      loads(b) ||
      (console.log(`  ${b}: does not load here (skipped)${b === "tensorflow" ? "; llavac backend install builds it" : ""}`), false),
  );
const torchOk = pythons.filter((py) => spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0);
for (const py of pythons) if (!torchOk.includes(py)) console.log(`  ${py}: no PyTorch here (skipped); set PYTHONS to Pythons that have it`);

const loadAtStart = loadavg();
const results = new Map();
const add = (key, r) => {
  const e = results.get(key) ?? { ...r, runs: [] };
  e.runs.push(r.step_s);
  e.cpu = [...(e.cpu ?? []), r.step_cpu_s];
  e.peak_rss_mib = Math.max(e.peak_rss_mib, r.peak_rss_mib);
  results.set(key, e);
};
const threadEnv = (n) => ({ TF_NUM_INTRAOP_THREADS: String(n), TF_NUM_INTEROP_THREADS: "1", OMP_NUM_THREADS: String(n) });
for (let i = 0; i < rounds; i++) {
  for (const n of threadCounts) {
    if (backends.includes("tensorflow"))
      add(
        `tensorflow/${n}`,
        runJson(process.execPath, [path.join(root, "bench/train-step-tfjs.mjs"), steps, "1", "4", "tensorflow"], threadEnv(n)),
      );
    if (backends.includes("wasm") && n === 1)
      add(`wasm/1`, runJson(process.execPath, [path.join(root, "bench/train-step-tfjs.mjs"), steps, "1", "1", "wasm"]));
    for (const py of torchOk)
      add(
        `${py}/${n}`,
        runJson(
          py,
          [path.join(root, "tools/bench/torch_step.py"), "--steps", steps, "--warmup", "1", "--threads", String(n)],
          threadEnv(n),
        ),
      );
  }
}
const median = (xs) => summarise(xs).median; // of two runs, their mean
console.log(`training step · ViT 2×256 (224/16) + mlp2x_gelu + LLaMA 4×512 (8 heads, MSL 512, vocab 32,000) · batch 4 · phase-2 freezing`);
console.log(machine());
console.log(
  `  load average (1, 5, 15 min) at the start ${loadAtStart.map((x) => x.toFixed(1)).join(", ")}, at the end ${loadavg()
    .map((x) => x.toFixed(1))
    .join(", ")}`,
);
for (const r of results.values()) {
  console.log(
    `  ${r.framework.padEnd(22)} ${String(r.threads).padStart(2)} thread(s)${r.micro_batch ? `, micro-batch ${r.micro_batch}` : ""}  step ${median(r.runs).toFixed(2)} s (runs: ${r.runs.map((x) => x.toFixed(2)).join(", ")}; CPU ${r.cpu.map((x) => x.toFixed(2)).join(", ")})  peak RSS ${r.peak_rss_mib.toFixed(0)} MiB`,
  );
}
// One line per backend and thread count, against the first PyTorch (the headline: PyTorch 2.x) at the same threads.
for (const key of results.keys()) {
  const [b, n] = key.split("/");
  if (!backends.includes(b)) continue;
  const t = results.get(key),
    ref = torchOk.map((py) => results.get(`${py}/${n}`)).find(Boolean);
  if (!ref) continue;
  console.log(
    `  tfjs ${b} vs ${ref.framework}, ${n} thread(s): tfjs / this = ${(median(t.runs) / median(ref.runs)).toFixed(2)}× step time, ${(t.peak_rss_mib / ref.peak_rss_mib).toFixed(2)}× peak RSS, ${(median(t.cpu) / median(ref.cpu)).toFixed(2)}× CPU time`,
  );
}

// The tiny example: both phases, a few steps each, real data pipeline, on the backend llavac picks.
if (process.env.TINY === "0") process.exit(0);
const out = mkdtempSync(path.join(tmpdir(), "llavac-bench-tiny-"));
const t0 = performance.now();
execFileSync(process.execPath, [path.join(root, "bin/llavac.js"), "run", "examples/tiny-shapes/tiny.llava", "-o", out, "--steps", "30"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, CI: "1", TF_CPP_MIN_LOG_LEVEL: "2", LLAVAC_TINY_DATA: path.join(out, "data") },
});
for (const phase of ["pretrain", "finetune"]) {
  const r = JSON.parse(readFileSync(path.join(out, phase, "run.json"), "utf8"));
  console.log(
    `  tiny example, ${phase}: ${Math.round(r.tokensPerSecond).toLocaleString("en")} tokens/s on ${r.backend.backend} (${r.taken} steps)`,
  );
}
console.log(`  tiny example, both phases (30 steps each, data preparation included): ${((performance.now() - t0) / 1000).toFixed(0)} s`);
