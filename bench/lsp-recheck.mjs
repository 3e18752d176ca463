// The language server's re-check time after an edit (issue 12, target: median ≤ 50 ms on the 7B example).
// Drives `llavac lsp` over stdio as an editor does: opens examples/llava-v1.5-7b/llava.llava, then plays an
// edit script (one-character incremental edits: change a learning rate, a batch, a warm-up, add and remove
// a comment), and times each didChange until the server publishes that version's diagnostics.
//   node bench/lsp-recheck.mjs [rounds]   (default 10 rounds of the script; the first open is not counted)
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-languageserver/node";
import { machine, summarise } from "./lib.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const file = path.join(ROOT, "examples/llava-v1.5-7b/llava.llava");
const uri = pathToFileURL(file).href;
const rounds = Number(process.argv[2] ?? 10);

// BENCH_NODE_ARGS: options for the server process (e.g. `--cpu-prof` to see where a re-check goes).
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, "bin/llavac.js"), "lsp"], {
  cwd: ROOT,
  stdio: ["pipe", "pipe", "inherit"],
});
const rpc = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
const waiting = new Map();
const completing = new Map();
rpc.onNotification("textDocument/publishDiagnostics", (p) => {
  if (p.uri !== uri) return;
  waiting.get(p.version)?.(p);
  waiting.delete(p.version);
});
// The server's own note that a version's diagnostics are complete (after emission and the schemas).
rpc.onNotification("llavac/checked", (p) => {
  if (p.uri !== uri) return;
  completing.get(p.version)?.(p);
  completing.delete(p.version);
});
rpc.listen();
await rpc.sendRequest("initialize", { processId: process.pid, rootUri: pathToFileURL(ROOT).href, capabilities: {} });
rpc.sendNotification("initialized", {});

let text = readFileSync(file, "utf8");
let version = 1;
const published = (v) => new Promise((resolve) => waiting.set(v, resolve));
const complete = (v) => new Promise((resolve) => completing.set(v, resolve));
const t0 = performance.now();
const first = published(1);
rpc.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "llava", version, text } });
await first;
const openMs = performance.now() - t0;

const posOf = (offset) => {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length - 1, character: before[before.length - 1].length };
};
/** Replace `length` characters at the first occurrence of `needle` (+ delta) with `insert`, as an incremental change. */
async function change(needle, delta, length, insert) {
  const at = text.indexOf(needle) + delta;
  if (at < delta) throw new Error(`edit script: ${needle} not found`);
  const range = { start: posOf(at), end: posOf(at + length) };
  text = text.slice(0, at) + insert + text.slice(at + length);
  version++;
  const done = published(version);
  const all = complete(version);
  const t = performance.now();
  rpc.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges: [{ range, text: insert }] });
  const p = await done;
  const ms = performance.now() - t;
  const note = await all;
  return {
    ms,
    fullMs: performance.now() - t,
    cpu: note.checksCpuMs,
    fullCpu: note.totalCpuMs,
    errors: p.diagnostics.filter((d) => d.severity === 1).length,
  };
}

// Each step and its inverse, so every round starts from the example as written.
const script = [
  ["lr: 1e-3", 4, 1, "2"], // lr: 2e-3
  ["lr: 2e-3", 4, 1, "1"],
  ["220 per step", 0, 3, "230"], // a batch that no longer divides evenly
  ["230 per step", 0, 3, "220"],
  ["warmup: 3%", 9, 1, ""], // `3` without its unit: an error
  ["warmup: 3,", 9, 0, "%"],
  ["let data_root", 0, 0, "// a comment\n"],
  ["// a comment\n", 0, 13, ""],
];
const times = [];
const fullTimes = [];
const cpuTimes = [];
const fullCpuTimes = [];
let errorsSeen = 0;
for (let r = 0; r < rounds; r++)
  for (const step of script) {
    const { ms, fullMs, cpu, fullCpu, errors } = await change(...step);
    cpuTimes.push(cpu);
    fullCpuTimes.push(fullCpu);
    times.push(ms);
    fullTimes.push(fullMs);
    errorsSeen += errors;
  }

await rpc.sendRequest("shutdown");
rpc.sendNotification("exit");
const s = summarise(times);
console.log(`machine: ${machine()}`);
console.log(`first check on open: ${openMs.toFixed(0)} ms`);
const f = summarise(fullTimes);
console.log(
  `re-check after an edit (${s.n} edits), until its diagnostics are published: median ${s.median.toFixed(1)} ms, min ${s.min.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`,
);
console.log(
  `  and until emission and the release's schemas are done too: median ${f.median.toFixed(1)} ms, min ${f.min.toFixed(1)} ms, max ${f.max.toFixed(1)} ms`,
);
const c = summarise(cpuTimes),
  fc = summarise(fullCpuTimes);
// On a loaded machine the wall times measure the queue for a core; the server's CPU time does not.
console.log(
  `server CPU time per re-check: checks median ${c.median.toFixed(1)} ms (min ${c.min.toFixed(1)}), with emission median ${fc.median.toFixed(1)} ms (min ${fc.min.toFixed(1)})`,
);
console.log(`(edits that produced an error: ${errorsSeen > 0 ? "yes, as the script intends" : "none: the script is broken"})`);
