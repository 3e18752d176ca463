// The tokenizer.json fixtures (test/fixtures/tokjson, made by tools/tokjson/gen_fixtures.py with the Python
// `tokenizers` and `transformers` packages) and the ids they computed, shared by the differential tests.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { expect } from "vitest";
import { loadJsonTokenizer } from "../runtime/text/hf-tokenizer.js";
import { oraclePython } from "./oracle-python.js";

export const TOKJSON = path.join(import.meta.dirname, "fixtures", "tokjson");

interface Strings {
  strings: string[];
  ids: Record<string, number[][]>;
  with_special: Record<string, number[][]>;
}
let cached: Strings | undefined;
export function strings(): Strings {
  cached ??= JSON.parse(gunzipSync(readFileSync(path.join(TOKJSON, "strings.json.gz"))).toString("utf8")) as Strings;
  return cached;
}

/** Every committed string, encoded here, against the ids `tokenizers` gave: the count that agrees, and the first misses. */
export async function agreement(name: string): Promise<{ agree: number; total: number; misses: string[] }> {
  const tok = await loadJsonTokenizer(path.join(TOKJSON, name, "tokenizer.json"));
  const d = strings();
  const expected = d.ids[name]!;
  let agree = 0;
  const misses: string[] = [];
  d.strings.forEach((s, i) => {
    const got = tok.encode(s);
    const want = expected[i]!;
    if (got.length === want.length && got.every((x, k) => x === want[k])) agree++;
    else if (misses.length < 5) misses.push(`${JSON.stringify(s)}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
  });
  return { agree, total: d.strings.length, misses };
}

/** The post-processor's special tokens (BOS) on the committed slice. */
export async function withSpecialAgree(name: string): Promise<void> {
  const tok = await loadJsonTokenizer(path.join(TOKJSON, name, "tokenizer.json"));
  const d = strings();
  d.with_special[name]!.forEach((ids, i) => expect(tok.encodeWithSpecial(d.strings[i]!), JSON.stringify(d.strings[i])).toEqual(ids));
}

/**
 * The live comparison: the Python `tokenizers` package encodes a slice of the strings now (the committed ids
 * were made by one version of it; this catches a fixture that no longer matches the package). Undefined, with
 * the reason, where no interpreter has the package (CI).
 */
export function livePython(name: string, count: number): { ids: number[][] } | { skipped: string } {
  const py = oraclePython("tokenizers");
  if (!py) return { skipped: "the Python `tokenizers` package is not installed (set LLAVAC_ORACLE_PYTHON to an interpreter that has it)" };
  const input = JSON.stringify(strings().strings.slice(0, count));
  const script = [
    "import json, sys",
    "from tokenizers import Tokenizer",
    `t = Tokenizer.from_file(${JSON.stringify(path.join(TOKJSON, name, "tokenizer.json"))})`,
    "xs = json.loads(sys.stdin.read())",
    "print(json.dumps([e.ids for e in t.encode_batch(xs, add_special_tokens=False)]))",
  ].join("\n");
  const r = spawnSync(py, ["-c", script], { input, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return { ids: JSON.parse(r.stdout) as number[][] };
}
