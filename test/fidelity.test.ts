// The examples compile to the Cerebras Model Zoo reference configs of each release (2.2.1, 2.3.0 and
// 2.10's trainer format), key by key, once both are parsed (comments, layout and YAML aliases aside). The references live beside the project in ../shared; a fresh
// clone without them skips this test and says so. The golden test below runs everywhere.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { buildFiles, flatten } from "./build-helpers.js";
import { ROOT } from "./helpers.js";

const REFERENCE = path.resolve(ROOT, "../shared/reference/cerebras");
const haveReference = existsSync(REFERENCE);
if (!haveReference)
  console.warn(
    `fidelity: ${REFERENCE} is absent (a clone without ../shared), so the reference comparison is skipped; the golden-file test still runs.`,
  );

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

// The release variants (examples/*/release-*.llava import llava.llava and change what each release
// changed: its folder names, cbfloat16, and the target release).
const RELEASES: [string, string, string, string][] = [];
for (const [release, dir] of [
  ["2.3.0", "release_2.3.0/llava_configs"],
  ["2.10", "release_2.10.0_head/llava_configs"],
] as const) {
  for (const size of ["7b", "13b"]) {
    RELEASES.push([
      `llava-v1.5-${size}/release-${release}.llava`,
      "pretrain/params.yaml",
      `${dir}/params_llava_v1p5_pretrain_${size}_phase1_MSL2K.yaml`,
      release,
    ]);
    RELEASES.push([
      `llava-v1.5-${size}/release-${release}.llava`,
      "finetune/params.yaml",
      `${dir}/params_llava_v1p5_pretrain_${size}_phase2_MSL2K.yaml`,
      release,
    ]);
  }
}

// Preprocessing: 2.3.0 still runs create_hdf5_dataset.py (its configs equal 2.2.1's); 2.10 replaced it
// with the data_preprocessing pipeline (its LLaVA reference is the phase-2 one; phase 1's is Llama-3 only).
const PREPROCESS: [string, string, string][] = [];
for (const size of ["7b", "13b"]) {
  PREPROCESS.push([
    `llava-v1.5-${size}/release-2.3.0.llava`,
    "pretrain/preprocess.yaml",
    "release_2.3.0/hdf5_preprocessing_configs/llava_phase_1_preproc.yaml",
  ]);
  PREPROCESS.push([
    `llava-v1.5-${size}/release-2.3.0.llava`,
    "finetune/preprocess.yaml",
    "release_2.3.0/hdf5_preprocessing_configs/llava_phase_2_preproc.yaml",
  ]);
  PREPROCESS.push([
    `llava-v1.5-${size}/release-2.10.llava`,
    "finetune/preprocess.yaml",
    "release_2.10.0_head/data_preprocessing_configs/llava_phase_2_preproc.yaml",
  ]);
}
RELEASES.push([
  "llava-v1.5-7b/release-2.3.0-trainer.llava",
  "pretrain/params.yaml",
  "release_2.3.0/llava_configs/params_llava_v1p5_pretrain_7b_phase1_MSL2K_v2.yaml",
  "2.3.0",
]);

const built = new Map<string, Map<string, string>>();
async function outputs(example: string): Promise<Map<string, string>> {
  let files = built.get(example);
  if (!files) {
    const r = await buildFiles(path.join(ROOT, "examples", example.endsWith(".llava") ? example : path.join(example, "llava.llava")));
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
    for (const [k, v] of theirs)
      if (!ours.has(k)) differences.push(`missing ${k} (reference: ${JSON.stringify(v)})`);
      else if (JSON.stringify(ours.get(k)) !== JSON.stringify(v))
        differences.push(`${k}: ours ${JSON.stringify(ours.get(k))}, reference ${JSON.stringify(v)}`);
    for (const [k, v] of ours) if (!theirs.has(k)) differences.push(`extra ${k} = ${JSON.stringify(v)}`);
    expect(differences).toEqual([]);
    expect(ours.size).toBe(theirs.size);
  });
});

describe.skipIf(!haveReference)("fidelity: release variants compile to the 2.3.0 (both layouts) and 2.10 reference files", () => {
  it.each(RELEASES)("%s %s = %s", async (spec, file, reference, release) => {
    const text = (await outputs(spec)).get(file)!;
    expect(text).toContain(`Cerebras Model Zoo ${release} LLaVA training config`);
    const ours = flatten(load(text));
    const theirs = flatten(load(readFileSync(path.join(REFERENCE, reference), "utf8")));
    const differences: string[] = [];
    for (const [k, v] of theirs)
      if (!ours.has(k)) differences.push(`missing ${k} (reference: ${JSON.stringify(v)})`);
      else if (JSON.stringify(ours.get(k)) !== JSON.stringify(v))
        differences.push(`${k}: ours ${JSON.stringify(ours.get(k))}, reference ${JSON.stringify(v)}`);
    for (const [k, v] of ours) if (!theirs.has(k)) differences.push(`extra ${k} = ${JSON.stringify(v)}`);
    expect(differences).toEqual([]);
  });

  it.each(PREPROCESS)("%s %s = %s", async (spec, file, reference) => {
    const ours = flatten(load((await outputs(spec)).get(file)!));
    const theirs = flatten(load(readFileSync(path.join(REFERENCE, reference), "utf8")));
    const differences: string[] = [];
    for (const [k, v] of theirs)
      if (JSON.stringify(ours.get(k)) !== JSON.stringify(v))
        differences.push(`${k}: ours ${JSON.stringify(ours.get(k))}, reference ${JSON.stringify(v)}`);
    for (const k of ours.keys()) if (!theirs.has(k)) differences.push(`extra ${k}`);
    expect(differences).toEqual([]);
  });

  it("each release's strict schema rejects the other releases' keys", async () => {
    const { LlavaConfig } = await import("../compiler/schemas/cerebras-2.2.1.js");
    const { LlavaConfig: LlavaConfig230 } = await import("../compiler/schemas/cerebras-2.3.0.js");
    const { TrainerConfig } = await import("../compiler/schemas/cerebras-2.10.js");
    const v221 = load((await outputs("llava-v1.5-7b")).get("pretrain/params.yaml")!);
    const v230 = load((await outputs("llava-v1.5-7b/release-2.3.0.llava")).get("pretrain/params.yaml")!);
    const v210 = load((await outputs("llava-v1.5-7b/release-2.10.llava")).get("pretrain/params.yaml")!);
    expect(LlavaConfig.safeParse(v221).success).toBe(true);
    expect(LlavaConfig230.safeParse(v230).success).toBe(true);
    expect(TrainerConfig.safeParse(v210).success).toBe(true);
    // 2.3.0 dropped bos_token_id from the data config; 2.10 has no flat sections.
    expect(LlavaConfig230.safeParse(v221).error?.issues.map((i) => i.path.join("."))).toContain("train_input");
    expect(TrainerConfig.safeParse(v230).success).toBe(false);
  });
});

describe("golden: the examples' outputs are byte-identical to the committed ones", () => {
  const GOLDEN = path.join(ROOT, "test/golden");
  const update = process.env.UPDATE_GOLDEN === "1";
  it.each(["llava-v1.5-7b", "llava-v1.5-13b"])("%s", async (example) => {
    const files = await outputs(example);
    for (const [name, content] of files) {
      const golden = path.join(GOLDEN, example, name);
      if (update) {
        mkdirSync(path.dirname(golden), { recursive: true });
        writeFileSync(golden, content);
      }
      expect(content, name).toBe(readFileSync(golden, "utf8"));
    }
  });
});
