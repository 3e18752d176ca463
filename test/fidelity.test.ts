// The examples compile to the Cerebras Model Zoo 2.2.1 reference configs, key by key, once both are
// parsed (comments and layout aside). The references live beside the project in ../shared; a fresh
// clone without them skips this test and says so. The golden test below runs everywhere.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { buildFiles, flatten } from "./build-helpers.js";
import { ROOT } from "./helpers.js";

const REFERENCE = path.resolve(ROOT, "../shared/reference/cerebras");
const haveReference = existsSync(REFERENCE);
if (!haveReference) console.warn(`fidelity: ${REFERENCE} is absent (a clone without ../shared), so the reference comparison is skipped; the golden-file test still runs.`);

const CASES: [string, string, string][] = [
  ["llava-v1.5-7b", "pretrain/params.yaml", "params_llava_v1p5_pretrain_7b_phase1_MSL2K.yaml"],
  ["llava-v1.5-7b", "finetune/params.yaml", "params_llava_v1p5_pretrain_7b_phase2_MSL2K.yaml"],
  ["llava-v1.5-13b", "pretrain/params.yaml", "params_llava_v1p5_pretrain_13b_phase1_MSL2K.yaml"],
  ["llava-v1.5-13b", "finetune/params.yaml", "params_llava_v1p5_pretrain_13b_phase2_MSL2K.yaml"],
  ["llava-v1.5-7b", "pretrain/preprocess.yaml", "llava_phase_1_preproc.yaml"],
  ["llava-v1.5-7b", "finetune/preprocess.yaml", "llava_phase_2_preproc.yaml"],
  ["llava-v1.5-13b", "pretrain/preprocess.yaml", "llava_phase_1_preproc.yaml"],
  ["llava-v1.5-13b", "finetune/preprocess.yaml", "llava_phase_2_preproc.yaml"],
];

const built = new Map<string, Map<string, string>>();
async function outputs(example: string): Promise<Map<string, string>> {
  let files = built.get(example);
  if (!files) {
    const r = await buildFiles(path.join(ROOT, "examples", example, "llava.llava"));
    expect(r.result.diags.errorCount, r.result.diags.items.map((d) => d.message).join("\n")).toBe(0);
    files = r.files;
    built.set(example, files);
  }
  return files;
}

describe.skipIf(!haveReference)("fidelity: examples compile to the six Cerebras 2.2.1 reference files", () => {
  it.each(CASES)("%s %s = %s", async (example, file, reference) => {
    const ours = flatten(load((await outputs(example)).get(file)!));
    const theirs = flatten(load(readFileSync(path.join(REFERENCE, reference), "utf8")));
    const differences: string[] = [];
    for (const [k, v] of theirs) if (!ours.has(k)) differences.push(`missing ${k} (reference: ${JSON.stringify(v)})`); else if (ours.get(k) !== v) differences.push(`${k}: ours ${JSON.stringify(ours.get(k))}, reference ${JSON.stringify(v)}`);
    for (const [k, v] of ours) if (!theirs.has(k)) differences.push(`extra ${k} = ${JSON.stringify(v)}`);
    expect(differences).toEqual([]);
    expect(ours.size).toBe(theirs.size);
  });
});

describe("golden: the examples' outputs are byte-identical to the committed ones", () => {
  const GOLDEN = path.join(ROOT, "test/golden");
  const update = process.env.UPDATE_GOLDEN === "1";
  it.each(["llava-v1.5-7b", "llava-v1.5-13b"])("%s", async (example) => {
    const files = await outputs(example);
    for (const [name, content] of files) {
      const golden = path.join(GOLDEN, example, name);
      if (update) { mkdirSync(path.dirname(golden), { recursive: true }); writeFileSync(golden, content); }
      expect(content, name).toBe(readFileSync(golden, "utf8"));
    }
  });
});
