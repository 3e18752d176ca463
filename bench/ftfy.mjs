// Text normalisation speed: llavac's fixText against Python's ftfy on the same strings, in the same run.
// Two sets: the 24,000 strings of the ftfy differential test (mostly broken text: mojibake, entities,
// controls), and 24,000 caption-like strings as LLaVA data has them (clean English, a few curly quotes and
// accents). Python is timed inside its own process (fix_text calls only). Its interpreter: FTFY_PYTHON, else
// .oracles/bin/python, else python3 (with ftfy importable; PYTHONPATH may point at another release).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";
import { machine } from "./lib.mjs";

register();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { fixText } = await import(path.join(root, "runtime/text/ftfy.ts"));
const { ftfyCases } = await import(path.join(root, "test/ftfy-cases.ts"));

const N = Number(process.env.STRINGS ?? 24_000);
const broken = ftfyCases(N, 99);
let s = 7;
const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
const words =
  "a man woman dog cat riding sitting on the next to of with red blue small large street table bus train image photo shows two people".split(
    " ",
  );
const extra = ["\u201cquoted\u201d", "caf\u00e9", "it\u2019s", "na\u00efve", "\u2014", "&amp;"];
const captions = Array.from({ length: N }, () => {
  const n = 6 + Math.floor(r() * 14);
  const w = Array.from({ length: n }, () => (r() < 0.03 ? extra[Math.floor(r() * extra.length)] : words[Math.floor(r() * words.length)]));
  return `${w.join(" ")}.`;
});

function jsRate(strings, version) {
  const opts = { version };
  for (const x of strings.slice(0, 2000)) fixText(x, opts); // warm up
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = process.hrtime.bigint();
    for (const x of strings) fixText(x, opts);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return strings.length / best;
}

const candidates = [process.env.FTFY_PYTHON, path.join(root, ".oracles/bin/python"), "python3"].filter(Boolean);
const python = candidates.find((p) => (!p.includes("/") || existsSync(p)) && spawnSync(p, ["-c", "import ftfy"]).status === 0);
const PY = `
import ftfy, json, sys, time
data = json.loads(sys.stdin.read())
out = {"version": ftfy.__version__}
for name, xs in data.items():
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        for x in xs: ftfy.fix_text(x)
        best = min(best, time.perf_counter() - t0)
    out[name] = len(xs) / best
print(json.dumps(out))
`;
const py = python
  ? JSON.parse(execFileSync(python, ["-c", PY], { input: JSON.stringify({ broken, captions }), maxBuffer: 1 << 28 }).toString())
  : undefined;

console.log(`ftfy fix_text, strings/s (best of 3) — ${machine()}`);
for (const [name, xs] of [
  ["broken (differential-test strings)", broken],
  ["captions (clean, LLaVA-like)", captions],
]) {
  const js = jsRate(xs, py?.version === "6.3.1" ? "6.3.1" : "6.1.1");
  const key = name.startsWith("broken") ? "broken" : "captions";
  const p = py?.[key];
  console.log(
    `  ${name.padEnd(36)} llavac ${Math.round(js).toLocaleString("en-US").padStart(10)}` +
      (p
        ? `   Python ftfy ${py.version} ${Math.round(p).toLocaleString("en-US").padStart(9)}   ${(js / p).toFixed(1)}×`
        : "   (no Python with ftfy)"),
  );
}
