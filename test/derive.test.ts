// Derived values: computed from the spec, never copied. The 7B numbers are checked against arithmetic
// done here from the published shapes, and against the Cerebras reference configs' hard-coded values.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tinyArch } from "./arch-fixture.js";
import { compile } from "../compiler/compile.js";
import { percentOf } from "../compiler/derive.js";
import { applyFreeze, imageSlots, leafModules, llavaParameters, numel } from "../runtime/model/arch.js";
import { imageStartIndex } from "../runtime/text/layout.js";
import { loadTokenizer } from "../runtime/text/tokenizer.js";
import { check, ROOT, TINY_DIRS, tinyWith } from "./helpers.js";

const SEVEN_B = path.join(ROOT, "examples/llava-v1.5-7b/llava.llava");
const THIRTEEN_B = path.join(ROOT, "examples/llava-v1.5-13b/llava.llava");

async function phases(file: string) {
  const r = await compile(file, { env: {}, cwd: ROOT });
  expect(r.diags.errorCount).toBe(0);
  return Object.fromEntries(r.phases.map((p) => [p.unit.ir.$name, p.derived!]));
}

describe("derive: image_start_idx by tokenising the template with the real vocabulary", () => {
  it('plain → 1 and vicuna_v1 → 35 (BOS + system + "USER:" + "▁")', async () => {
    const p = await phases(SEVEN_B);
    expect(p.pretrain!.imageStartIdx).toBe(1);
    expect(p.finetune!.imageStartIdx).toBe(35);
  });

  it("the count comes from the tokenizer, not a constant: a longer system prompt moves it", async () => {
    const tok = await loadTokenizer({ kind: "llama2" });
    const base = { name: "t", layout: "chat" as const, user: "USER:", assistant: "ASSISTANT:" };
    const system =
      "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
    expect(imageStartIndex(tok, { ...base, system }, 576)).toBe(35);
    const longer = imageStartIndex(tok, { ...base, system: system + " Be brief." }, 576);
    expect(longer).toBe(1 + tok.encode(system + " Be brief.").length + tok.encode("USER:").length + 1);
    expect(longer).toBeGreaterThan(35);
  });
});

describe("derive: geometry", () => {
  it("num_patches = (336/14)² = 576, text budget = 2048 − 576 − 1", async () => {
    const p = await phases(SEVEN_B);
    expect(p.pretrain!.numPatches).toBe(576);
    expect(p.pretrain!.msl).toBe(2048);
    expect(p.pretrain!.textBudget).toBe(1471);
    expect(p.pretrain!.rotaryDim).toBe(128);
  });
});

describe("derive: schedules", () => {
  it("7B phase 1: max_steps 2180, linear 66, cosine 2114", async () => {
    const s = (await phases(SEVEN_B)).pretrain!.schedule;
    expect([s.maxSteps, s.warmup, s.decay]).toEqual([2180, 66, 2114]);
    expect(s.samples).toBe(558128);
    expect(Math.floor(558128 / 256)).toBe(2180);
    expect(Math.ceil(0.03 * 2180)).toBe(66);
  });

  it("7B phase 2: 5197, 155, 5042", async () => {
    const s = (await phases(SEVEN_B)).finetune!.schedule;
    expect([s.maxSteps, s.warmup, s.decay]).toEqual([5197, 155, 5042]);
  });

  it("13B phase 1 keeps the reference's inconsistent 2144 as an explicit value (with W0301)", async () => {
    const r = await compile(THIRTEEN_B, { env: {}, cwd: ROOT });
    const s = r.phases.find((p) => p.unit.ir.$name === "pretrain")!.derived!.schedule;
    expect([s.maxSteps, s.warmup, s.decay]).toEqual([2180, 66, 2144]);
    expect(r.diags.items.filter((d) => d.code === "W0301").map((d) => d.message)).toEqual([
      "warm-up 66 + decay 2144 = 2210 steps, but the phase runs 2180",
    ]);
  });

  it("percentages of steps are exact (3% of 2000 is 60, not 61)", () => {
    expect(percentOf(3, 2000, "ceil")).toBe(60);
    expect(percentOf(3, 2180, "ceil")).toBe(66);
    expect(percentOf(3, 5197, "floor")).toBe(155);
    expect(percentOf(3, 5197, "ceil")).toBe(156);
    expect(percentOf(2.5, 10, "round")).toBe(0);
    expect(percentOf(5, 10, "round")).toBe(1);
    expect(percentOf(0.1, 1000, "ceil")).toBe(1);
  });
});

describe("derive: parameter counts, exact, from shapes", () => {
  // The LLaVA-1.5 7B shapes, multiplied out by hand.
  const H = 4096,
    F = 11008,
    V = 32000,
    L = 32;
  const h = 1024,
    f = 4096,
    l = 24,
    P = 576;
  const vision =
    h * 3 * 14 * 14 + // conv patch embedding, no bias
    h + // CLS
    (P + 1) * h + // positions
    2 * h + // pre-LN
    l * (4 * (h * h + h) + (f * h + f) + (h * f + h) + 2 * 2 * h) + // blocks: attention with biases, MLP, two LNs
    2 * h; // final LN
  const projector = h * H + H + (H * H + H);
  const text = V * H + L * (4 * H * H + 3 * H * F + 2 * H) + H + V * H; // embeddings, blocks, final RMSNorm, lm_head

  it("the hand arithmetic matches the known sizes (CLIP-L/14-336 303.5M, LLaMA-2-7B 6.738B, mlp2x 20,979,712)", () => {
    expect(vision).toBe(303_507_456);
    expect(text).toBe(6_738_415_616);
    expect(projector).toBe(20_979_712);
  });

  it("phase 1 trains the projector only; phase 2 the projector and the language model", async () => {
    const p = await phases(SEVEN_B);
    expect(p.pretrain!.counts).toMatchObject({ total: vision + projector + text, trainable: projector, frozen: vision + text });
    expect(p.finetune!.counts).toMatchObject({ total: vision + projector + text, trainable: projector + text, frozen: vision });
    expect(p.pretrain!.counts.byComponent).toEqual({
      image_model: { total: vision, trainable: 0 },
      projector_image_model: { total: projector, trainable: projector },
      text_model: { total: text, trainable: 0 },
    });
  });

  it("parameter names are the Cerebras module names, and ln_f is one tensor with two names", async () => {
    const p = await phases(SEVEN_B);
    const names = new Set<string>(p.pretrain!.params.map((x) => x.name));
    for (const n of [
      "image_model.embedding_layer.linear_proj.weight",
      "image_model.embedding_layer.cls_embedding",
      "image_model.embedding_layer.position_embeddings.weight",
      "image_model.embedding_layer.post_embed_ln.bias",
      "image_model.encoder.transformer_encoder.layers.23.self_attn.proj_output_dense_layer.bias",
      "image_model.encoder.transformer_encoder.layers.0.ffn.ffn.1.linear_layer.weight",
      "image_model.encoder.transformer_encoder.norm.weight",
      "projector_image_model.ffn.0.linear_layer.weight",
      "projector_image_model.ffn.1.linear_layer.bias",
      "text_model.embedding_layer.word_embeddings.weight",
      "text_model.transformer_decoder.layers.31.ffn.ffn.0.linear_layer_for_glu.weight",
      "text_model.transformer_decoder.layers.0.norm3.weight",
      "text_model.transformer_decoder.norm.weight",
      "text_model.lm_head.weight",
    ])
      expect(names.has(n), n).toBe(true);
    const norm = p.pretrain!.params.find((x) => x.name === "text_model.transformer_decoder.norm.weight")!;
    expect(norm.aliases).toEqual(["text_model.ln_f.weight"]);
    expect(p.pretrain!.params.find((x) => x.name === "image_model.embedding_layer.position_embeddings.weight")!.shape).toEqual([577, 1024]);
  });

  it("freeze follows Cerebras: regexes are searched in leaf module names, and parameter names", () => {
    const params = llavaParameters(tinyArch());
    const leaves = leafModules(params);
    expect(leaves).toContain("image_model.embedding_layer.linear_proj");
    expect(leaves).not.toContain("image_model.embedding_layer"); // owns cls_embedding, but has children
    expect(leaves).toContain("text_model.ln_f");
    // /cls_embedding/ matches no leaf module (Cerebras would raise) even though it names a parameter.
    const r = applyFreeze(params, [/cls_embedding/, /^text_model/]);
    expect(r.matches[0]).toEqual([]);
    expect(r.frozen.map((p) => p.name)).toContain("image_model.embedding_layer.cls_embedding");
    expect(r.trainable.every((p) => !p.name.startsWith("text_model"))).toBe(true);
    const total = params.reduce((a, p) => a + numel(p.shape), 0);
    expect(r.frozen.reduce((a, p) => a + numel(p.shape), 0) + r.trainable.reduce((a, p) => a + numel(p.shape), 0)).toBe(total);
  });
});

describe("derive: num_patches has one home (runtime/model/arch.ts imageSlots)", () => {
  it("check's report, the manifest formula and the E0305 note show the count and formula imageSlots gives, + 1 for cls_patch", async () => {
    const { filesToWrite } = await import("../compiler/build.js");
    const { phaseSummary } = await import("../compiler/report.js");
    const { plainPainter } = await import("../compiler/diagnostics.js");
    const src = tinyWith("vision    = tiny_vit", "vision    = tiny_vit { select: cls_patch }");
    const r = await check(src, { dirs: TINY_DIRS });
    expect(r.errors).toEqual([]);
    const d = r.result.phases[0]!.derived!;
    const slots = imageSlots({ image_size: d.imageSize, patch_size: d.patchSize }, "cls_patch");
    expect(slots).toEqual({ count: 17, formula: "(32/8)·(32/8) + 1" });
    expect(imageSlots({ image_size: d.imageSize, patch_size: d.patchSize }, "patch")).toEqual({ count: 16, formula: "(32/8)·(32/8)" });
    expect([d.numPatches, d.numPatchesFormula]).toEqual([slots.count, slots.formula]);
    expect(phaseSummary(r.result, plainPainter)).toMatch(new RegExp(`num_patches +17 += ${slots.formula.replace(/[()+.]/g, "\\$&")}\n`));
    const manifest = JSON.parse(filesToWrite(r.result.emitted).find((f) => f.path === "manifest.json")!.content);
    expect(manifest.phases.align.formulas.num_patches).toBe(slots.formula);
    expect(manifest.phases.align.derived.num_patches).toBe(17);
    const asserted = await check(src.replace("  batch     = 32 per step, 8", "  num_patches = 16\n  batch     = 32 per step, 8"), {
      dirs: TINY_DIRS,
    });
    expect(asserted.one("E0305").notes.map((n) => n.message)).toContain(`num_patches = ${slots.formula} = 17`);
  });
});
