// SigLIP parity with HuggingFace: the runtime loads a random-weight LLaVA whose vision tower is a
// SiglipVisionModel (no CLS token, no pre-layernorm, gelu_pytorch_tanh, biased patch embedding, its
// attention-pooling head in the weights) written by transformers' LlavaForConditionalGeneration, and must
// reproduce PyTorch's logits (1e-4) and loss (1e-5) with every patch as an image feature. The fixture comes
// from tools/parity/make_siglip_fixture.py and is committed, so this runs without torch.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../runtime/backend/tf.js";
import { selectBackend } from "../runtime/backend/index.js";
import { LlavaModel } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { loadWeights, type WeightReport } from "../runtime/weights/load.js";
import { openSafetensors } from "../runtime/weights/safetensors.js";
import { ROOT } from "./helpers.js";
import { HAS_NATIVE, warnIfNoNative } from "./native.js";
import { fixtureConfig, fixtureInputs, meanLoss, worstDiff } from "./parity-fixture.js";

const DIR = path.join(ROOT, "test/fixtures/parity-siglip");
const expected = JSON.parse(readFileSync(path.join(DIR, "expected.json"), "utf8"));

/** The fixture's configuration: a SigLIP tower (no CLS token, no pre-layernorm, a biased patch embedding). */
const config = () => fixtureConfig(expected, { prepend_cls_token: false, use_embed_proj_bias: true, use_post_embed_layer_norm: false });
const inputs = () => fixtureInputs(DIR);

warnIfNoNative("SigLIP parity");

describe.each(["tensorflow", "wasm", "cpu"])("SigLIP LLaVA parity with HuggingFace (%s backend)", (backend) => {
  let model: LlavaModel;
  let report: WeightReport;
  if (backend === "tensorflow" && !HAS_NATIVE) {
    it.skip("skipped: the native backend is not built here (llavac backend install)", () => {});
    return;
  }
  beforeAll(async () => {
    await selectBackend(backend);
    const store = new ParamStore(config().arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
    report = loadWeights(store, [path.join(DIR, "model.safetensors")]);
    model = new LlavaModel(config(), store);
  });

  it("every HF tensor is loaded or dropped for a reason: the pooling head is dropped, no CLS row is moved", () => {
    expect(report.unknown).toEqual([]);
    expect(report.mismatched).toEqual([]);
    expect(report.missing).toEqual([]);
    expect(report.layouts).toEqual(["hub"]);
    const dropped = report.dropped.map((d) => d.name).sort();
    expect(dropped).toHaveLength(expected.head_tensors.length);
    for (const d of report.dropped) expect(d.reason).toMatch(/attention-pooling head/);
    // The tree has no CLS token, and the position table is the patches' alone (HF's order, unchanged).
    expect(model.params.has("image_model.embedding_layer.cls_embedding")).toBe(false);
    expect(model.params.get("image_model.embedding_layer.position_embeddings.weight").shape).toEqual([
      expected.num_patches,
      expected.vision.hidden_size,
    ]);
    const f = openSafetensors(path.join(DIR, "model.safetensors"));
    const hf = f.float32("vision_tower.embeddings.position_embedding.weight");
    f.close();
    expect(worstDiff(model.params.get("image_model.embedding_layer.position_embeddings.weight").dataSync() as Float32Array, hf)).toBe(0);
  });

  it("logits match PyTorch to 1e-4, with all 16 patches as image features", () => {
    const { batch, logits, shape } = inputs();
    const feats = tf.tidy(() => model.visionFeatures(batch, { training: false }).shape);
    expect(feats).toEqual([batch.size, expected.num_patches, expected.vision.hidden_size]);
    const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
    expect([batch.size, batch.length, model.config.arch.text.vocab_size]).toEqual(shape);
    expect(worstDiff(ours, logits)).toBeLessThan(1e-4);
  });

  it("the loss matches PyTorch to 1e-5", () => {
    expect(Math.abs(meanLoss(model, inputs().batch) - expected.loss)).toBeLessThan(1e-5);
  });

  it("fails when the vision tower is computed otherwise (the comparison can tell)", () => {
    const { batch, logits } = inputs();
    const perturbed = (change: () => void, undo: () => void) => {
      change();
      const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
      undo();
      return worstDiff(ours, logits);
    };
    // A vision weight: the SigLIP path reaches the logits.
    const w = model.params.get("image_model.encoder.transformer_encoder.layers.1.ffn.ffn.0.linear_layer.weight");
    const saved = w.clone();
    expect(
      perturbed(
        () => w.assign(w.add(1e-2)),
        () => w.assign(saved),
      ),
    ).toBeGreaterThan(1e-4);
    saved.dispose();
    // Exact GELU instead of its tanh approximation.
    const arch = model.config.arch.vision;
    expect(
      perturbed(
        () => (arch.nonlinearity = "gelu"),
        () => (arch.nonlinearity = expected.vision.hidden_act),
      ),
    ).toBeGreaterThan(1e-5);
  });
});
