// HuggingFace ↔ Cerebras parameter names for LLaVA (the table of the Cerebras checkpoint converter),
// for the three layouts LLaVA weights come in:
//   transformers  LlavaForConditionalGeneration's modules (≥ 4.52): model.vision_tower.*,
//                 model.multi_modal_projector.*, model.language_model.*, lm_head.weight
//   hub           the llava-hf checkpoint format (what save_pretrained writes, and transformers < 4.52):
//                 vision_tower.*, multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight
//   llava         the original LLaVA repository (what Cerebras converts): model.*, model.mm_projector.{0,2},
//                 lm_head.weight, with the CLIP tower as vision_model.* (its own folder)
// The CLIP tower's own prefix varies too (vision_model.* inside or not); every form is accepted.
// One difference is not a rename: HF keeps the CLS position row first, Cerebras keeps it last (a tower
// without a CLS token, SigLIP, has no such row: the loader moves it only for a model that has a CLS token).
// SigLIP's names are CLIP's without pre_layrnorm and class_embedding; its pooling head is dropped.
import { biasOf, PROJECTOR_NAMES, TEXT_NAMES, VISION_NAMES, weightOf, type ModuleName, type ParamName } from "../model/arch.js";

export type HfLayout = "transformers" | "hub" | "llava";

/** A module's weight and bias under an HF module name. */
const both = (hf: string, cs: ModuleName): [string, ParamName][] => [
  [`${hf}.weight`, weightOf(cs)],
  [`${hf}.bias`, biasOf(cs)],
];

/**
 * Rules between the layout-free part of an HF name and the full Cerebras name (from runtime/model/arch.ts,
 * the one home of those names); `#` is a layer index.
 */
const V = VISION_NAMES,
  VB = VISION_NAMES.block("#");
const VISION: [string, ParamName][] = [
  ...both("embeddings.patch_embedding", V.patchEmbedding),
  ["embeddings.class_embedding", V.cls],
  ["embeddings.position_embedding.weight", weightOf(V.positions)],
  ...both("pre_layrnorm", V.postEmbedNorm),
  ...both("post_layernorm", V.finalNorm),
  ...(["q", "k", "v"] as const).flatMap((x) => both(`encoder.layers.#.self_attn.${x}_proj`, VB.attention[x])),
  ...both("encoder.layers.#.self_attn.out_proj", VB.attention.output),
  ...both("encoder.layers.#.mlp.fc1", VB.ffn.up),
  ...both("encoder.layers.#.mlp.fc2", VB.ffn.down),
  ...both("encoder.layers.#.layer_norm1", VB.norm1),
  ...both("encoder.layers.#.layer_norm2", VB.norm2),
];

const T = TEXT_NAMES,
  TB = TEXT_NAMES.block("#");
const TEXT: [string, ParamName][] = [
  ["embed_tokens.weight", weightOf(T.wordEmbeddings)],
  ["norm.weight", weightOf(T.finalNorm)],
  // Qwen2's q/k/v projections have biases (use_projection_bias_in_attention); LLaMA's and Mistral's do not.
  ...(["q", "k", "v"] as const).flatMap((x) => both(`layers.#.self_attn.${x}_proj`, TB.attention[x])),
  ["layers.#.self_attn.o_proj.weight", weightOf(TB.attention.output)],
  ["layers.#.input_layernorm.weight", weightOf(TB.norm1)],
  ["layers.#.post_attention_layernorm.weight", weightOf(TB.norm3)],
  ["layers.#.mlp.up_proj.weight", weightOf(TB.ffn.up)],
  ["layers.#.mlp.gate_proj.weight", weightOf(TB.ffn.gate)],
  ["layers.#.mlp.down_proj.weight", weightOf(TB.ffn.down)],
];

const LM_HEAD = weightOf(T.lmHead);
const VISION_POSITIONS = weightOf(V.positions);
/** `projector_image_model.ffn.(\d+).linear_layer.(weight|bias)`, from the projector's name builder. */
const PROJECTOR_PARAM = new RegExp(`^${PROJECTOR_NAMES.layer("#").replace(/\./g, "\\.").replace("#", "(\\d+)")}\\.(weight|bias)$`);

/** HF names that carry no weights (buffers) or belong to parts LLaVA does not use. */
const DROPPED = [
  /(^|\.)position_ids$/,
  /rotary_emb\.inv_freq$/,
  /^(text_model\.|logit_scale$|logit_bias$|visual_projection\.|text_projection\.)/,
];
/** SigLIP's attention-pooling head (SiglipMultiheadAttentionPoolingHead): not in the parameter tree (arch.ts). */
const POOLING_HEAD = /(^|\.)head\.(probe$|attention\.|layernorm\.|mlp\.)/;

const PREFIX: Record<HfLayout, { vision: string; projector: string; text: string; lmHead: string }> = {
  transformers: {
    vision: "model.vision_tower.vision_model.",
    projector: "model.multi_modal_projector.linear_",
    text: "model.language_model.",
    lmHead: "lm_head.weight",
  },
  hub: {
    vision: "vision_tower.vision_model.",
    projector: "multi_modal_projector.linear_",
    text: "language_model.model.",
    lmHead: "language_model.lm_head.weight",
  },
  llava: { vision: "vision_model.", projector: "model.mm_projector.", text: "model.", lmHead: "lm_head.weight" },
};

/** Every prefix the CLIP tower's names are found under, longest first. */
const VISION_PREFIXES = [
  "model.vision_tower.vision_model.",
  "model.vision_tower.",
  "vision_tower.vision_model.",
  "vision_tower.",
  "vision_model.",
];

function compile(rules: [string, string][], from: 0 | 1): [RegExp, string][] {
  return rules.map((r) => {
    const src = r[from].replace(/\./g, "\\.").replace("#", "(\\d+)");
    return [new RegExp(`^${src}$`), r[1 - from]!.replace("#", "$1")];
  });
}

const HF_TO_CS = { vision: compile(VISION, 0), text: compile(TEXT, 0) };
const CS_TO_HF = { vision: compile(VISION, 1), text: compile(TEXT, 1) };

function apply<T extends string = string>(rules: [RegExp, string][], name: string): T | undefined {
  for (const [re, to] of rules) if (re.test(name)) return name.replace(re, to) as T;
  return undefined;
}

export type Mapped =
  | { kind: "param"; cs: ParamName; layout: HfLayout; clsRowFirst?: true }
  | { kind: "dropped"; reason: string }
  | { kind: "unknown" };

/** The Cerebras name of an HF LLaVA tensor name, in whichever layout it is. */
export function hfToCerebras(name: string): Mapped {
  // The original LLaVA repository nests the tower twice inside its checkpoints; Cerebras takes the
  // vision weights from the separate CLIP folder instead.
  if (name.startsWith("model.vision_tower.vision_tower."))
    return { kind: "dropped", reason: "vision tower copy inside an original LLaVA checkpoint (the CLIP folder's weights are used)" };
  for (const r of DROPPED) if (r.test(name)) return { kind: "dropped", reason: "not a LLaVA weight" };
  if (POOLING_HEAD.test(name))
    return { kind: "dropped", reason: "SigLIP's attention-pooling head (LLaVA reads the encoder's features and never runs it)" };
  for (const prefix of VISION_PREFIXES) {
    if (!name.startsWith(prefix)) continue;
    const cs = apply<ParamName>(HF_TO_CS.vision, name.slice(prefix.length));
    const layout: HfLayout = prefix.startsWith("model.") ? "transformers" : prefix.startsWith("vision_tower.") ? "hub" : "llava";
    if (cs) return { kind: "param", cs, layout, ...(cs === VISION_POSITIONS ? { clsRowFirst: true as const } : {}) };
  }
  for (const layout of ["transformers", "hub", "llava"] as const) {
    const p = PREFIX[layout];
    if (name === p.lmHead) return { kind: "param", cs: LM_HEAD, layout };
    if (name.startsWith(p.projector)) {
      const m = /^(\d+)\.(weight|bias)$/.exec(name.slice(p.projector.length));
      if (m) {
        const k = Number(m[1]);
        // linear_1, linear_2 (transformers) or Sequential indices 0, 2 with the GELU at 1 (original LLaVA).
        const index = layout === "llava" ? k / 2 : k - 1;
        if (Number.isInteger(index) && index >= 0) {
          const layer = PROJECTOR_NAMES.layer(index);
          return { kind: "param", cs: m[2] === "bias" ? biasOf(layer) : weightOf(layer), layout };
        }
      }
    }
    if (name.startsWith(p.text)) {
      const cs = apply<ParamName>(HF_TO_CS.text, name.slice(p.text.length));
      if (cs) return { kind: "param", cs, layout };
    }
  }
  return { kind: "unknown" };
}

/** The HF name of a Cerebras parameter in `layout`; undefined for aliases (ln_f) and tied heads. */
export function cerebrasToHf(cs: string, layout: HfLayout): { hf: string; clsRowFirst?: true } | undefined {
  const p = PREFIX[layout];
  if (cs === LM_HEAD) return { hf: p.lmHead };
  const vision = apply(CS_TO_HF.vision, cs);
  if (vision) return { hf: p.vision + vision, ...(cs === VISION_POSITIONS ? { clsRowFirst: true as const } : {}) };
  const m = PROJECTOR_PARAM.exec(cs);
  if (m) return { hf: `${p.projector}${layout === "llava" ? Number(m[1]) * 2 : Number(m[1]) + 1}.${m[2]}` };
  const text = apply(CS_TO_HF.text, cs);
  return text ? { hf: p.text + text } : undefined;
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
