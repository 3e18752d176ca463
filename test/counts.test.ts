// Parameter counts of every standard-library language model and vision tower equal what transformers
// computes from the same published config (test/fixtures/counts/stdlib.json, made once by
// tools/oracles/stdlib_counts.py with transformers' own model classes on the meta device). The fixture's
// configs are held to the library's fields too, so a count cannot agree by accident of another shape.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { archOf } from "../compiler/derive.js";
import type { LlamaIR, ModelIR, VitIR } from "../compiler/ir.js";
import { stdlib } from "../compiler/stdlib.js";
import { numel, textParameters, visionParameters } from "../runtime/model/arch.js";
import { ROOT } from "./helpers.js";

interface Entry {
  class: string;
  config: Record<string, unknown>;
  parameters: number;
}
const fixture = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/counts/stdlib.json"), "utf8")) as {
  language: Record<string, Entry>;
  vision: Record<string, Entry>;
};

// SigLIP towers have their own count fixture (with their heads), held by test/siglip.test.ts.
const SIGLIP = path.join(ROOT, "test/fixtures/counts/siglip.json");
const siglipTowers: string[] = existsSync(SIGLIP) ? Object.keys(JSON.parse(readFileSync(SIGLIP, "utf8")).towers ?? {}) : [];

const lib = stdlib();
const languages = lib.instances("llama");
const allVisions = lib.instances("vit");
const visions = allVisions.filter((m) => !siglipTowers.includes(m.name));
const anyVision = allVisions[0]!.plain as unknown as VitIR;
const anyLanguage = languages[0]!.plain as unknown as LlamaIR;
/** The architecture of a model made of these parts (the projector does not enter these counts). */
const arch = (vision: VitIR, language: LlamaIR) =>
  archOf({ vision, language, projector: { $schema: "linear_projector", use_bias: true } } as unknown as ModelIR);
const total = (params: { shape: number[] }[]) => params.reduce((a, p) => a + numel(p.shape), 0);

describe("standard-library parameter counts equal transformers'", () => {
  it("the fixture has every language model and vision tower of std/ (SigLIP's in their own)", () => {
    expect(Object.keys(fixture.language).sort()).toEqual(languages.map((m) => m.name).sort());
    expect(Object.keys(fixture.vision).sort()).toEqual(visions.map((m) => m.name).sort());
  });

  it.each(languages.map((m) => [m.name, m] as const))("%s", (name, m) => {
    const t = m.plain as unknown as LlamaIR;
    const e = fixture.language[name]!;
    // The same config: the fields that decide the shapes.
    expect({
      vocab_size: t.vocab_size,
      hidden_size: t.hidden_size,
      intermediate_size: t.filter_size,
      num_hidden_layers: t.num_hidden_layers,
      num_attention_heads: t.num_heads,
      num_key_value_heads: t.num_key_value_heads ?? t.num_heads,
      tie_word_embeddings: t.share_embedding_weights,
    }).toEqual({
      ...Object.fromEntries(
        Object.keys(e.config)
          .filter((k) => !/rope|max_pos|sliding/.test(k))
          .map((k) => [k, e.config[k]]),
      ),
    });
    // Qwen2's q/k/v projections carry biases (its class adds them), LLaMA's and Mistral's do not.
    expect(t.use_projection_bias_in_attention).toBe(e.class === "Qwen2ForCausalLM");
    expect(total(textParameters(arch(anyVision, t).text))).toBe(e.parameters);
  });

  it.each(visions.map((m) => [m.name, m] as const))("%s", (name, m) => {
    const v = m.plain as unknown as VitIR;
    const e = fixture.vision[name]!;
    const a = arch(v, anyLanguage).vision;
    expect({
      hidden_size: a.hidden_size,
      intermediate_size: a.filter_size,
      num_hidden_layers: a.num_hidden_layers,
      num_attention_heads: a.num_heads,
      image_size: a.image_size[0],
      patch_size: a.patch_size[0],
    }).toEqual(e.config);
    expect(total(visionParameters(a))).toBe(e.parameters);
  });

  it("the acceptance figures: Mistral-7B 7,241,732,096 and Llama-3-8B 8,030,261,248 text parameters", () => {
    const count = (name: string) =>
      total(textParameters(arch(anyVision, languages.find((m) => m.name === name)!.plain as unknown as LlamaIR).text));
    expect(count("mistral_7b_instruct_v0_2")).toBe(7_241_732_096);
    expect(count("llama3_8b_instruct")).toBe(8_030_261_248);
    // Without grouped-query attention the same shapes would count 8.05 B and 8.57 B: the key/value heads matter.
    const mha = { ...(languages.find((m) => m.name === "mistral_7b_instruct_v0_2")!.plain as unknown as LlamaIR) };
    delete mha.num_key_value_heads;
    expect(total(textParameters(arch(anyVision, mha).text))).not.toBe(7_241_732_096);
  });
});
