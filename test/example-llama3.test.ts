// examples/llava-llama3-8b: a LLaVA with Llama-3-8B-Instruct (grouped-query attention) checks with the
// published counts, builds for 2.2.1 and 2.10 (validated by their strict schemas, GQA in the Model Zoo's
// spelling), and a smoke run trains its shrunk model (still grouped) on real HDF5 files made from the fixtures.
// Its tokenizer here is a tokenizer.json stand-in with Llama-3's special tokens and vocabulary size
// (test/llama3-standin.ts); phase 2 uses the llama3 chat template.
import { cpSync, mkdirSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { check } from "../compiler/index.js";
import { tempDir } from "./data-helpers.js";
import { ROOT, run } from "./helpers.js";
import { loadJsonTokenizer } from "../runtime/text/hf-tokenizer.js";
import { LLAMA3_VOCAB, llama3SpecialTokens, llama3StandIn } from "./llama3-standin.js";

const SPEC = path.join(ROOT, "examples/llava-llama3-8b/llava.llava");
const SPEC_210 = path.join(ROOT, "examples/llava-llama3-8b/release-2.10.llava");
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  dir = tempDir("llavac-llama3-");
  env = { ...llama3StandIn(path.join(dir, "tokenizer")), LLAVA_DATA: path.join(dir, "data") };
});

const textModel = (files: { path: string; content: string }[], phase: string, trainer: boolean) => {
  const doc = load(files.find((f) => f.path === `${phase}/params.yaml`)!.content) as any;
  return trainer ? doc.trainer.init.model.text_model : doc.model.text_model;
};

describe("examples/llava-llama3-8b", () => {
  it("checks: Llama-3-8B's 8,030,261,248 text parameters and the derived values", async () => {
    const r = await check(SPEC, { env, cwd: dir });
    expect(r.errors, JSON.stringify(r.diagnostics.filter((d) => d.severity === "error"))).toBe(0);
    const [pre, fine] = r.phases;
    expect(pre!.derived!.counts.byComponent.text_model!.total).toBe(8_030_261_248);
    expect(pre!.derived!.counts.trainable).toBe(20_979_712);
    expect(pre!.derived!.numPatches).toBe(576);
    expect(pre!.derived!.imageStartIdx).toBe(1);
    expect(fine!.derived!.counts.trainable).toBe(8_030_261_248 + 20_979_712);
    // Phase 2's llama3 template: <|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n, then the image.
    expect(fine!.derived!.imageStartIdx).toBe(5);
  });

  it("the stand-in has Llama-3's special-token ids, BOS/EOS and 128,256 ids; the template's prefix tokenises through them", async () => {
    const names = llama3SpecialTokens();
    expect(names.length).toBe(256);
    expect([names[0], names[1], names[2], names[6], names[7], names[9], names[10], names[255]]).toEqual([
      "<|begin_of_text|>",
      "<|end_of_text|>",
      "<|reserved_special_token_0|>",
      "<|start_header_id|>",
      "<|end_header_id|>",
      "<|eot_id|>",
      "<|reserved_special_token_5|>",
      "<|reserved_special_token_250|>",
    ]);
    const tok = await loadJsonTokenizer(path.join(env.LLAMA3_TOKENIZER!, "tokenizer.json"));
    expect(tok.vocabSize).toBe(LLAMA3_VOCAB);
    expect([tok.bosId, tok.eosId]).toEqual([128000, 128009]);
    // The post-processor adds <|begin_of_text|>, as Llama-3's does.
    const ids = tok.encodeWithSpecial("<|start_header_id|>user<|end_header_id|>\n\n");
    expect(ids.length).toBe(5);
    expect([ids[0], ids[1], ids[3]]).toEqual([128000, 128006, 128007]);
    expect(Math.max(ids[2]!, ids[4]!)).toBeLessThan(128000);
  });

  it("builds for 2.2.1 and 2.10 with grouped-query attention as the Model Zoo writes it", async () => {
    for (const [spec, trainer] of [
      [SPEC, false],
      [SPEC_210, true],
    ] as const) {
      const r = await check(spec, { env, cwd: dir });
      expect(r.errors, `${spec}: ${JSON.stringify(r.diagnostics.filter((d) => d.severity === "error"))}`).toBe(0);
      for (const phase of ["pretrain", "finetune"]) {
        const t = textModel(r.files, phase, trainer);
        expect(t.attention_module).toBe("multiquery_attention");
        expect(t.extra_attention_params).toEqual({ num_kv_groups: 8 });
        expect(t.rope_theta).toBe(500000);
        expect(t.vocab_size).toBe(128256);
        expect(t.filter_size).toBe(14336);
      }
    }
  });

  it("Llama-3.1's llama3 rope scaling builds for 2.10 and is one E0803 for 2.2.1", async () => {
    const set = ["llava_llama3_8b.language.rope_scaling={}"];
    const old = await check(SPEC, { env, cwd: dir, overrides: set });
    const e = old.diagnostics.filter((d) => d.severity === "error");
    expect(e.map((d) => d.code)).toEqual(["E0803"]);
    expect(e[0]!.message).toMatch(/release 2\.2\.1 cannot express rope_scaling \(llama3\)/);
    const r = await check(SPEC_210, {
      env,
      cwd: dir,
      overrides: ["pretrain.model.language.rope_scaling={}", "finetune.model.language.rope_scaling={}"],
    });
    expect(r.errors, JSON.stringify(r.diagnostics.filter((d) => d.severity === "error"))).toBe(0);
    const t = textModel(r.files, "pretrain", true);
    expect(t.pos_scaling_type).toBe("llama3");
    expect(t.pos_scaling_factor).toBe(8);
    expect(t.pos_scaling_extra_args).toEqual({ low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 });
  });

  it("runs --smoke: the shrunk model keeps 2 key/value heads of 4 and trains on real HDF5 files", async () => {
    const data = env.LLAVA_DATA!;
    mkdirSync(data, { recursive: true });
    cpSync(path.join(ROOT, "examples/data-fixtures/root/llava"), path.join(data, "LLaVA-Pretrain/images/llava"), { recursive: true });
    const cli = (args: string[]) =>
      run(process.execPath, [path.join(ROOT, "bin/llavac.js"), ...args], { cwd: dir, env: { ...env, NO_COLOR: "1", CI: "1" } });
    const p = await cli([
      "data",
      "prepare",
      "json2jsonl",
      "--input",
      path.join(ROOT, "examples/data-fixtures/root/llava/blip_laion_cc_sbu_sample.json"),
      "--out",
      path.join(data, "jsonl/pretrain"),
      "--image-prefix",
      "llava",
    ]);
    expect(p.code, p.stderr).toBe(0);
    // A shorter MSL than the spec's 2,048 keeps the run short; the image slots and the vocabulary stay.
    const r = await cli([
      "run",
      SPEC,
      "--phase",
      "pretrain",
      "--smoke",
      "--steps",
      "2",
      "--set",
      "llava_llama3_8b.language.max_position_embeddings=640",
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/LLaMA 2×64; 576 image slots at 1, MSL 640, vocabulary 128,256/);
    expect(r.stdout).toMatch(/full size: 20,979,712 trainable/);
    expect(r.stdout).toContain("no problems found");
  }, 240_000);
});
