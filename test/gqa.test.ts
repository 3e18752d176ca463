// Grouped-query attention, the sliding window and the llama3 rope scaling in the checker and the Cerebras
// emission of every release: the Model Zoo's keys (GPT2LMHeadModel's keyword arguments) in the emitted
// YAML, validated by each release's strict schema; the diagnostics with their spans and hints.
import { load } from "js-yaml";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { check } from "../compiler/index.js";
import { LlamaModel } from "../compiler/schemas/cerebras-2.2.1.js";
import { kvHeadsOf, textParameters } from "../runtime/model/arch.js";
import { rotaryFrequencies } from "../runtime/model/layers.js";
import { ROOT, TINY, tinyWith } from "./helpers.js";
import { tinyArch } from "./arch-fixture.js";

const FILE = path.join(ROOT, "spec.llava");
const checkSource = (source: string) => check(FILE, { source, env: {}, cwd: ROOT });
const withLanguage = (language: string, release = "2.2.1") =>
  `${tinyWith("language  = tiny_llama", `language  = ${language}`)}\ncerebras cluster { release: "${release}" }\n`;
const errors = (r: Awaited<ReturnType<typeof check>>) => r.diagnostics.filter((d) => d.severity === "error");
const textModelOf = (r: Awaited<ReturnType<typeof check>>, release: string): any => {
  const doc = load(r.files.find((f) => f.path === "align/params.yaml")!.content) as any;
  return release === "2.10" ? doc.trainer.init.model.text_model : doc.model.text_model;
};

describe("grouped-query attention and the sliding window in the Cerebras configs", () => {
  it.each(["2.2.1", "2.3.0", "2.10"])(
    "release %s: multiquery_attention with num_kv_groups, attention_sliding_window_length",
    async (release) => {
      const r = await checkSource(withLanguage("tiny_llama { num_key_value_heads: 2, sliding_window: 32 }", release));
      expect(errors(r)).toEqual([]);
      const t = textModelOf(r, release);
      expect(t.num_heads).toBe(4);
      expect(t.attention_module).toBe("multiquery_attention");
      expect(t.extra_attention_params).toEqual({ num_kv_groups: 2 });
      expect(t.attention_sliding_window_length).toBe(32);
      expect(t.pos_scaling_type).toBeUndefined();
    },
  );

  it("a multi-head model has no attention_module key (the references stay key for key)", async () => {
    const r = await checkSource(`${TINY}\ncerebras cluster { release: "2.2.1" }\n`);
    expect(errors(r)).toEqual([]);
    const t = textModelOf(r, "2.2.1");
    expect(t.attention_module).toBeUndefined();
    expect(t.extra_attention_params).toBeUndefined();
    // num_key_value_heads equal to num_heads is multi-head attention too.
    const same = await checkSource(withLanguage("tiny_llama { num_key_value_heads: 4 }"));
    expect(textModelOf(same, "2.2.1").attention_module).toBeUndefined();
  });

  it("llama3 rope scaling: 2.10's pos_scaling keys, E0803 naming the release and the field elsewhere", async () => {
    const r = await checkSource(
      withLanguage("tiny_llama { num_key_value_heads: 2, rope_scaling: { factor: 4.0, original_max_position_embeddings: 64 } }", "2.10"),
    );
    expect(errors(r)).toEqual([]);
    const t = textModelOf(r, "2.10");
    expect(t).toMatchObject({
      pos_scaling_factor: 4,
      pos_scaling_type: "llama3",
      pos_scaling_extra_args: { low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    });
    for (const release of ["2.2.1", "2.3.0"]) {
      const old = await checkSource(withLanguage("tiny_llama { num_key_value_heads: 2, rope_scaling: {} }", release));
      const e = errors(old);
      // One error for the two phases that share the model, at the field.
      expect(e.map((d) => d.code)).toEqual(["E0803"]);
      expect(e[0]!.message).toContain(`release ${release} cannot express rope_scaling (llama3)`);
      expect(e[0]!.help.join(" ")).toMatch(/release: "2\.10"/);
    }
  });

  it("the strict schema refuses num_kv_groups that do not divide num_heads, or without multiquery_attention", () => {
    const base = {
      name: "LlamaModel",
      vocab_size: 10,
      hidden_size: 8,
      num_hidden_layers: 1,
      num_heads: 4,
      filter_size: 16,
      max_position_embeddings: 8,
    };
    expect(
      LlamaModel.safeParse({ ...base, attention_module: "multiquery_attention", extra_attention_params: { num_kv_groups: 2 } }).success,
    ).toBe(true);
    expect(
      LlamaModel.safeParse({ ...base, attention_module: "multiquery_attention", extra_attention_params: { num_kv_groups: 3 } }).success,
    ).toBe(false);
    expect(LlamaModel.safeParse({ ...base, extra_attention_params: { num_kv_groups: 2 } }).success).toBe(false);
    expect(LlamaModel.safeParse({ ...base, extra_attention_params: { num_kv_groups: 2, other: 1 } }).success).toBe(false);
  });
});

describe("the checks", () => {
  it("E0800: num_key_value_heads must divide num_heads, at the field, with the divisors", async () => {
    const r = await checkSource(withLanguage("tiny_llama { num_key_value_heads: 3 }"));
    const e = errors(r);
    expect(e.map((d) => d.code)).toEqual(["E0800"]);
    expect(e[0]!.message).toBe("num_key_value_heads 3 does not divide num_heads 4");
    expect(e[0]!.help.join(" ")).toContain("1, 2, 4");
    expect(e[0]!.notes.some((n) => n.message.includes("4 query heads"))).toBe(true);
    expect((await checkSource(withLanguage("tiny_llama { num_key_value_heads: 8 }"))).diagnostics.some((d) => d.code === "E0800")).toBe(
      true,
    );
    expect(errors(await checkSource(withLanguage("tiny_llama { num_key_value_heads: 1 }")))).toEqual([]);
  });

  it("E0801 and W0800: an empty rope-scaling band, a window as long as the context", async () => {
    const band = await checkSource(withLanguage("tiny_llama { rope_scaling: { low_freq_factor: 4.0, high_freq_factor: 4.0 } }", "2.10"));
    expect(errors(band).map((d) => d.code)).toEqual(["E0801"]);
    const window = await checkSource(withLanguage("tiny_llama { sliding_window: 128 }"));
    expect(window.diagnostics.filter((d) => d.code === "W0800")).toHaveLength(1);
    expect(window.errors).toBe(0);
  });
});

describe("the parameter tree and the rotary frequencies", () => {
  it("k and v are kv_heads × head wide; q and the output projection stay hidden wide", () => {
    const t = tinyArch({ text: { hidden_size: 8, num_heads: 4, num_key_value_heads: 2 } }).text;
    expect(kvHeadsOf(t)).toBe(2);
    const shape = (suffix: string) => textParameters(t).find((p) => p.name.endsWith(suffix))!.shape;
    expect(shape("proj_q_dense_layer.weight")).toEqual([8, 8]);
    expect(shape("proj_k_dense_layer.weight")).toEqual([4, 8]);
    expect(shape("proj_v_dense_layer.weight")).toEqual([4, 8]);
    expect(shape("proj_output_dense_layer.weight")).toEqual([8, 8]);
  });

  it("llama3 scaling keeps short wavelengths, divides long ones by the factor, and blends the band between", () => {
    const plain = rotaryFrequencies(16, 500000);
    const scaled = rotaryFrequencies(16, 500000, {
      type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 48,
    });
    // Wavelengths 2π/f: 6.3 (< 48/4, kept), 32.5 (between 12 and 48, blended), then > 48 (divided by 8).
    expect(scaled[0]).toBe(plain[0]);
    expect(scaled[1]!).toBeLessThan(plain[1]!);
    expect(scaled[1]!).toBeGreaterThan(plain[1]! / 8);
    for (let i = 2; i < 8; i++) expect(scaled[i]).toBeCloseTo(plain[i]! / 8, 12);
  });
});
