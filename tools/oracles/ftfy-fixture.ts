// Writes test/fixtures/ftfy/ftfy-6.1.1.jsonl.gz: the test strings and what the real ftfy 6.1.1 (the release
// the Cerebras 2.2.1 writer pins) makes of them. Run once, with ftfy 6.1.1 importable by FTFY_PYTHON:
//   FTFY_PYTHON=/tmp/venv/bin/python PYTHONPATH=/path/to/ftfy-6.1.1 npx tsx tools/oracles/ftfy-fixture.ts
// Each line is [input, output]; the first is {"ftfy": "6.1.1", "seed": …, "count": …}.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { ftfyCases } from "../../test/ftfy-cases.js";

const ROOT = path.join(import.meta.dirname, "..", "..");
const SEED = 20240601;
const COUNT = 24_000;
const python = process.env.FTFY_PYTHON ?? "python3";
const cases = ftfyCases(COUNT, SEED);
const stdout = execFileSync(python, [path.join(ROOT, "tools/oracles/ftfy_fix.py")], {
  input: cases.map((s) => JSON.stringify(s)).join("\n") + "\n",
  maxBuffer: 1 << 30,
}).toString("utf8");
const [head, ...outs] = stdout.trimEnd().split("\n");
const version = JSON.parse(head!).ftfy;
if (version !== "6.1.1") throw new Error(`ftfy ${version} on the path, not 6.1.1`);
if (outs.length !== cases.length) throw new Error(`${outs.length} outputs for ${cases.length} inputs`);
const lines = [JSON.stringify({ ftfy: version, seed: SEED, count: COUNT })];
for (let i = 0; i < cases.length; i++) lines.push(JSON.stringify([cases[i], JSON.parse(outs[i]!)]));
const file = path.join(ROOT, "test/fixtures/ftfy/ftfy-6.1.1.jsonl.gz");
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, gzipSync(lines.join("\n") + "\n", { level: 9 }));
console.log(`${file}: ${cases.length} strings from ftfy ${version}`);
