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

export interface ParamSpec {
  /** Full name relative to `Llava`, e.g. `text_model.lm_head.weight`. */
  name: string;
  shape: number[];
  /** The module that owns the parameter (the name without its last part). */
  module: string;
  component: Component;
  /** Other names of the same tensor (`text_model.ln_f.weight` is `transformer_decoder.norm.weight`). */
  aliases: string[];
}

export function isGlu(nonlinearity: string): boolean {
  return /glu$/i.test(nonlinearity);
}

export function numPatchesOf(v: Pick<VisionArch, "image_size" | "patch_size">): number {
  return Math.floor(v.image_size[0] / v.patch_size[0]) * Math.floor(v.image_size[1] / v.patch_size[1]);
}

/** Which encoder outputs LLaVA feeds the projector: the patches, or the CLS token and the patches. */
export type FeatureSelect = "patch" | "cls_patch";

/** The rule behind `num_patches`, as the emitted YAML's source map states it. */
export const NUM_PATCHES_RULE = "(H/p)·(W/p), + 1 for cls_patch";

/**
 * `num_patches`: the image slots LLaVA splices into the text, one per patch (plus the CLS token for
 * `cls_patch`), and the formula with this model's numbers. The one home of both: `check`, the manifest,
 * the E0305 note and the configs all show these.
 */
export function imageSlots(v: Pick<VisionArch, "image_size" | "patch_size">, select: FeatureSelect): { count: number; formula: string } {
  const [[h, w], [ph, pw]] = [v.image_size, v.patch_size];
  const cls = select === "cls_patch";
  return { count: numPatchesOf(v) + (cls ? 1 : 0), formula: `(${h}/${ph})·(${w}/${pw})${cls ? " + 1" : ""}` };
}

class ParamList {
  readonly params: ParamSpec[] = [];
  constructor(private readonly component: Component) {}
  add(module: string, leaf: string, shape: number[], aliases: string[] = []): void {
    const prefix = this.component + "." + module;
    this.params.push({ name: prefix + "." + leaf, shape, module: prefix, component: this.component, aliases: aliases.map((a) => this.component + "." + a) });
  }
  linear(module: string, out: number, inp: number, bias: boolean): void {
    this.add(module, "weight", [out, inp]);
    if (bias) this.add(module, "bias", [out]);
  }
}

function feedForward(p: ParamList, at: string, hidden: number, filter: number, nonlinearity: string, bias: boolean): void {
  p.linear(`${at}.ffn.ffn.0.linear_layer`, filter, hidden, bias);
  if (isGlu(nonlinearity)) p.linear(`${at}.ffn.ffn.0.linear_layer_for_glu`, filter, hidden, bias);
  p.linear(`${at}.ffn.ffn.1.linear_layer`, hidden, filter, bias);
}

function attention(p: ParamList, at: string, hidden: number, projBias: boolean, outBias: boolean): void {
  for (const x of ["q", "k", "v"]) p.linear(`${at}.self_attn.proj_${x}_dense_layer`, hidden, hidden, projBias);
  p.linear(`${at}.self_attn.proj_output_dense_layer`, hidden, hidden, outBias);
}

function norm(p: ParamList, module: string, width: number, type: "rmsnorm" | "layernorm"): void {
  p.add(module, "weight", [width]);
  if (type === "layernorm") p.add(module, "bias", [width]);
}

export function visionParameters(v: VisionArch): ParamSpec[] {
  const p = new ParamList("image_model");
  const H = v.hidden_size;
  const [ph, pw] = v.patch_size;
  if (v.use_conv_patchified_embedding) p.add("embedding_layer.linear_proj", "weight", [H, v.num_channels, ph, pw]);
  else p.add("embedding_layer.linear_proj", "weight", [H, v.num_channels * ph * pw]);
  if (v.use_embed_proj_bias) p.add("embedding_layer.linear_proj", "bias", [H]);
  if (v.prepend_cls_token) p.params.push({ name: "image_model.embedding_layer.cls_embedding", shape: [H], module: "image_model.embedding_layer", component: "image_model", aliases: [] });
  if (v.position_embedding_type === "learned") {
    // Cerebras keeps the CLS position as the last row (HF keeps it first).
    p.add("embedding_layer.position_embeddings", "weight", [numPatchesOf(v) + (v.prepend_cls_token ? 1 : 0), H]);
  }
  if (v.use_post_embed_layer_norm) norm(p, "embedding_layer.post_embed_ln", H, "layernorm");
  for (let i = 0; i < v.num_hidden_layers; i++) {
    const at = `encoder.transformer_encoder.layers.${i}`;
    attention(p, at, H, v.use_projection_bias_in_attention, v.use_ffn_bias_in_attention);
    feedForward(p, at, H, v.filter_size, v.nonlinearity, v.use_ffn_bias);
    norm(p, `${at}.norm1`, H, "layernorm");
    norm(p, `${at}.norm2`, H, "layernorm");
  }
  if (v.use_final_layer_norm) norm(p, "encoder.transformer_encoder.norm", H, "layernorm");
  return p.params;
}

export function textParameters(t: TextArch): ParamSpec[] {
  const p = new ParamList("text_model");
  const H = t.hidden_size;
  p.add("embedding_layer.word_embeddings", "weight", [t.vocab_size, H], t.share_embedding_weights ? ["lm_head.weight"] : []);
  if (t.position_embedding_type === "learned") p.add("embedding_layer.position_embeddings", "weight", [t.max_position_embeddings, H]);
  for (let i = 0; i < t.num_hidden_layers; i++) {
    const at = `transformer_decoder.layers.${i}`;
    attention(p, at, H, t.use_projection_bias_in_attention, t.use_ffn_bias_in_attention);
    norm(p, `${at}.norm1`, H, t.norm_type);
    norm(p, `${at}.norm3`, H, t.norm_type);
    feedForward(p, at, H, t.filter_size, t.nonlinearity, t.use_ffn_bias);
  }
  // `ln_f` is the same module as `transformer_decoder.norm`: one tensor, two names.
  p.add("transformer_decoder.norm", "weight", [H], ["ln_f.weight"]);
  if (t.norm_type === "layernorm") p.add("transformer_decoder.norm", "bias", [H], ["ln_f.bias"]);
  if (!t.share_embedding_weights) p.add("lm_head", "weight", [t.vocab_size, H]);
  if (t.use_bias_in_output) p.add("lm_head", "bias", [t.vocab_size]);
  return p.params;
}

export function projectorParameters(pr: ProjectorArch): ParamSpec[] {
  const p = new ParamList("projector_image_model");
  let inp = pr.input_unit;
  pr.layers_units.forEach((out, i) => {
    p.linear(`ffn.${i}.linear_layer`, out, inp, pr.use_bias);
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
      if (modules.some((m) => matched[i]!.has(m)) || names.some((n) => re.test(n))) { by.push(i); frozenBy[i]!.push(p); }
    });
    reasons.set(p, by);
    (by.length > 0 ? frozen : trainable).push(p);
  }
  return { frozen, trainable, matches, frozenBy, reasons };
}
