// Emission: strict schema validation, YAML spelling, determinism, the manifest and its source map.
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { formatFloat, renderYaml, float, flow } from "../compiler/emit/yaml.js";
import { LlavaConfig, PhaseOnePreprocess } from "../compiler/schemas/cerebras-2.2.1.js";
import { buildFiles } from "./build-helpers.js";
import { locate, ROOT } from "./helpers.js";
import { readFileSync } from "node:fs";

const SEVEN_B = path.join(ROOT, "examples/llava-v1.5-7b/llava.llava");

describe("emit: YAML spelling", () => {
  it("floats always print as floats that PyYAML (YAML 1.1) reads back as floats", () => {
    expect(formatFloat(1)).toBe("1.0");
    expect(formatFloat(0)).toBe("0.0");
    expect(formatFloat(1e-8)).toBe("1.0e-8");
    expect(formatFloat(2e-5)).toBe("0.00002");
    expect(formatFloat(1e21)).toBe("1.0e+21");
    expect(formatFloat(0.48145466)).toBe("0.48145466");
    // PyYAML's float resolver needs a dot, and a sign on the exponent.
    const pyyamlFloat = /^[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?$/;
    for (const x of [1, 0, 1e-8, 2e-5, 1e21, 0.001, 123.456, 1e-300]) expect(formatFloat(x), String(x)).toMatch(pyyamlFloat);
  });

  it("short lists print inline and strings are quoted only when they must be", () => {
    const y = renderYaml({ a: flow([float(0.9), float(0.999)]), b: "yes", c: "^image_model", d: null, e: [1, 2] });
    expect(y).toBe("a: [0.9, 0.999]\nb: 'yes'\nc: ^image_model\nd: null\ne:\n  - 1\n  - 2\n");
  });
});

describe("emit: strict Cerebras 2.2.1 schema", () => {
  const params = () => load(readFileSync(path.join(ROOT, "test/golden/llava-v1.5-7b/pretrain/params.yaml"), "utf8")) as Record<string, any>;

  it("accepts what llavac emits", () => {
    expect(LlavaConfig.safeParse(params()).success).toBe(true);
  });

  it("rejects unknown keys anywhere (label_smoothing is not a 2.2.1 model key)", () => {
    const p = params();
    p.model.label_smoothing = 0.0;
    const r = LlavaConfig.safeParse(p);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["model"]);
    const q = params();
    q.model.image_model.pooler_nonlinearty = "tanh";
    expect(LlavaConfig.safeParse(q).success).toBe(false);
  });

  it("requires freeze as a list and an explicit image_feature_select_layer_idx", () => {
    const p = params();
    delete p.model.freeze;
    expect(LlavaConfig.safeParse(p).success).toBe(false);
    const q = params();
    q.model.freeze = null;
    expect(LlavaConfig.safeParse(q).success).toBe(false);
    const r = params();
    delete r.model.image_feature_select_layer_idx;
    expect(LlavaConfig.safeParse(r).success).toBe(false);
  });

  it("never allows train_input.max_sequence_length", () => {
    const p = params();
    p.train_input.max_sequence_length = 2048;
    expect(LlavaConfig.safeParse(p).success).toBe(false);
  });

  it("enforces the cross-field rules (num_tokens ⇒ loss_weight 1.0, projector widths)", () => {
    const p = params();
    p.model.loss_weight = 0.5;
    expect(LlavaConfig.safeParse(p).success).toBe(false);
    const q = params();
    q.model.projector.image_model.input_unit = 768;
    expect(LlavaConfig.safeParse(q).success).toBe(false);
  });

  it("the preprocessing schema is strict too", () => {
    const pre = load(readFileSync(path.join(ROOT, "test/golden/llava-v1.5-7b/pretrain/preprocess.yaml"), "utf8")) as Record<string, any>;
    expect(PhaseOnePreprocess.safeParse(pre).success).toBe(true);
    pre.dataset.system_prompt_style = "vicuna_v1";
    expect(PhaseOnePreprocess.safeParse(pre).success).toBe(false);
  });
});

describe("emit: build outputs", () => {
  it("the same input gives byte-identical files", async () => {
    const a = await buildFiles(SEVEN_B);
    const b = await buildFiles(SEVEN_B);
    expect([...a.files.keys()]).toEqual([
      "pretrain/params.yaml",
      "pretrain/preprocess.yaml",
      "pretrain/train.ts",
      "finetune/params.yaml",
      "finetune/preprocess.yaml",
      "finetune/train.ts",
      "manifest.json",
    ]);
    expect([...a.files]).toEqual([...b.files]);
  });

  it("the manifest holds derived values, parameter counts and a source map for every emitted key", async () => {
    const { files } = await buildFiles(SEVEN_B);
    const manifest = JSON.parse(files.get("manifest.json")!);
    const pre = manifest.phases.pretrain;
    expect(pre.derived).toMatchObject({
      num_patches: 576,
      image_start_idx: 1,
      max_sequence_length: 2048,
      text_budget: 1471,
      max_steps: 2180,
      warmup_steps: 66,
      decay_steps: 2114,
    });
    expect(pre.parameters).toMatchObject({ total: 7_062_902_784, trainable: 20_979_712, frozen: 7_041_923_072 });
    for (const file of ["params.yaml", "preprocess.yaml"]) {
      const keys = [...flattenKeys(load(files.get(`pretrain/${file}`)!))];
      const mapped = Object.keys(pre.source_map[file]);
      expect(
        keys.filter((k) => !mapped.includes(k)),
        file,
      ).toEqual([]);
    }
    const spec = readFileSync(SEVEN_B, "utf8");
    const lr = locate(spec, "1e-3");
    expect(pre.source_map["params.yaml"]["optimizer.learning_rate.0.end_learning_rate"]).toEqual({
      file: "llava.llava",
      line: lr.line,
      column: lr.col,
      origin: "explicit",
    });
    expect(pre.source_map["params.yaml"]["model.image_start_idx"]).toMatchObject({ file: "llava.llava", origin: "derived" });
    expect(pre.source_map["params.yaml"]["model.text_model.num_hidden_layers"]).toMatchObject({
      file: "std/language.llava",
      origin: "explicit",
    });
    expect(pre.source_map["params.yaml"]["optimizer.eps"]).toMatchObject({ file: "std/core.llava", origin: "default" });
  });

  it("a spec's explicit tokenizer pad_id reaches the Cerebras writer's processing.pad_id; without one the key is absent", async () => {
    const plain = await buildFiles(SEVEN_B);
    expect(load(plain.files.get("pretrain/preprocess.yaml")!)).not.toHaveProperty("processing.pad_id");
    const spec = readFileSync(SEVEN_B, "utf8")
      .replace('import { vicuna_7b_v1_5 } from "std/language"', 'import { vicuna_7b_v1_5, llama2_tokenizer } from "std/language"')
      .replace(
        "language  = vicuna_7b_v1_5 { max_position_embeddings: 2048 }",
        "language  = vicuna_7b_v1_5 { max_position_embeddings: 2048, tokenizer: llama2_tokenizer { pad_id: 2 } }",
      );
    const { files, result } = await buildFiles(SEVEN_B, { source: spec });
    expect(result.diags.items.filter((x) => x.severity === "error")).toEqual([]);
    for (const phase of ["pretrain", "finetune"]) {
      const pre = load(files.get(`${phase}/preprocess.yaml`)!) as { processing: Record<string, unknown> };
      expect(pre.processing.pad_id).toBe(2);
    }
  });

  it("a cerebras_style the release does not know is an E0506 at the spec location that produced the key", async () => {
    const spec = readFileSync(SEVEN_B, "utf8").replace("template   = vicuna_v1", 'template   = vicuna_v1 { cerebras_style: "mine" }');
    const { result } = await buildFiles(SEVEN_B, { source: spec });
    expect(result.diags.items.filter((x) => x.severity === "error").map((x) => x.code)).toEqual(["E0506"]);
    const d = result.diags.items.find((x) => x.code === "E0506")!;
    expect(d.message).toMatch(/system_prompt_style "mine"/);
    expect({ line: d.span.line, col: d.span.col }).toEqual(locate(spec, '"mine"'));
  });
});

function* flattenKeys(v: unknown, prefix = ""): Generator<string> {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (v[i] !== null && typeof v[i] === "object") yield* flattenKeys(v[i], `${prefix}.${i}`);
      else yield `${prefix}`;
    }
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) yield* flattenKeys(x, prefix ? `${prefix}.${k}` : k);
  } else yield prefix;
}

describe("emit: release layouts", () => {
  const variant = (cluster: string) =>
    readFileSync(path.join(ROOT, "examples/llava-v1.5-7b/release-2.3.0-trainer.llava"), "utf8").replace(/cerebras cluster = .*/, cluster);
  const spec = path.join(ROOT, "examples/llava-v1.5-7b/release-2.3.0-trainer.llava");

  it("2.3.0 writes its trainer layout on request, 2.10 always", async () => {
    const t230 = await buildFiles(spec);
    expect(t230.files.get("pretrain/params.yaml")).toMatch(/^trainer:\n  init:\n    seed: 1\n    model:\n      image_model:/m);
    const t210 = await buildFiles(spec, { source: variant('cerebras cluster = v15.cluster { release: "2.10" }') });
    expect(t210.files.get("pretrain/params.yaml")).toMatch(/^trainer:\n  init:\n    backend:\n      backend_type: CSX\n/m);
  });

  it("a layout the release does not read is an error at the target's `format`", async () => {
    for (const [cluster, message] of [
      ['cerebras cluster = v15.cluster { format: "trainer" }', "release 2.2.1 has no trainer format"],
      ['cerebras cluster = v15.cluster { release: "2.10", format: "flat" }', "release 2.10 reads only the trainer format"],
    ]) {
      const r = await buildFiles(spec, { source: variant(cluster!) });
      // Once (not once per phase), and no schema rejection besides.
      expect(
        r.result.diags
          .sorted()
          .filter((x) => x.severity === "error")
          .map((x) => x.code),
      ).toEqual(["E0502"]);
      const d = r.result.diags.sorted().find((x) => x.code === "E0502");
      expect(d?.message).toBe(`params.yaml: ${message}`);
      expect(d?.span.file.endsWith("llava.llava") || d?.span.file.endsWith("release-2.3.0-trainer.llava")).toBe(true);
    }
  });
});
