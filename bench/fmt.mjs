// `llavac fmt` on generated specs of 5k declarations (bench/gen-spec.mjs), spaced at random first so that
// every line changes: the whole command (`fmt --check`, start-up included) and formatSource in-process.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateSpec } from "./gen-spec.mjs";
import { fmt, machine, paired, summarise } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.env.RUNS ?? 5);
const n = Number(process.env.DECLS ?? 5000);
const dir = mkdtempSync(path.join(tmpdir(), "llavac-fmt-bench-"));
// Deterministic mess: extra spaces after `=`, `,` and `{`, indentation of 4.
const messy = generateSpec(n)
  .replace(/ = /g, " =  ")
  .replace(/, /g, " ,")
  .replace(/\n {2}/g, "\n    ");
const file = path.join(dir, "spec.llava");
writeFileSync(file, messy);
const { formatSource } = await import(path.join(root, "dist/index.js"));
const formatted = formatSource(messy, file);
if (formatSource(formatted, file) !== formatted) throw new Error("fmt is not idempotent on the generated spec");
// CPU time as well as wall time: a loaded machine stretches the wall clock far more than the CPU time.
const inProcess = [],
  cpu = [];
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint(),
    c0 = process.cpuUsage();
  formatSource(messy, file);
  inProcess.push(Number(process.hrtime.bigint() - t0) / 1e6);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
const [cli, start] = paired(
  [
    [process.execPath, [path.join(root, "bin/llavac.js"), "fmt", "--check", file], { cwd: dir, allowFailure: true }],
    [process.execPath, [path.join(root, "bin/llavac.js"), "--version"], { cwd: dir }],
  ],
  runs,
);
const lines = messy.split("\n").length - 1;
const lib = summarise(inProcess);
console.log(
  `# llavac fmt on ${n.toLocaleString("en-US")} declarations (${lines.toLocaleString("en-US")} lines, ${(messy.length / 1024).toFixed(0)} KiB; ${runs} runs) on ${machine()}`,
);
console.log(
  `formatSource (in-process)   median ${fmt(lib.median).padStart(8)}  min ${fmt(lib.min)}  (${((lines / lib.median) * 1000).toFixed(0)} lines/s)`,
);
console.log(`formatSource CPU time         median ${fmt(summarise(cpu).median).padStart(8)}`);
console.log(`llavac fmt --check (process) median ${fmt(cli.median).padStart(8)}  min ${fmt(cli.min)}`);
console.log(`llavac --version (start-up)  median ${fmt(start.median).padStart(8)}`);
