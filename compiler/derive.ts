// Derived values: what the Cerebras configs make users copy by hand, computed from the spec instead.
//   num_patches      = (H/p)·(W/p), + 1 for cls_patch (runtime/model/arch.ts imageSlots)
//   image_start_idx  = where the first image slot lands when the template is tokenised
//   max_seq_length   = the language model's max_position_embeddings
//   text_budget      = MSL − num_patches − 1
//   max_steps        = ⌊samples / batch⌋ · epochs; warm-up = round(warmup% · max_steps); decay = rest
//   parameters       = from the architecture description, split by the freeze patterns
// A value the spec also states explicitly must agree (E0305).
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import {
  applyFreeze,
  imageSlots,
  llavaParameters,
  numel,
  type FreezePattern,
  type FreezeResult,
  type LlavaArch,
  type ParamSpec,
} from "../runtime/model/arch.js";
import { imageStartIndex, type Template } from "../runtime/text/layout.js";
import { EMBEDDED_FAMILY, loadTokenizer, type Tokenizer, tokenizerSourceOf } from "../runtime/text/tokenizer.js";
import type { CheckContext } from "./context.js";
import { BYTE_LEVEL_FAMILIES, sound, type ModelIR, type PhaseIR, type PhaseUnit, type Quantity } from "./ir.js";
import { shownPath, thousands } from "../runtime/util/format.js";

export interface ScheduleDerived {
  samples?: number;
  runBatch: number;
  stepsBatch: number;
  stepsPerEpoch?: number;
  maxSteps?: number;
  warmup?: number;
  decay?: number;
  formula: { maxSteps?: string; warmup?: string; decay?: string };
}

export interface ParamCounts {
  total: number;
  trainable: number;
  frozen: number;
  byComponent: Record<string, { total: number; trainable: number }>;
  /** Per freeze pattern: how many leaf modules and parameters it matched. */
  patterns: { source: string; flags?: string; modules: number; params: number }[];
}

export interface Derived {
  imageSize: [number, number];
  patchSize: [number, number];
  numPatches: number;
  /** `num_patches` with this model's numbers, e.g. `(336/14)·(336/14)`. */
  numPatchesFormula: string;
  imageStartIdx?: number;
  msl: number;
  textBudget: number;
  headDim: number;
  rotaryDim: number;
  projector: { input_unit: number; layers_units: number[]; layers_activation: (string | null)[]; use_bias: boolean };
  schedule: ScheduleDerived;
  arch: LlavaArch;
  params: ParamSpec[];
  counts: ParamCounts;
  /** The freeze split itself: which parameters each pattern freezes (what `llavac params` lists). */
  freeze: FreezeResult;
  freezeMatches: string[][];
  tokenizer?: { bos: number; eos: number; pad: number; vocabSize: number; source: string };
}

export function pair(v: number | [number, number]): [number, number] {
  return Array.isArray(v) ? [v[0], v[1]] : [v, v];
}

export function templateOf(t: PhaseIR["template"]): Template {
  const base: Template = { name: t.$name ?? "template", layout: t.layout, system: t.system, user: t.user, assistant: t.assistant };
  if (t.layout !== "turns") return base;
  return {
    ...base,
    turns: {
      bos: t.bos,
      systemHeader: t.system_header,
      systemFooter: t.system_footer,
      userHeader: t.user_header,
      userFooter: t.user_footer,
      assistantHeader: t.assistant_header,
      assistantFooter: t.assistant_footer,
      separator: t.separator,
      trim: t.trim,
    },
  };
}

/**
 * A `huggingface` that is a local folder (`./…`, `../…`, `/…`: a Hub name is `owner/name` and starts with neither)
 * is what the Cerebras writer's AutoTokenizer loads, so it must exist and hold the tokenizer that `model` or `json`
 * names here: otherwise the writer fails, or tokenises with another vocabulary than the one llavac derives with.
 */
function localHfFolder(ctx: CheckContext, unit: PhaseUnit, tk: { model?: string; json?: string; huggingface?: string }): void {
  const hf = tk.huggingface!;
  if (!/^(\.{1,2})?\//.test(hf)) return;
  const dir = ctx.resolvePath(hf);
  const ours = tk.json ?? tk.model;
  const field = tk.json !== undefined ? "json" : "model";
  const file = path.join(dir, tk.json !== undefined ? "tokenizer.json" : "tokenizer.model");
  const note =
    "the Cerebras HDF5 writer loads `huggingface` with transformers' AutoTokenizer; a value starting with `.` or `/` is a local folder";
  if (!existsSync(dir)) {
    // Like a data folder, it may be made where the job runs: a warning, as for data (W0408).
    ctx.diags.warning(
      "W1100",
      `the Hugging Face tokenizer folder ${hf} does not exist`,
      ctx.spanOf(unit, "model.language.tokenizer.huggingface"),
      {
        notes: [{ message: note }],
        help: `create it with the tokenizer${ours !== undefined ? ` that \`${field}\` names` : ""} and its tokenizer_config.json before the writer runs, or name the tokenizer's Hugging Face repository (\`owner/name\`)`,
      },
    );
    return;
  }
  let problem: string | undefined;
  if (!statSync(dir).isDirectory()) problem = "is not a folder";
  else if (!existsSync(file)) problem = `holds no ${path.basename(file)}`;
  else if (ours !== undefined && !readFileSync(file).equals(readFileSync(ctx.resolvePath(ours))))
    problem = `holds another ${path.basename(file)} than ${ours}`;
  if (problem === undefined) return;
  ctx.diags.error("E1100", `the Hugging Face tokenizer folder ${hf} ${problem}`, ctx.spanOf(unit, "model.language.tokenizer.huggingface"), {
    notes: [{ message: note }],
    help:
      ours !== undefined
        ? `put the ${path.basename(file)} that \`${field}\` names in that folder (with its tokenizer_config.json), or name the tokenizer's Hugging Face repository`
        : "name the tokenizer's Hugging Face repository (`owner/name`), or a folder that holds it",
  });
}

/** Whether the template can be laid out with this tokenizer: its special tokens are the tokenizer's, and a
 *  template that starts with BOS has one. Laying out `<|eot_id|>` as plain text would train the wrong tokens. */
function templateFits(ctx: CheckContext, unit: PhaseUnit, tok: Tokenizer): boolean {
  const t = unit.ir.template;
  const name = t.$name ? `template \`${t.$name}\`` : "the template";
  let ok = true;
  const specials = tok.specialTokens();
  const missing = t.layout === "turns" ? t.special_tokens.filter((s) => !specials.has(s)) : [];
  if (missing.length > 0) {
    ok = false;
    ctx.diags.error(
      "E0822",
      `${name} uses the special token${missing.length > 1 ? "s" : ""} ${missing.map((s) => `\`${s}\``).join(", ")}, which the tokenizer ${shownPath(tok.source)} does not have`,
      ctx.spanOf(unit, "template"),
      {
        notes: ctx.noteAt(unit, "template.special_tokens", "the template's special tokens are listed here"),
        help: "give the language model the tokenizer this template was written for (its tokenizer.json names these tokens in added_tokens)",
      },
    );
  }
  const needsBos = t.layout !== "turns" || t.bos;
  if (needsBos && tok.bosId < 0) {
    ok = false;
    ctx.diags.error(
      "E0823",
      `${name} starts each sample with BOS, but the tokenizer ${shownPath(tok.source)} has no bos_token`,
      ctx.spanOf(unit, "template"),
      {
        help:
          t.layout === "turns"
            ? "set `bos: false` on the template (Qwen2's ChatML has no BOS), or give a tokenizer with a bos_token"
            : "use a `turns` template with `bos: false` (such as `chatml`), or a tokenizer whose tokenizer_config.json names a bos_token",
      },
    );
  }
  return ok;
}

export function projectorShape(m: ModelIR): Derived["projector"] {
  const text = m.language.hidden_size;
  const p = m.projector;
  if (p.$schema === "linear_projector")
    return { input_unit: m.vision.hidden_size, layers_units: [text], layers_activation: [null], use_bias: p.use_bias };
  const units = Array.from({ length: p.depth }, () => text);
  const acts = units.map((_, i) => (i < units.length - 1 ? p.activation : null));
  return { input_unit: m.vision.hidden_size, layers_units: units, layers_activation: acts, use_bias: p.use_bias };
}

export function archOf(m: ModelIR): LlavaArch {
  const v = m.vision,
    t = m.language;
  const proj = projectorShape(m);
  return {
    vision: {
      hidden_size: v.hidden_size,
      num_hidden_layers: v.num_hidden_layers,
      num_heads: v.num_heads,
      filter_size: v.filter_size,
      image_size: pair(v.image_size),
      patch_size: pair(v.patch_size),
      num_channels: v.num_channels,
      prepend_cls_token: v.prepend_cls_token,
      use_conv_patchified_embedding: v.use_conv_patchified_embedding,
      use_embed_proj_bias: v.use_embed_proj_bias,
      use_post_embed_layer_norm: v.use_post_embed_layer_norm,
      use_final_layer_norm: v.use_final_layer_norm,
      use_projection_bias_in_attention: v.use_projection_bias_in_attention,
      use_ffn_bias_in_attention: v.use_ffn_bias_in_attention,
      use_ffn_bias: v.use_ffn_bias,
      position_embedding_type:
        v.position_embedding_type === "fixed" ? "fixed" : v.position_embedding_type === "learned" ? "learned" : "none",
      nonlinearity: v.nonlinearity,
    },
    text: {
      vocab_size: t.vocab_size,
      hidden_size: t.hidden_size,
      num_hidden_layers: t.num_hidden_layers,
      num_heads: t.num_heads,
      ...(t.num_key_value_heads !== undefined ? { num_key_value_heads: t.num_key_value_heads } : {}),
      filter_size: t.filter_size,
      max_position_embeddings: t.max_position_embeddings,
      position_embedding_type: t.position_embedding_type,
      nonlinearity: t.nonlinearity,
      norm_type: t.norm_type,
      use_projection_bias_in_attention: t.use_projection_bias_in_attention,
      use_ffn_bias_in_attention: t.use_ffn_bias_in_attention,
      use_ffn_bias: t.use_ffn_bias,
      use_bias_in_output: t.use_bias_in_output,
      share_embedding_weights: t.share_embedding_weights,
    },
    projector: { input_unit: proj.input_unit, layers_units: proj.layers_units, use_bias: proj.use_bias },
  };
}

/** Exact `round(percent% · steps)` without floating-point surprises (3% of 2000 is 60, not 61). */
export function percentOf(percent: number, steps: number, mode: "ceil" | "floor" | "round"): number {
  const scaled = Math.round(percent * 1e6);
  const num = scaled * steps;
  const den = 100 * 1e6;
  const q = Math.floor(num / den),
    r = num - q * den;
  if (mode === "floor" || r === 0) return q;
  if (mode === "ceil") return q + 1;
  return 2 * r >= den ? q + 1 : q;
}

const fmt = thousands;

export function deriveSchedule(ir: PhaseIR): ScheduleDerived {
  const s = ir.schedule;
  const runBatch = ir.batch.global;
  const stepsBatch = s.reference_batch ?? runBatch;
  const counts = ir.data.map((d) => d.samples);
  const samples = counts.length > 0 && counts.every((c) => c !== undefined) ? counts.reduce((a, b) => a! + b!, 0) : undefined;
  const out: ScheduleDerived = { runBatch, stepsBatch, formula: {} };
  if (samples !== undefined) out.samples = samples;
  const length: Quantity = s.length;
  if (length.unit === "steps") {
    out.maxSteps = length.value;
    out.formula.maxSteps = `${fmt(length.value)} steps (given)`;
  } else if (samples !== undefined) {
    out.stepsPerEpoch = Math.floor(samples / stepsBatch);
    out.maxSteps = Math.floor(length.value * out.stepsPerEpoch);
    out.formula.maxSteps = `⌊${fmt(samples)} / ${stepsBatch}⌋${length.value !== 1 ? ` × ${length.value}` : ""}`;
  }
  if (s.$schema === "warmup_cosine" && out.maxSteps !== undefined) {
    if (s.warmup.unit === "percent") {
      out.warmup = percentOf(s.warmup.value, out.maxSteps, s.warmup_rounding);
      const sym = s.warmup_rounding === "ceil" ? ["⌈", "⌉"] : s.warmup_rounding === "floor" ? ["⌊", "⌋"] : ["round(", ")"];
      out.formula.warmup = `${sym[0]}${s.warmup.value}% × ${fmt(out.maxSteps)}${sym[1]}`;
    } else {
      out.warmup = s.warmup.value;
      out.formula.warmup = `${fmt(s.warmup.value)} steps (given)`;
    }
    if (s.decay) {
      out.decay = s.decay.value;
      out.formula.decay = `${fmt(s.decay.value)} steps (given)`;
    } else {
      out.decay = out.maxSteps - out.warmup;
      out.formula.decay = `${fmt(out.maxSteps)} − ${fmt(out.warmup)}`;
    }
  }
  return out;
}

/** Totals of a freeze split; the per-pattern counts are sums over the split's own `frozenBy` lists. */
export function countParams(params: readonly ParamSpec[], split: FreezeResult, patterns: readonly FreezePattern[]): ParamCounts {
  const frozenSet = new Set(split.frozen);
  const counts: ParamCounts = { total: 0, trainable: 0, frozen: 0, byComponent: {}, patterns: [] };
  for (const p of params) {
    const n = numel(p.shape);
    counts.total += n;
    const c = (counts.byComponent[p.component] ??= { total: 0, trainable: 0 });
    c.total += n;
    if (frozenSet.has(p)) counts.frozen += n;
    else {
      counts.trainable += n;
      c.trainable += n;
    }
  }
  counts.patterns = patterns.map((pat, i) => ({
    source: pat.source,
    ...(pat.flags ? { flags: pat.flags } : {}),
    modules: split.matches[i]!.length,
    params: split.frozenBy[i]!.reduce((a, p) => a + numel(p.shape), 0),
  }));
  return counts;
}

export type PartialDerived = Partial<Derived>;

/** The id the HDF5 writer pads with: the spec's `pad_id`, else the tokenizer folder's rule (derived). */
export function writerPadId(ir: PhaseIR, d: PartialDerived): number | undefined {
  return ir.model.language.tokenizer?.pad_id ?? d.tokenizer?.pad;
}

const paramCache = new Map<string, ParamSpec[]>();
const freezeCache = new Map<string, { counts: ParamCounts; split: FreezeResult }>();
const startCache = new Map<string, number>();

export function isComplete(d: PartialDerived): d is Derived {
  return (
    d.imageSize !== undefined &&
    d.schedule !== undefined &&
    d.params !== undefined &&
    d.counts !== undefined &&
    d.imageStartIdx !== undefined &&
    d.projector !== undefined
  );
}

/**
 * Derive what can be derived. Each part needs only its own inputs to be sound, so one bad value in a
 * phase does not hide the checks that do not depend on it.
 */
export async function derivePhase(unit: PhaseUnit, ctx: CheckContext): Promise<PartialDerived> {
  const ir = unit.ir;
  const m = ir.model;
  const d: PartialDerived = {};
  const modelOk = sound(unit, "model");
  if (sound(unit, "model.vision.image_size", "model.vision.patch_size", "model.vision.select", "model.vision.prepend_cls_token")) {
    d.imageSize = pair(m.vision.image_size);
    d.patchSize = pair(m.vision.patch_size);
    const slots = imageSlots(
      { image_size: d.imageSize, patch_size: d.patchSize, prepend_cls_token: m.vision.prepend_cls_token },
      m.vision.select,
    );
    d.numPatches = slots.count;
    d.numPatchesFormula = slots.formula;
  }
  if (sound(unit, "model.language.max_position_embeddings")) {
    d.msl = m.language.max_position_embeddings;
    if (d.numPatches !== undefined) d.textBudget = d.msl - d.numPatches - 1;
  }
  if (sound(unit, "model.language.hidden_size", "model.language.num_heads", "model.language.rotary_dim")) {
    d.headDim = m.language.hidden_size / m.language.num_heads;
    d.rotaryDim = m.language.rotary_dim ?? d.headDim;
  }
  if (modelOk) {
    d.projector = projectorShape(m);
    d.arch = archOf(m);
    // Specs often share one model between phases (and generated ones, many equal models): the
    // parameter tree and its freeze split depend only on the architecture and the patterns.
    const archKey = JSON.stringify(d.arch);
    let params = paramCache.get(archKey);
    if (!params) {
      params = llavaParameters(d.arch);
      paramCache.set(archKey, params);
    }
    d.params = params;
    if (sound(unit, "freeze")) {
      const freezeKey = archKey + JSON.stringify(ir.freeze);
      let split = freezeCache.get(freezeKey);
      if (!split) {
        const freeze = applyFreeze(params, ir.freeze);
        split = { counts: countParams(params, freeze, ir.freeze), split: freeze };
        freezeCache.set(freezeKey, split);
      }
      d.counts = split.counts;
      d.freeze = split.split;
      d.freezeMatches = split.split.matches;
    }
  }
  if (sound(unit, "schedule", "data", "batch")) d.schedule = deriveSchedule(ir);

  // The tokenizer is needed for image_start_idx (and for bos/pad ids in the configs).
  if (sound(unit, "model.language.tokenizer", "model.language.tokenizer_family", "model.language.vocab_size")) {
    let tok: Tokenizer | undefined;
    const tk = m.language.tokenizer,
      family = m.language.tokenizer_family;
    const byteLevel = BYTE_LEVEL_FAMILIES.includes(family);
    const which = tk?.json ?? tk?.model;
    if (tk?.model !== undefined && tk.json !== undefined) {
      ctx.diags.error(
        "E0820",
        "the tokenizer gives both a sentencepiece `model` and a `json`: which one tokenises?",
        ctx.spanOf(unit, "model.language.tokenizer.json"),
        {
          notes: ctx.noteAt(unit, "model.language.tokenizer.model", "the sentencepiece model is given here"),
          help: "keep one: `json` for a tokenizer.json, `model` for a sentencepiece tokenizer.model",
        },
      );
    } else if (tk?.model !== undefined && byteLevel) {
      ctx.diags.error(
        "E0821",
        `${family}-family tokenizers are byte-level BPE, shipped as tokenizer.json, but the spec gives a sentencepiece \`model\``,
        ctx.spanOf(unit, "model.language.tokenizer.model"),
        {
          notes: ctx.noteAt(unit, "model.language.tokenizer_family", "the family is declared here"),
          help: `give the model's tokenizer.json: \`tokenizer: tokenizer { json: "…/tokenizer.json", huggingface: "…" }\``,
        },
      );
    } else if (which === undefined && family !== EMBEDDED_FAMILY) {
      // The embedded vocabulary is LLaMA-2's: tokenising another family's prompts with it gives a wrong
      // image_start_idx and wrong HDF5 files, so there is no tokenizer to derive with.
      ctx.diags.error(
        "E0311",
        `${m.language.$name ? `\`${m.language.$name}\`` : "the language model"} is a ${family}-family model, but the spec gives it no tokenizer (\`model\` or \`json\`); llavac's embedded vocabulary is ${EMBEDDED_FAMILY}'s`,
        ctx.spanOf(unit, "model.language.tokenizer_family"),
        {
          notes: [
            ...ctx.noteAt(unit, "model.language.tokenizer_family", `the family is declared here`),
            { message: "image_start_idx and the HDF5 files are derived by tokenising the template with the model's vocabulary" },
          ],
          help: byteLevel
            ? `give the model's own: \`tokenizer: tokenizer { json: "…/tokenizer.json", huggingface: "<its Hugging Face name>" }\``
            : `give the model's own: \`tokenizer: tokenizer { model: "…/tokenizer.model", huggingface: "<its Hugging Face name>" }\` (or its tokenizer.json as \`json\`)`,
        },
      );
    } else
      try {
        tok = await loadTokenizer(
          tokenizerSourceOf(tk, (p) => ctx.resolvePath(p)),
          tk?.pad_id,
        );
      } catch (err) {
        ctx.diags.error(
          "E0308",
          { which: which !== undefined ? ` ${which}` : "", reason: (err as Error).message },
          ctx.spanOf(unit, tk?.json !== undefined ? "model.language.tokenizer.json" : "model.language.tokenizer.model"),
          {
            help:
              tk?.json !== undefined
                ? "give a Hugging Face tokenizer.json (with its tokenizer_config.json beside it)"
                : `give a sentencepiece BPE tokenizer.model${family === EMBEDDED_FAMILY ? ", or leave `model` unset to use the embedded LLaMA-2 vocabulary" : ""}`,
          },
        );
      }
    if (tok) {
      if (tk?.huggingface !== undefined) localHfFolder(ctx, unit, tk);
      d.tokenizer = { bos: tok.bosId, eos: tok.eosId, pad: tok.padId, vocabSize: tok.vocabSize, source: tok.source };
      const templateOk = sound(unit, "template") && templateFits(ctx, unit, tok);
      if (d.numPatches !== undefined && templateOk) {
        const t = templateOf(ir.template);
        const key = `${tok.source}\0${JSON.stringify(t)}\0${d.numPatches}`;
        let idx = startCache.get(key);
        if (idx === undefined) {
          idx = imageStartIndex(tok, t, d.numPatches);
          startCache.set(key, idx);
        }
        d.imageStartIdx = idx;
      }
      // A larger embedding than the tokenizer is fine (Qwen2 pads 151,646 tokens to 152,064 rows); ids past it are not.
      if (tok.vocabSize > m.language.vocab_size || (tok.vocabSize !== m.language.vocab_size && !tk?.json)) {
        ctx.diags.error(
          "E0315",
          `the tokenizer has ${fmt(tok.vocabSize)} pieces but the language model's vocab_size is ${fmt(m.language.vocab_size)}`,
          ctx.spanOf(unit, "model.language.vocab_size"),
          {
            notes: [{ message: `tokenizer: ${shownPath(tok.source)}` }],
          },
        );
      }
    }
  }
  return d;
}
