// `llavac check` on the 7B example as a fresh process (target: median ≤ 250 ms), paired in the same
// run with two peers: a bare `node` start, and importing unbundled chevrotain (the parser library),
// which is why the CLI ships as a bundle.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, machine, paired } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.env.RUNS ?? 21);
const node = process.execPath;
const [check, bare, chevrotain] = paired(
  [
    [node, ["bin/llavac.js", "check", "examples/llava-v1.5-7b/llava.llava"], { cwd: root }],
    [node, ["-e", "0"], { cwd: root }],
    [node, ["--input-type=module", "-e", "await import('chevrotain')"], { cwd: root }],
  ],
  runs,
);

console.log(`# llavac check startup (${runs} runs each, interleaved) on ${machine()}`);
console.log(
  `llavac check examples/llava-v1.5-7b/llava.llava   median ${fmt(check.median)}   (min ${fmt(check.min)}, max ${fmt(check.max)})   target ≤ 250 ms: ${check.median <= 250 ? "met" : "MISSED"}`,
);
console.log(
  `node -e 0 (bare start)                           median ${fmt(bare.median)}   → check costs ${(check.median / bare.median).toFixed(1)}× a bare node start`,
);
console.log(
  `import('chevrotain') unbundled                   median ${fmt(chevrotain.median)}   → ${(chevrotain.median - bare.median).toFixed(0)} ms just to load the parser library from node_modules`,
);
