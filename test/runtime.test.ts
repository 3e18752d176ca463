// The runtime's parts, each against its definition: schedules, AdamW, clipping, safetensors, the
// HF ↔ Cerebras names, the sampler, batch trimming, patchify, cross-entropy.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tinyArch } from "./arch-fixture.js";
import * as tf from "../runtime/backend/tf.js";
import { selectBackend } from "../runtime/backend/index.js";
import { llavaParameters } from "../runtime/model/arch.js";
import { crossEntropy } from "../runtime/model/layers.js";
import { patchify } from "../runtime/model/vit.js";
import { selectedBlock } from "../runtime/model/config.js";
import { AdamW, clipFactor, globalNorm } from "../runtime/train/optimizer.js";
import { toBatch } from "../runtime/train/run.js";
import { Sampler } from "../runtime/train/sampler.js";
import { learningRateAt } from "../runtime/train/schedule.js";
import { cerebrasToHf, clsRowToFirst, clsRowToLast, hfToCerebras } from "../runtime/weights/names.js";
import { openSafetensors, SafetensorsError, writeSafetensors, type TensorEntry } from "../runtime/weights/safetensors.js";
import { tempDir } from "./data-helpers.js";
import { buildFiles } from "./build-helpers.js";
import { ROOT } from "./helpers.js";

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("learning-rate schedules, as the YAML states them", () => {
  const lr = [
    { scheduler: "Linear", initial_learning_rate: 0, end_learning_rate: 1e-3, total_iters: 66 },
    { scheduler: "cosinedecaylr", initial_learning_rate: 1e-3, end_learning_rate: 0, total_iters: 2114 },
  ];
  it("linear warm-up from 0, then cosine to 0", () => {
    expect(learningRateAt(lr, 0)).toBe(0);
    expect(learningRateAt(lr, 33)).toBeCloseTo(5e-4, 12);
    expect(learningRateAt(lr, 66)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(lr, 66 + 1057)).toBeCloseTo(5e-4, 12);
    expect(learningRateAt(lr, 66 + 2114)).toBeCloseTo(0, 12);
    expect(learningRateAt(lr, 5000)).toBeCloseTo(0, 12);
    expect(learningRateAt(3e-4, 123)).toBe(3e-4);
    expect(() => learningRateAt([{ scheduler: "Exponential", initial_learning_rate: 1 }], 0)).toThrow(/no scheduler "Exponential"/);
  });

  it("the 7B example's program holds the same schedule as its params.yaml", async () => {
    const { files } = await buildFiles(path.join(ROOT, "examples/llava-v1.5-7b/llava.llava"));
    const yaml = files.get("pretrain/params.yaml")!;
    const program = files.get("pretrain/train.ts")!;
    expect(yaml).toContain("total_iters: 66");
    expect(program).toMatch(/scheduler: "Linear", initial_learning_rate: 0, end_learning_rate: 0\.001, total_iters: 66/);
    expect(program).toMatch(/total_iters: 2114/);
    expect(program).toMatch(/max_steps: 2180/);
  });
});

describe("AdamW (Cerebras/HF semantics with correct_bias) and clipping", () => {
  it("one and two steps match the formula, weight decay after the update", () => {
    const p = tf.variable(tf.tensor1d([1, -2]), true, "adamw-test-p");
    const opt = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.1, correct_bias: true }, new Map([["p", p]]));
    const g1 = [0.5, -1],
      g2 = [0.1, 0.3];
    let m = [0, 0],
      v = [0, 0],
      x = [1, -2];
    for (const [t, g] of [
      [1, g1],
      [2, g2],
    ] as const) {
      opt.apply(new Map([["p", tf.tensor1d(g)]]), 0.01);
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]!);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i]! ** 2);
      const alpha = (0.01 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      x = x.map((xi, i) => xi - (alpha * m[i]!) / (Math.sqrt(v[i]!) + 1e-8));
      x = x.map((xi) => xi - 0.01 * 0.1 * xi);
      const got = Array.from(p.dataSync());
      expect(got[0]).toBeCloseTo(x[0]!, 6);
      expect(got[1]).toBeCloseTo(x[1]!, 6);
    }
    expect(opt.step).toBe(2);
  });

  it("clips by the global norm like torch (max / (norm + 1e-6)), and not below the limit", () => {
    const n = globalNorm([tf.tensor1d([3, 0]), tf.tensor1d([4])]);
    expect(n).toBeCloseTo(5, 6);
    expect(clipFactor(5, 1)).toBeCloseTo(1 / (5 + 1e-6), 12);
    expect(clipFactor(0.5, 1)).toBe(1);
    expect(clipFactor(5, undefined)).toBe(1);
  });
});

describe("safetensors", () => {
  const entry = (dtype: TensorEntry["dtype"], shape: number[], bytes: number[]): TensorEntry => ({
    dtype,
    shape,
    data: Uint8Array.from(bytes),
  });

  it("round-trips, sorted, with the data 8-byte aligned, and widens bf16/f16 to f32", () => {
    const file = path.join(tempDir("llavac-st-"), "x.safetensors");
    const f32 = new Float32Array([1.5, -2, 3.25]);
    writeSafetensors(
      file,
      new Map<string, TensorEntry>([
        ["b", { dtype: "F32", shape: [3], data: new Uint8Array(f32.buffer) }],
        ["a.bf16", entry("BF16", [2], [0x80, 0x3f, 0x00, 0xc0])], // 1.0, -2.0
        ["c.f16", entry("F16", [2], [0x00, 0x3c, 0x00, 0x35])], // 1.0, 0.3125
      ]),
      { note: "hi" },
    );
    const buf = readFileSync(file);
    const headerLen = Number(buf.readBigUInt64LE(0));
    expect((8 + headerLen) % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString());
    expect(Object.keys(header)).toEqual(["__metadata__", "a.bf16", "b", "c.f16"]);
    const r = openSafetensors(file);
    expect(r.metadata).toEqual({ note: "hi" });
    expect(Array.from(r.float32("b"))).toEqual([1.5, -2, 3.25]);
    expect(Array.from(r.float32("a.bf16"))).toEqual([1, -2]);
    expect(Array.from(r.float32("c.f16"))).toEqual([1, 0.3125]);
    r.close();
  });

  it("rejects a truncated or inconsistent file with its name", () => {
    const dir = tempDir("llavac-st-");
    const bad = path.join(dir, "bad.safetensors");
    writeFileSync(bad, Buffer.from([1, 2, 3]));
    expect(() => openSafetensors(bad)).toThrow(SafetensorsError);
    const lying = path.join(dir, "lying.safetensors");
    const header = Buffer.from(JSON.stringify({ x: { dtype: "F32", shape: [4], data_offsets: [0, 8] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(lying, Buffer.concat([len, header, Buffer.alloc(8)]));
    expect(() => openSafetensors(lying)).toThrow(/offsets \[0, 8\) do not match its shape \[4\]/);
  });
});

describe("HF ↔ Cerebras names", () => {
  it("maps each layout's names, and back", () => {
    const cases: [string, string][] = [
      ["model.vision_tower.vision_model.embeddings.patch_embedding.weight", "image_model.embedding_layer.linear_proj.weight"],
      [
        "vision_tower.vision_model.encoder.layers.23.self_attn.out_proj.bias",
        "image_model.encoder.transformer_encoder.layers.23.self_attn.proj_output_dense_layer.bias",
      ],
      ["vision_model.pre_layrnorm.weight", "image_model.embedding_layer.post_embed_ln.weight"],
      ["vision_model.post_layernorm.bias", "image_model.encoder.transformer_encoder.norm.bias"],
      [
        "model.language_model.layers.3.mlp.gate_proj.weight",
        "text_model.transformer_decoder.layers.3.ffn.ffn.0.linear_layer_for_glu.weight",
      ],
      ["language_model.model.layers.0.post_attention_layernorm.weight", "text_model.transformer_decoder.layers.0.norm3.weight"],
      ["model.layers.31.mlp.up_proj.weight", "text_model.transformer_decoder.layers.31.ffn.ffn.0.linear_layer.weight"],
      ["model.norm.weight", "text_model.transformer_decoder.norm.weight"],
      ["lm_head.weight", "text_model.lm_head.weight"],
      ["language_model.lm_head.weight", "text_model.lm_head.weight"],
      ["model.mm_projector.2.bias", "projector_image_model.ffn.1.linear_layer.bias"],
      ["model.multi_modal_projector.linear_1.weight", "projector_image_model.ffn.0.linear_layer.weight"],
    ];
    for (const [hf, cs] of cases) {
      const m = hfToCerebras(hf);
      expect(m.kind === "param" && m.cs, hf).toBe(cs);
    }
    expect(cerebrasToHf("projector_image_model.ffn.1.linear_layer.weight", "llava")!.hf).toBe("model.mm_projector.2.weight");
    expect(cerebrasToHf("projector_image_model.ffn.1.linear_layer.weight", "transformers")!.hf).toBe(
      "model.multi_modal_projector.linear_2.weight",
    );
    expect(cerebrasToHf("text_model.transformer_decoder.layers.2.self_attn.proj_output_dense_layer.weight", "hub")!.hf).toBe(
      "language_model.model.layers.2.self_attn.o_proj.weight",
    );
    expect(cerebrasToHf("image_model.embedding_layer.position_embeddings.weight", "hub")).toEqual({
      hf: "vision_tower.vision_model.embeddings.position_embedding.weight",
      clsRowFirst: true,
    });
  });

  it("drops buffers and the duplicate tower, and calls the rest unknown", () => {
    expect(hfToCerebras("model.layers.0.self_attn.rotary_emb.inv_freq").kind).toBe("dropped");
    expect(hfToCerebras("vision_model.embeddings.position_ids").kind).toBe("dropped");
    expect(hfToCerebras("model.vision_tower.vision_tower.vision_model.embeddings.class_embedding").kind).toBe("dropped");
    expect(hfToCerebras("something.else").kind).toBe("unknown");
  });

  it("every parameter of a LLaVA-1.5-shaped model maps to an HF name in each layout and back (one set of names, from arch.ts)", () => {
    const params = llavaParameters(tinyArch({ vision: { num_hidden_layers: 2 }, text: { num_hidden_layers: 2 } }));
    for (const layout of ["transformers", "hub", "llava"] as const) {
      const seen = new Set<string>();
      for (const p of params) {
        const hf = cerebrasToHf(p.name, layout);
        expect(hf, `${p.name} (${layout})`).toBeDefined();
        seen.add(hf!.hf);
        const back = hfToCerebras(hf!.hf);
        expect(back.kind === "param" && back.cs, `${hf!.hf} (${layout})`).toBe(p.name);
        expect(back.kind === "param" && back.clsRowFirst === true).toBe(
          p.name === "image_model.embedding_layer.position_embeddings.weight",
        );
      }
      expect(seen.size).toBe(params.length);
    }
    // Aliases are not HF names of their own.
    expect(cerebrasToHf("text_model.ln_f.weight", "hub")).toBeUndefined();
  });

  it("moves the CLS position row from first to last and back", () => {
    const hf = Float32Array.from([0, 0, 1, 1, 2, 2]); // row 0 is CLS
    const cs = clsRowToLast(hf, 3, 2);
    expect(Array.from(cs)).toEqual([1, 1, 2, 2, 0, 0]);
    expect(Array.from(clsRowToFirst(cs, 3, 2))).toEqual(Array.from(hf));
  });
});

describe("sampler", () => {
  it("permutes each epoch with the seed, drops the incomplete batch, and is a pure function of the cursor", () => {
    const s = new Sampler(10, { shuffle: true, seed: 7, dropLast: true, globalBatch: 4 });
    expect(s.perEpoch).toBe(8);
    const epoch0 = s.take(0, 8),
      epoch1 = s.take(8, 8);
    expect(new Set(epoch0).size).toBe(8);
    expect(epoch0).not.toEqual(epoch1);
    expect(new Sampler(10, { shuffle: true, seed: 7, dropLast: true, globalBatch: 4 }).take(12, 4)).toEqual(epoch1.slice(4, 8));
    expect(new Sampler(5, { shuffle: false, seed: 0, dropLast: false, globalBatch: 4 }).take(3, 4)).toEqual([3, 4, 0, 1]);
    expect(() => new Sampler(3, { shuffle: false, seed: 0, dropLast: true, globalBatch: 4 })).toThrow(/do not fill one batch/);
  });
});

describe("batches", () => {
  it("are cut after the last attended or supervised position, never before the image slots", () => {
    const msl = 12,
      n = 2;
    const rows = new Int32Array(n * 4 * msl);
    const set = (s: number, r: number, j: number, v: number) => {
      rows[(s * 4 + r) * msl + j] = v;
    };
    for (let s = 0; s < n; s++) for (let j = 0; j < msl; j++) set(s, 3, j, 1); // all padding
    for (let j = 0; j < 5; j++) set(0, 3, j, 0); // sample 0 attends 0..4
    set(1, 1, 6, 1); // sample 1 is supervised at 6
    const b = toBatch({ indices: [0, 1], msl, rows, images: new Float32Array(0), failures: [] }, [3, 1, 1], 3);
    expect(b.length).toBe(7);
    expect(Array.from(b.lossMask.subarray(7, 14))).toEqual([0, 0, 0, 0, 0, 0, 1]);
    const short = toBatch(
      { indices: [0], msl, rows: rows.slice(0, 4 * msl).fill(1, 3 * msl, 4 * msl), images: new Float32Array(0), failures: [] },
      [3, 1, 1],
      9,
    );
    expect(short.length).toBe(9);
  });
});

describe("model pieces", () => {
  it("patchify flattens patches in Conv2d weight order (c, kh, kw)", () => {
    const img = tf.tensor4d(
      Array.from({ length: 2 * 4 * 4 }, (_, i) => i),
      [1, 2, 4, 4],
    );
    const p = patchify(img, { patch_size: [2, 2] } as never).arraySync() as number[][][];
    // patch (0, 1): rows 0–1, cols 2–3 of each channel
    expect(p[0]![1]).toEqual([2, 3, 6, 7, 18, 19, 22, 23]);
    expect(p[0]!.length).toBe(4);
  });

  it("Cerebras' select-layer index: −2 of 24 is block 22, 0 stays 0, none runs every block", () => {
    expect(selectedBlock(24, -2)).toBe(22);
    expect(selectedBlock(24, -1)).toBe(23);
    expect(selectedBlock(24, 0)).toBe(0);
    expect(selectedBlock(24, null)).toBe(null);
  });

  it("cross-entropy and its gradient equal log-softmax's", () => {
    const logits = tf.tensor2d([
      [1, 2, 0.5],
      [0, -1, 3],
    ]);
    const t = tf.tensor1d([2, 0], "int32");
    const ours = tf.grad((x: tf.Tensor) =>
      crossEntropy(x, t)
        .mul(tf.tensor1d([1, 2]))
        .sum(),
    )(logits);
    const reference = tf.grad((x: tf.Tensor) =>
      tf
        .logSoftmax(x)
        .mul(tf.oneHot(t, 3).toFloat())
        .sum(1)
        .neg()
        .mul(tf.tensor1d([1, 2]))
        .sum(),
    )(logits);
    const a = Array.from(ours.dataSync()),
      b = Array.from(reference.dataSync());
    a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 5));
    const values = Array.from(crossEntropy(logits, t).dataSync());
    const lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(0.5));
    expect(values[0]).toBeCloseTo(lse0 - 0.5, 5);
  });
});
