// Correctness against HuggingFace: the runtime loads a random-weight LLaVA written by transformers'
// LlavaForConditionalGeneration (HF names, CLS position row first) through the HF → Cerebras mapping,
// and must reproduce PyTorch's logits (1e-4) and loss (1e-5). The fixture comes from
// tools/parity/make_fixture.py and is committed, so this runs without torch.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../runtime/backend/tf.js";
import { selectBackend } from "../runtime/backend/index.js";
import { generate } from "../runtime/model/generate.js";
import { LlavaModel } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { loadWeights } from "../runtime/weights/load.js";
import { ROOT } from "./helpers.js";
import { HAS_NATIVE, warnIfNoNative } from "./native.js";
import { CLIP_TOWER, fixtureConfig, fixtureInputs } from "./parity-fixture.js";

const DIR = path.join(ROOT, "test/fixtures/parity");
const expected = JSON.parse(readFileSync(path.join(DIR, "expected.json"), "utf8"));
const generations = JSON.parse(readFileSync(path.join(DIR, "generate.json"), "utf8")) as {
  eos_token_id: number;
  generations: { sequence: number; prompt_length: number; new_tokens: number[]; min_margin: number }[];
};

/** The fixture's configuration: a CLIP tower. */
const config = () => fixtureConfig(expected, CLIP_TOWER);
const inputs = () => fixtureInputs(DIR);

warnIfNoNative("parity");

// The native backend is what `llavac run` prefers; wasm is the fallback everywhere else; cpu is the
// reference implementation of every kernel.
describe.each(["tensorflow", "wasm", "cpu"])("parity with HuggingFace LlavaForConditionalGeneration (%s backend)", (backend) => {
  let model: LlavaModel;
  if (backend === "tensorflow" && !HAS_NATIVE) {
    it.skip("skipped: the native backend is not built here (llavac backend install)", () => {});
    return;
  }
  beforeAll(async () => {
    await selectBackend(backend);
    const store = new ParamStore(config().arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
    const report = loadWeights(store, [path.join(DIR, "model.safetensors")]);
    // Every HF tensor maps to a parameter and every parameter gets one.
    expect(report.unknown).toEqual([]);
    expect(report.mismatched).toEqual([]);
    expect(report.missing).toEqual([]);
    expect(report.layouts).toEqual(["hub"]);
    model = new LlavaModel(config(), store);
  });

  it("logits match PyTorch to 1e-4", () => {
    const { batch, logits, shape } = inputs();
    const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
    expect([batch.size, batch.length, model.config.arch.text.vocab_size]).toEqual(shape);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - logits[i]!));
    expect(worst).toBeLessThan(1e-4);
  });

  it("the loss matches PyTorch to 1e-5", () => {
    const { batch } = inputs();
    const loss = tf.tidy(() => {
      const r = model.lossSum(batch, { training: false });
      return r.sum.dataSync()[0]! / r.tokens;
    });
    expect(Math.abs(loss - expected.loss)).toBeLessThan(1e-5);
  });

  it("fails when a weight is perturbed (the comparison can tell)", () => {
    const { batch, logits } = inputs();
    const name = "text_model.transformer_decoder.layers.1.ffn.ffn.0.linear_layer_for_glu.weight";
    const w = model.params.get(name);
    const saved = w.clone();
    w.assign(w.add(1e-3));
    const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
    w.assign(saved);
    saved.dispose();
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - logits[i]!));
    expect(worst).toBeGreaterThan(1e-4);
  });

  it("greedy generation gives HF generate's 32 token ids, with and without the key/value cache", async () => {
    const { batch } = inputs();
    const [C, H, W] = batch.imageShape;
    const image = (b: number) => batch.images.slice(b * C * H * W, (b + 1) * C * H * W);
    expect(generations.generations).toHaveLength(2);
    await generate(model, Array.from(batch.inputIds.subarray(0, 24)), image(0), { maxNewTokens: 1 }); // makes the rotary table once
    for (const g of generations.generations) {
      const prompt = Array.from(batch.inputIds.subarray(g.sequence * batch.length, g.sequence * batch.length + g.prompt_length));
      const opts = { maxNewTokens: 32, eosId: generations.eos_token_id };
      const tensors = tf.memory().numTensors;
      const cached = await generate(model, prompt, image(g.sequence), opts);
      // Generation with the cache frees what it allocates (the cache included).
      expect(tf.memory().numTensors).toBe(tensors);
      const uncached = await generate(model, prompt, image(g.sequence), { ...opts, cache: false });
      expect(cached.ids, `sequence ${g.sequence}`).toEqual(g.new_tokens);
      expect(uncached.ids, `sequence ${g.sequence} without the cache`).toEqual(g.new_tokens);
      expect(cached.stop).toBe(g.new_tokens.length === 32 ? "max_new_tokens" : "eos");
      // The image reaches generation: another image gives other tokens (so the comparison can fail).
      const other = await generate(model, prompt, image(1 - g.sequence), opts);
      expect(other.ids).not.toEqual(g.new_tokens);
    }
  });
});
