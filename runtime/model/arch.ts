// The architecture description: from a model's configuration to its parameter list, with the exact
// names Cerebras' `Llava` module gives them (image_model.*, text_model.*, projector_image_model.*).
// This is the only place parameter names and shapes are defined. The compiler uses it for freeze checks
// and parameter counts; the tfjs model builds its variables from it.
//
// Shapes follow PyTorch: a linear layer's weight is [out, in].

export interface VisionArch {
  hidden_size: number;
  num_hidden_layers: number;
  num_heads: number;
  filter_size: number;
  image_size: [number, number];
  patch_size: [number, number];
  num_channels: number;
  prepend_cls_token: boolean;
  use_conv_patchified_embedding: boolean;
  use_embed_proj_bias: boolean;
  use_post_embed_layer_norm: boolean;
  use_final_layer_norm: boolean;
  use_projection_bias_in_attention: boolean;
  use_ffn_bias_in_attention: boolean;
  use_ffn_bias: boolean;
  position_embedding_type: "learned" | "fixed" | "none";
  nonlinearity: string;
}

export interface TextArch {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_heads: number;
  /** Grouped-query attention: key/value heads, each shared by num_heads / num_key_value_heads query heads (absent: num_heads). */
  num_key_value_heads?: number;
  filter_size: number;
  max_position_embeddings: number;
  position_embedding_type: "rotary" | "learned" | "fixed" | "alibi" | "relative" | "none";
  nonlinearity: string;
  norm_type: "rmsnorm" | "layernorm";
  use_projection_bias_in_attention: boolean;
  use_ffn_bias_in_attention: boolean;
  use_ffn_bias: boolean;
  use_bias_in_output: boolean;
  share_embedding_weights: boolean;
}

export interface ProjectorArch {
  input_unit: number;
  layers_units: number[];
  use_bias: boolean;
}

export interface LlavaArch {
  vision: VisionArch;
  text: TextArch;
  /** Absent when the vision features go straight into the text model (equal widths). */
  projector?: ProjectorArch;
}

export type Component = "image_model" | "text_model" | "projector_image_model";

// ── Names ──────────────────────────────────────────────────────────────────────────────────────────
// Every module and parameter name is made here, by the builders below; the model code, the initialiser
// and the HF name table take them from here instead of spelling them. The brands make a hand-written
// string a type error where a name is expected.

/** A module's full Cerebras name, e.g. `text_model.transformer_decoder.layers.3.self_attn.proj_q_dense_layer`. */
export type ModuleName = string & { readonly __name: "module" };
/** A parameter's full Cerebras name, e.g. `text_model.lm_head.weight`. */
export type ParamName = string & { readonly __name: "param" };
/** A layer index, or `#` for the pattern of every layer (the HF name table's rules). */
export type LayerIndex = number | "#";

const mod = (...parts: (string | number)[]): ModuleName => parts.join(".") as ModuleName;
export const weightOf = (m: ModuleName): ParamName => `${m}.weight` as ParamName;
export const biasOf = (m: ModuleName): ParamName => `${m}.bias` as ParamName;

export interface AttentionNames {
  q: ModuleName;
  k: ModuleName;
  v: ModuleName;
  output: ModuleName;
}
/** Cerebras' FeedForwardNetwork: ffn.0 (`up`, with `gate` for GLU activations), then ffn.1 (`down`). */
export interface FeedForwardNames {
  up: ModuleName;
  gate: ModuleName;
  down: ModuleName;
}
export interface BlockNames {
  attention: AttentionNames;
  ffn: FeedForwardNames;
}

function blockNames(at: ModuleName): BlockNames {
  const attn = mod(at, "self_attn");
  return {
    attention: {
      q: mod(attn, "proj_q_dense_layer"),
      k: mod(attn, "proj_k_dense_layer"),
      v: mod(attn, "proj_v_dense_layer"),
      output: mod(attn, "proj_output_dense_layer"),
    },
    ffn: {
      up: mod(at, "ffn.ffn.0.linear_layer"),
      gate: mod(at, "ffn.ffn.0.linear_layer_for_glu"),
      down: mod(at, "ffn.ffn.1.linear_layer"),
    },
  };
}

const VISION_EMBED = mod("image_model", "embedding_layer");
const VISION_ENCODER = mod("image_model", "encoder.transformer_encoder");
const TEXT_EMBED = mod("text_model", "embedding_layer");
const TEXT_DECODER = mod("text_model", "transformer_decoder");

/** The ViT's names (Cerebras' ViTModel inside `Llava.image_model`). */
export const VISION_NAMES = {
  /** The patch embedding: a Conv2d weight [H, C, ph, pw] (or a linear one [H, C·ph·pw]). */
  patchEmbedding: mod(VISION_EMBED, "linear_proj"),
  /** A bare parameter, with no module of its own. */
  cls: `${VISION_EMBED}.cls_embedding` as ParamName,
  positions: mod(VISION_EMBED, "position_embeddings"),
  postEmbedNorm: mod(VISION_EMBED, "post_embed_ln"),
  block: (i: LayerIndex) => ({
    ...blockNames(mod(VISION_ENCODER, "layers", i)),
    norm1: mod(VISION_ENCODER, "layers", i, "norm1"),
    norm2: mod(VISION_ENCODER, "layers", i, "norm2"),
  }),
  finalNorm: mod(VISION_ENCODER, "norm"),
} as const;

/** The LLaMA decoder's names (Cerebras' GPT2LMHeadModel inside `Llava.text_model`). */
export const TEXT_NAMES = {
  wordEmbeddings: mod(TEXT_EMBED, "word_embeddings"),
  positions: mod(TEXT_EMBED, "position_embeddings"),
  block: (i: LayerIndex) => ({
    ...blockNames(mod(TEXT_DECODER, "layers", i)),
    norm1: mod(TEXT_DECODER, "layers", i, "norm1"),
    norm3: mod(TEXT_DECODER, "layers", i, "norm3"),
  }),
  finalNorm: mod(TEXT_DECODER, "norm"),
  /** The same module as `finalNorm`: one tensor, two names. */
  finalNormAlias: mod("text_model", "ln_f"),
  lmHead: mod("text_model", "lm_head"),
} as const;

/** The projector's names (`Llava.projector_image_model`, a FeedForwardNetwork). */
export const PROJECTOR_NAMES = {
  layer: (i: LayerIndex) => mod("projector_image_model", "ffn", i, "linear_layer"),
} as const;

/** What a parameter is, which decides how it starts (runtime/model/params.ts). */
export type ParamRole = "weight" | "bias" | "norm_scale" | "norm_shift" | "embedding";

export interface ParamSpec {
  /** Full name relative to `Llava`, e.g. `text_model.lm_head.weight`. */
  name: ParamName;
  shape: number[];
  /** The module that owns the parameter (the name without its last part). */
  module: ModuleName;
  component: Component;
  role: ParamRole;
  /** Other names of the same tensor (`text_model.ln_f.weight` is `transformer_decoder.norm.weight`). */
  aliases: ParamName[];
}

export function isGlu(nonlinearity: string): boolean {
  return /glu$/i.test(nonlinearity);
}

export function numPatchesOf(v: Pick<VisionArch, "image_size" | "patch_size">): number {
  return Math.floor(v.image_size[0] / v.patch_size[0]) * Math.floor(v.image_size[1] / v.patch_size[1]);
}

/**
 * Which encoder outputs LLaVA feeds the projector: the patches, or the CLS token and the patches. On a
 * tower without a CLS token (SigLIP) `patch` is every output and `cls_patch` has nothing to add (the
 * checker refuses it, E0840).
 */
export type FeatureSelect = "patch" | "cls_patch";

/** The rule behind `num_patches`, as the emitted YAML's source map states it. */
export const NUM_PATCHES_RULE = "(H/p)·(W/p), + 1 for cls_patch";

/**
 * `num_patches`: the image slots LLaVA splices into the text, one per patch (plus the CLS token for
 * `cls_patch` on a tower that has one), and the formula with this model's numbers. The one home of both:
 * `check`, the manifest, the E0305 note and the configs all show these.
 */
export function imageSlots(
  v: Pick<VisionArch, "image_size" | "patch_size"> & { prepend_cls_token?: boolean },
  select: FeatureSelect,
): { count: number; formula: string } {
  const [[h, w], [ph, pw]] = [v.image_size, v.patch_size];
  const cls = select === "cls_patch" && v.prepend_cls_token !== false;
  return { count: numPatchesOf(v) + (cls ? 1 : 0), formula: `(${h}/${ph})·(${w}/${pw})${cls ? " + 1" : ""}` };
}

class ParamList {
  readonly params: ParamSpec[] = [];
  constructor(private readonly component: Component) {}
  private push(name: ParamName, shape: number[], role: ParamRole, aliases: ParamName[] = []): void {
    this.params.push({ name, shape, module: name.slice(0, name.lastIndexOf(".")) as ModuleName, component: this.component, role, aliases });
  }
  /** A tensor that is a module's `weight` but no linear layer's (embedding tables). */
  table(module: ModuleName, shape: number[], alias?: ModuleName): void {
    this.push(weightOf(module), shape, "embedding", alias ? [weightOf(alias)] : []);
  }
  bare(name: ParamName, shape: number[]): void {
    this.push(name, shape, "embedding");
  }
  linear(module: ModuleName, out: number, inp: number | number[], bias: boolean): void {
    this.push(weightOf(module), typeof inp === "number" ? [out, inp] : [out, ...inp], "weight");
    if (bias) this.push(biasOf(module), [out], "bias");
  }
  /** A bias-only tensor beside a weight another call made (the LM head's optional bias). */
  bias(module: ModuleName, width: number): void {
    this.push(biasOf(module), [width], "bias");
  }
  norm(module: ModuleName, width: number, type: "rmsnorm" | "layernorm", alias?: ModuleName): void {
    this.push(weightOf(module), [width], "norm_scale", alias ? [weightOf(alias)] : []);
    if (type === "layernorm") this.push(biasOf(module), [width], "norm_shift", alias ? [biasOf(alias)] : []);
  }
}

function feedForward(p: ParamList, n: FeedForwardNames, hidden: number, filter: number, nonlinearity: string, bias: boolean): void {
  p.linear(n.up, filter, hidden, bias);
  if (isGlu(nonlinearity)) p.linear(n.gate, filter, hidden, bias);
  p.linear(n.down, hidden, filter, bias);
}

/** q, k, v and the output projection; with grouped-query attention k and v are `kvWidth` wide (kv heads × head size). */
function attention(p: ParamList, n: AttentionNames, hidden: number, projBias: boolean, outBias: boolean, kvWidth = hidden): void {
  p.linear(n.q, hidden, hidden, projBias);
  p.linear(n.k, kvWidth, hidden, projBias);
  p.linear(n.v, kvWidth, hidden, projBias);
  p.linear(n.output, hidden, hidden, outBias);
}

/** Key/value heads of a text model (num_heads unless grouped-query attention says fewer). */
export function kvHeadsOf(t: Pick<TextArch, "num_heads" | "num_key_value_heads">): number {
  return t.num_key_value_heads ?? t.num_heads;
}

/**
 * The ViT's parameters, CLIP's or SigLIP's. SigLIP's attention-pooling head (HF `head.*`: probe, attention,
 * layernorm, mlp) is not part of the tree: LLaVA reads an encoder block's output and never runs it, and
 * Cerebras' ViTModel has no such module. Loading HF weights drops those tensors with that reason, and the
 * count fixture (test/fixtures/counts/siglip.json) records the towers' totals with and without it.
 */
export function visionParameters(v: VisionArch): ParamSpec[] {
  const p = new ParamList("image_model");
  const N = VISION_NAMES;
  const H = v.hidden_size;
  const [ph, pw] = v.patch_size;
  p.linear(
    N.patchEmbedding,
    H,
    v.use_conv_patchified_embedding ? [v.num_channels, ph, pw] : v.num_channels * ph * pw,
    v.use_embed_proj_bias,
  );
  if (v.prepend_cls_token) p.bare(N.cls, [H]);
  if (v.position_embedding_type === "learned") {
    // Cerebras keeps the CLS position as the last row (HF keeps it first).
    p.table(N.positions, [numPatchesOf(v) + (v.prepend_cls_token ? 1 : 0), H]);
  }
  if (v.use_post_embed_layer_norm) p.norm(N.postEmbedNorm, H, "layernorm");
  for (let i = 0; i < v.num_hidden_layers; i++) {
    const b = N.block(i);
    attention(p, b.attention, H, v.use_projection_bias_in_attention, v.use_ffn_bias_in_attention);
    feedForward(p, b.ffn, H, v.filter_size, v.nonlinearity, v.use_ffn_bias);
    p.norm(b.norm1, H, "layernorm");
    p.norm(b.norm2, H, "layernorm");
  }
  if (v.use_final_layer_norm) p.norm(N.finalNorm, H, "layernorm");
  return p.params;
}

export function textParameters(t: TextArch): ParamSpec[] {
  const p = new ParamList("text_model");
  const N = TEXT_NAMES;
  const H = t.hidden_size;
  p.table(N.wordEmbeddings, [t.vocab_size, H], t.share_embedding_weights ? N.lmHead : undefined);
  if (t.position_embedding_type === "learned") p.table(N.positions, [t.max_position_embeddings, H]);
  for (let i = 0; i < t.num_hidden_layers; i++) {
    const b = N.block(i);
    attention(p, b.attention, H, t.use_projection_bias_in_attention, t.use_ffn_bias_in_attention, (H / t.num_heads) * kvHeadsOf(t));
    p.norm(b.norm1, H, t.norm_type);
    p.norm(b.norm3, H, t.norm_type);
    feedForward(p, b.ffn, H, t.filter_size, t.nonlinearity, t.use_ffn_bias);
  }
  // `ln_f` is the same module as `transformer_decoder.norm`: one tensor, two names.
  p.norm(N.finalNorm, H, t.norm_type, N.finalNormAlias);
  if (!t.share_embedding_weights) p.linear(N.lmHead, t.vocab_size, H, false);
  if (t.use_bias_in_output) p.bias(N.lmHead, t.vocab_size);
  return p.params;
}

export function projectorParameters(pr: ProjectorArch): ParamSpec[] {
  const p = new ParamList("projector_image_model");
  let inp = pr.input_unit;
  pr.layers_units.forEach((out, i) => {
    p.linear(PROJECTOR_NAMES.layer(i), out, inp, pr.use_bias);
    inp = out;
  });
  return p.params;
}

export function llavaParameters(a: LlavaArch): ParamSpec[] {
  return [...visionParameters(a.vision), ...(a.projector ? projectorParameters(a.projector) : []), ...textParameters(a.text)];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Modules that own parameters and contain no other such module: what Cerebras' freeze regexes search. */
export function leafModules(params: readonly ParamSpec[]): string[] {
  const modules = new Set<string>();
  for (const p of params) {
    modules.add(p.module);
    for (const a of p.aliases) modules.add(a.slice(0, a.lastIndexOf(".")));
  }
  const parents = new Set<string>();
  for (const m of modules) {
    for (let i = m.indexOf("."); i >= 0; i = m.indexOf(".", i + 1)) parents.add(m.slice(0, i));
  }
  return [...modules].filter((m) => !parents.has(m)).sort();
}

/** A freeze pattern as the spec gives it (a RegExp fits too): Python's `re` flags i, m and s. */
export interface FreezePattern {
  source: string;
  flags: string;
}

export interface FreezeResult {
  frozen: ParamSpec[];
  trainable: ParamSpec[];
  /** For each pattern, the leaf modules it matched (Cerebras raises when this is empty). */
  matches: string[][];
  /** For each pattern, the parameters it freezes (a parameter two patterns freeze is in both lists). */
  frozenBy: ParamSpec[][];
  /** For each parameter, the indices of the patterns that freeze it (empty: trainable). */
  reasons: Map<ParamSpec, number[]>;
}

/**
 * Cerebras' rule: each regex is searched (not anchored) in every leaf module name; a matched module is
 * frozen whole, and so is any parameter whose own name matches. Aliases count as names: `/ln_f/` freezes
 * `transformer_decoder.norm`. This is the one implementation: the runtime's trainable variables, the
 * compiler's counts (total and per pattern) and `llavac params` all come from it.
 */
export function applyFreeze(params: readonly ParamSpec[], patterns: readonly FreezePattern[]): FreezeResult {
  const res = patterns.map((p) => new RegExp(p.source, p.flags));
  const leaves = leafModules(params);
  const matches = res.map((re) => leaves.filter((m) => re.test(m)));
  const matched = matches.map((m) => new Set(m));
  const frozen: ParamSpec[] = [];
  const trainable: ParamSpec[] = [];
  const frozenBy: ParamSpec[][] = res.map(() => []);
  const reasons = new Map<ParamSpec, number[]>();
  for (const p of params) {
    const names = [p.name, ...p.aliases];
    const modules = names.map((n) => n.slice(0, n.lastIndexOf(".")));
    const by: number[] = [];
    res.forEach((re, i) => {
      if (modules.some((m) => matched[i]!.has(m)) || names.some((n) => re.test(n))) {
        by.push(i);
        frozenBy[i]!.push(p);
      }
    });
    reasons.set(p, by);
    (by.length > 0 ? frozen : trainable).push(p);
  }
  return { frozen, trainable, matches, frozenBy, reasons };
}
