// Small helpers for the benchmarks: time whole processes, summarise, describe the machine.
import { spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";

/** Wall time of one fresh process, in milliseconds. */
export function timeProcess(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "ignore"], ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !opts.allowFailure) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return ms;
}

export function summarise(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { min: s[0], median, max: s[s.length - 1], n: s.length };
}

/** Interleave runs of several commands so machine noise hits them alike. */
export function paired(commands, runs) {
  const times = commands.map(() => []);
  for (let i = 0; i < runs; i++) commands.forEach(([cmd, args, opts], j) => times[j].push(timeProcess(cmd, args, opts)));
  return times.map(summarise);
}

export function machine() {
  const c = cpus();
  return `${c[0]?.model ?? "unknown CPU"}, ${c.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export const fmt = (ms) => `${ms.toFixed(0)} ms`;
