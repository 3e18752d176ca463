// HuggingFace ↔ Cerebras parameter names for LLaVA (the table of the Cerebras checkpoint converter),
// for the three layouts LLaVA weights come in:
//   transformers  LlavaForConditionalGeneration's modules (≥ 4.52): model.vision_tower.*,
//                 model.multi_modal_projector.*, model.language_model.*, lm_head.weight
//   hub           the llava-hf checkpoint format (what save_pretrained writes, and transformers < 4.52):
//                 vision_tower.*, multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight
//   llava         the original LLaVA repository (what Cerebras converts): model.*, model.mm_projector.{0,2},
//                 lm_head.weight, with the CLIP tower as vision_model.* (its own folder)
// The CLIP tower's own prefix varies too (vision_model.* inside or not); every form is accepted.
// One difference is not a rename: HF keeps the CLS position row first, Cerebras keeps it last.

export type HfLayout = "transformers" | "hub" | "llava";

/** Rules between the layout-free part of an HF name and the Cerebras name; `#` is a layer index. */
const VISION: [string, string][] = [
  ["embeddings.patch_embedding.weight", "embedding_layer.linear_proj.weight"],
  ["embeddings.patch_embedding.bias", "embedding_layer.linear_proj.bias"],
  ["embeddings.class_embedding", "embedding_layer.cls_embedding"],
  ["embeddings.position_embedding.weight", "embedding_layer.position_embeddings.weight"],
  ["pre_layrnorm.weight", "embedding_layer.post_embed_ln.weight"],
  ["pre_layrnorm.bias", "embedding_layer.post_embed_ln.bias"],
  ["post_layernorm.weight", "encoder.transformer_encoder.norm.weight"],
  ["post_layernorm.bias", "encoder.transformer_encoder.norm.bias"],
  ...(["q", "k", "v"] as const).flatMap((x) => (["weight", "bias"] as const).map((w): [string, string] => [`encoder.layers.#.self_attn.${x}_proj.${w}`, `encoder.transformer_encoder.layers.#.self_attn.proj_${x}_dense_layer.${w}`])),
  ...(["weight", "bias"] as const).flatMap((w): [string, string][] => [
    [`encoder.layers.#.self_attn.out_proj.${w}`, `encoder.transformer_encoder.layers.#.self_attn.proj_output_dense_layer.${w}`],
    [`encoder.layers.#.mlp.fc1.${w}`, `encoder.transformer_encoder.layers.#.ffn.ffn.0.linear_layer.${w}`],
    [`encoder.layers.#.mlp.fc2.${w}`, `encoder.transformer_encoder.layers.#.ffn.ffn.1.linear_layer.${w}`],
    [`encoder.layers.#.layer_norm1.${w}`, `encoder.transformer_encoder.layers.#.norm1.${w}`],
    [`encoder.layers.#.layer_norm2.${w}`, `encoder.transformer_encoder.layers.#.norm2.${w}`],
  ]),
];

const TEXT: [string, string][] = [
  ["embed_tokens.weight", "embedding_layer.word_embeddings.weight"],
  ["norm.weight", "transformer_decoder.norm.weight"],
  ...(["q", "k", "v"] as const).map((x): [string, string] => [`layers.#.self_attn.${x}_proj.weight`, `transformer_decoder.layers.#.self_attn.proj_${x}_dense_layer.weight`]),
  ["layers.#.self_attn.o_proj.weight", "transformer_decoder.layers.#.self_attn.proj_output_dense_layer.weight"],
  ["layers.#.input_layernorm.weight", "transformer_decoder.layers.#.norm1.weight"],
  ["layers.#.post_attention_layernorm.weight", "transformer_decoder.layers.#.norm3.weight"],
  ["layers.#.mlp.up_proj.weight", "transformer_decoder.layers.#.ffn.ffn.0.linear_layer.weight"],
  ["layers.#.mlp.gate_proj.weight", "transformer_decoder.layers.#.ffn.ffn.0.linear_layer_for_glu.weight"],
  ["layers.#.mlp.down_proj.weight", "transformer_decoder.layers.#.ffn.ffn.1.linear_layer.weight"],
];

/** HF names that carry no weights (buffers) or belong to parts LLaVA does not use. */
const DROPPED = [
  /(^|\.)position_ids$/, /rotary_emb\.inv_freq$/, /^(text_model\.|logit_scale$|visual_projection\.|text_projection\.)/,
];

const PREFIX: Record<HfLayout, { vision: string; projector: string; text: string; lmHead: string }> = {
  transformers: { vision: "model.vision_tower.vision_model.", projector: "model.multi_modal_projector.linear_", text: "model.language_model.", lmHead: "lm_head.weight" },
  hub: { vision: "vision_tower.vision_model.", projector: "multi_modal_projector.linear_", text: "language_model.model.", lmHead: "language_model.lm_head.weight" },
  llava: { vision: "vision_model.", projector: "model.mm_projector.", text: "model.", lmHead: "lm_head.weight" },
};

/** Every prefix the CLIP tower's names are found under, longest first. */
const VISION_PREFIXES = ["model.vision_tower.vision_model.", "model.vision_tower.", "vision_tower.vision_model.", "vision_tower.", "vision_model."];

function compile(rules: [string, string][], from: 0 | 1): [RegExp, string][] {
  return rules.map((r) => {
    const src = r[from].replace(/\./g, "\\.").replace("#", "(\\d+)");
    return [new RegExp(`^${src}$`), r[1 - from]!.replace("#", "$1")];
  });
}

const HF_TO_CS = { vision: compile(VISION, 0), text: compile(TEXT, 0) };
const CS_TO_HF = { vision: compile(VISION, 1), text: compile(TEXT, 1) };

function apply(rules: [RegExp, string][], name: string): string | undefined {
  for (const [re, to] of rules) if (re.test(name)) return name.replace(re, to);
  return undefined;
}

export type Mapped =
  | { kind: "param"; cs: string; layout: HfLayout; clsRowFirst?: true }
  | { kind: "dropped"; reason: string }
  | { kind: "unknown" };

/** The Cerebras name of an HF LLaVA tensor name, in whichever layout it is. */
export function hfToCerebras(name: string): Mapped {
  // The original LLaVA repository nests the tower twice inside its checkpoints; Cerebras takes the
  // vision weights from the separate CLIP folder instead.
  if (name.startsWith("model.vision_tower.vision_tower.")) return { kind: "dropped", reason: "vision tower copy inside an original LLaVA checkpoint (the CLIP folder's weights are used)" };
  for (const r of DROPPED) if (r.test(name)) return { kind: "dropped", reason: "not a LLaVA weight" };
  for (const prefix of VISION_PREFIXES) {
    if (!name.startsWith(prefix)) continue;
    const cs = apply(HF_TO_CS.vision, name.slice(prefix.length));
    const layout: HfLayout = prefix.startsWith("model.") ? "transformers" : prefix.startsWith("vision_tower.") ? "hub" : "llava";
    if (cs) return { kind: "param", cs: "image_model." + cs, layout, ...(cs.endsWith("position_embeddings.weight") ? { clsRowFirst: true as const } : {}) };
  }
  for (const layout of ["transformers", "hub", "llava"] as const) {
    const p = PREFIX[layout];
    if (name === p.lmHead) return { kind: "param", cs: "text_model.lm_head.weight", layout };
    if (name.startsWith(p.projector)) {
      const m = /^(\d+)\.(weight|bias)$/.exec(name.slice(p.projector.length));
      if (m) {
        const k = Number(m[1]);
        // linear_1, linear_2 (transformers) or Sequential indices 0, 2 with the GELU at 1 (original LLaVA).
        const index = layout === "llava" ? k / 2 : k - 1;
        if (Number.isInteger(index) && index >= 0) return { kind: "param", cs: `projector_image_model.ffn.${index}.linear_layer.${m[2]}`, layout };
      }
    }
    if (name.startsWith(p.text)) {
      const cs = apply(HF_TO_CS.text, name.slice(p.text.length));
      if (cs) return { kind: "param", cs: "text_model." + cs, layout };
    }
  }
  return { kind: "unknown" };
}

/** The HF name of a Cerebras parameter in `layout`; undefined for aliases (ln_f) and tied heads. */
export function cerebrasToHf(cs: string, layout: HfLayout): { hf: string; clsRowFirst?: true } | undefined {
  const p = PREFIX[layout];
  if (cs === "text_model.lm_head.weight") return { hf: p.lmHead };
  if (cs.startsWith("image_model.")) {
    const rest = apply(CS_TO_HF.vision, cs.slice("image_model.".length));
    return rest ? { hf: p.vision + rest, ...(rest.endsWith("position_embedding.weight") ? { clsRowFirst: true as const } : {}) } : undefined;
  }
  const m = /^projector_image_model\.ffn\.(\d+)\.linear_layer\.(weight|bias)$/.exec(cs);
  if (m) return { hf: `${p.projector}${layout === "llava" ? Number(m[1]) * 2 : Number(m[1]) + 1}.${m[2]}` };
  if (cs.startsWith("text_model.")) {
    const rest = apply(CS_TO_HF.text, cs.slice("text_model.".length));
    return rest ? { hf: p.text + rest } : undefined;
  }
  return undefined;
}

/** HF's position table (CLS row first) → Cerebras' (CLS row last), for a [rows, width] table. */
export function clsRowToLast(values: Float32Array, rows: number, width: number): Float32Array {
  const out = new Float32Array(values.length);
  out.set(values.subarray(width), 0);
  out.set(values.subarray(0, width), (rows - 1) * width);
  return out;
}

/** Cerebras' position table (CLS row last) → HF's (CLS row first). */
export function clsRowToFirst(values: Float32Array, rows: number, width: number): Float32Array {
  const out = new Float32Array(values.length);
  out.set(values.subarray((rows - 1) * width), 0);
  out.set(values.subarray(0, (rows - 1) * width), width);
  return out;
}
