// `llavac check --weights`: a small HF-layout weights folder generated here, matching the tiny example,
// passes; each kind of mismatch is one diagnostic at the spec field, naming the JSON file and key.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../compiler/compile.js";
import { tempDir } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

const TINY = path.join(ROOT, "examples/tiny-shapes/tiny.llava");

const clip = {
  model_type: "clip_vision_model",
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 128,
  layer_norm_eps: 1e-5,
  hidden_act: "quick_gelu",
  image_size: 32,
  patch_size: 8,
  num_channels: 3,
};
const llava = {
  model_type: "llava",
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 172,
  vocab_size: 512,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  max_position_embeddings: 4096,
  mm_projector_type: "mlp2x_gelu",
  mm_hidden_size: 64,
  mm_vision_select_layer: -1,
  mm_vision_select_feature: "patch",
  mm_use_im_start_end: false,
  mm_use_im_patch_token: false,
};

/** Seed step 3's layout, with every file the check looks for. */
function folder(over: { clip?: object; llava?: object; skip?: string[] } = {}): string {
  const dir = tempDir("llavac-weights-");
  const put = (rel: string, content: string) => {
    if (over.skip?.includes(rel)) return;
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content, "latin1");
  };
  put("image_model/config.json", JSON.stringify({ ...clip, ...over.clip }));
  put(
    "image_model/preprocessor_config.json",
    JSON.stringify({ crop_size: 32, do_center_crop: true, image_mean: [0.48145466, 0.4578275, 0.40821073] }),
  );
  put("image_model/pytorch_model.bin", "x");
  put("text_model/config.json", JSON.stringify({ ...llava, ...over.llava }));
  put("text_model/config_lmsys.json", JSON.stringify({ model_type: "llama" }));
  put(
    "text_model/pytorch_model.bin.index.json",
    JSON.stringify({
      weight_map: { "model.embed_tokens.weight": "pytorch_model-00001-of-00002.bin", "lm_head.weight": "pytorch_model-00002-of-00002.bin" },
    }),
  );
  put("text_model/pytorch_model-00001-of-00002.bin", "x");
  put("text_model/pytorch_model-00002-of-00002.bin", "x");
  // The weights ship the tokenizer they were trained with: the example's own.
  put("text_model/tokenizer.model", readFileSync(path.join(ROOT, "examples/tiny-shapes/tokenizer/tokenizer.model"), "latin1"));
  for (const f of ["tokenizer_config.json", "special_tokens_map.json"]) put(`text_model/${f}`, "{}");
  return dir;
}

async function weightDiags(dir: string) {
  const r = await compile(TINY, { cwd: ROOT, env: {}, weights: dir });
  return r.diags
    .sorted()
    .filter((d) => d.code.startsWith("E06"))
    .map((d) => ({
      code: d.code,
      message: d.message,
      line: d.span.line,
      file: path.basename(d.span.file),
      notes: d.notes.map((n) => n.message).join(" | "),
    }));
}

describe("llavac check --weights", () => {
  it("a folder that matches the spec has no findings", async () => {
    expect(await weightDiags(folder())).toEqual([]);
  });

  it("a CLIPModel config (vision_config nested) is unwrapped", async () => {
    const dir = folder();
    writeFileSync(
      path.join(dir, "image_model/config.json"),
      JSON.stringify({ model_type: "clip", vision_config: clip, text_config: { hidden_size: 512 } }),
    );
    expect(await weightDiags(dir)).toEqual([]);
  });

  const mismatches: [string, { clip?: object; llava?: object }, string, RegExp][] = [
    ["vision hidden size", { clip: { hidden_size: 128 } }, "image_model/config.json", /hidden_size = 128, but the spec has 64/],
    ["vision layers", { clip: { num_hidden_layers: 24 } }, "image_model/config.json", /num_hidden_layers = 24/],
    ["vision heads", { clip: { num_attention_heads: 16 } }, "image_model/config.json", /num_attention_heads = 16/],
    ["vision intermediate size", { clip: { intermediate_size: 256 } }, "image_model/config.json", /intermediate_size = 256/],
    ["vision layer-norm eps", { clip: { layer_norm_eps: 1e-6 } }, "image_model/config.json", /layer_norm_eps = 0.000001/],
    ["image size", { clip: { image_size: 336 } }, "image_model/config.json", /image_size = \[336,336\], but the spec has \[32,32\]/],
    ["patch size", { clip: { patch_size: 14 } }, "image_model/config.json", /patch_size = \[14,14\]/],
    ["text hidden size", { llava: { hidden_size: 4096 } }, "text_model/config.json", /hidden_size = 4096/],
    ["text layers", { llava: { num_hidden_layers: 32 } }, "text_model/config.json", /num_hidden_layers = 32/],
    ["text heads", { llava: { num_attention_heads: 32 } }, "text_model/config.json", /num_attention_heads = 32/],
    ["text intermediate size", { llava: { intermediate_size: 11008 } }, "text_model/config.json", /intermediate_size = 11008/],
    ["vocabulary", { llava: { vocab_size: 32064 } }, "text_model/config.json", /vocab_size = 32064/],
    ["rms-norm eps", { llava: { rms_norm_eps: 1e-6 } }, "text_model/config.json", /rms_norm_eps = 0.000001/],
    ["rope theta", { llava: { rope_theta: 500000 } }, "text_model/config.json", /rope_theta = 500000/],
    [
      "projector type",
      { llava: { mm_projector_type: "linear" } },
      "text_model/config.json",
      /mm_projector_type = "linear", but the spec has "mlp2x_gelu"/,
    ],
    [
      "projector input width",
      { llava: { mm_hidden_size: 1024 } },
      "text_model/config.json",
      /mm_hidden_size = 1024.*the projector's input width/,
    ],
    [
      "vision select layer",
      { llava: { mm_vision_select_layer: -2 } },
      "text_model/config.json",
      /mm_vision_select_layer = -2, but the spec has -1/,
    ],
    [
      "vision select feature",
      { llava: { mm_vision_select_feature: "cls_patch" } },
      "text_model/config.json",
      /mm_vision_select_feature = "cls_patch"/,
    ],
  ];
  it.each(mismatches)("%s: one E0602 at the spec field, naming the file and key", async (_, over, file, message) => {
    const found = await weightDiags(folder(over));
    expect(found).toHaveLength(1);
    expect(found[0]!.code).toBe("E0602");
    expect(found[0]!.message).toMatch(message);
    expect(found[0]!.notes).toContain(file.replace("/", path.sep));
  });

  it("a positive HF select layer is Cerebras' index minus one", async () => {
    // HF 2 (hidden state 2 = after block 1) is Cerebras' block 1, not the spec's −1 → reported with the translation.
    const found = await weightDiags(folder({ llava: { mm_vision_select_layer: 2 } }));
    expect(found.map((f) => f.message)).toEqual([
      expect.stringMatching(/mm_vision_select_layer = 2, but the spec has -1 \(HF's 2 is Cerebras' 1\)/),
    ]);
  });

  it("missing files, a shard index that lists missing shards, and a missing folder", async () => {
    const dir = folder({
      skip: [
        "text_model/config_lmsys.json",
        "image_model/preprocessor_config.json",
        "text_model/pytorch_model-00002-of-00002.bin",
        "text_model/tokenizer.model",
      ],
    });
    const found = await weightDiags(dir);
    expect(found.map((f) => f.code).sort()).toEqual(["E0601", "E0601", "E0601", "E0603"]);
    expect(found.map((f) => f.message).join("\n")).toMatch(/image_model has no preprocessor_config.json/);
    expect(found.map((f) => f.message).join("\n")).toMatch(/text_model has no config_lmsys.json/);
    expect(found.map((f) => f.message).join("\n")).toMatch(/text_model has no tokenizer.model/);
    expect(found.map((f) => f.message).join("\n")).toMatch(
      /pytorch_model.bin.index.json lists 1 shard file\(s\) that do not exist: pytorch_model-00002-of-00002.bin/,
    );
    rmSync(path.join(dir, "image_model"), { recursive: true });
    expect((await weightDiags(dir)).map((f) => f.message).join("\n")).toMatch(/image_model is missing/);
    expect((await weightDiags(path.join(dir, "nowhere"))).map((f) => f.message)).toEqual([
      expect.stringMatching(/weights folder .*nowhere does not exist/),
    ]);
  });

  it("the spec's tokenizer.model must be the weights' tokenizer", async () => {
    const dir = folder();
    const tokenizer = path.join(dir, "spec-tokenizer.model");
    writeFileSync(tokenizer, "another vocabulary");
    writeFileSync(path.join(dir, "text_model/tokenizer.model"), "the weights' vocabulary");
    const source = readFileSync(TINY, "utf8").replace(
      /tokenizer: tokenizer \{[^}]*\}/,
      `tokenizer: tokenizer { huggingface: "x", model: ${JSON.stringify(tokenizer)} }`,
    );
    expect(source).toContain(JSON.stringify(tokenizer));
    const r = await compile(TINY, { cwd: ROOT, env: {}, weights: dir, source });
    const codes = r.diags.sorted().map((d) => d.code);
    // The fake tokenizer cannot be loaded (E0308), and it is not the weights' one (E0604).
    expect(codes).toContain("E0604");
    const d = r.diags.sorted().find((x) => x.code === "E0604")!;
    expect(d.message).toMatch(/is not the weights' .*text_model\/tokenizer.model/);
  });
});
