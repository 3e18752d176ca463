// `llavac import`: Cerebras Model Zoo LLaVA params YAML (2.2.1 and 2.3.0 flat, 2.10 trainer) → a .llava
// spec. The compiler is its own oracle: a first spec names the standard-library model closest to the
// config and only what every phase must say; it is compiled and emitted, every key where the emitted
// YAML differs from the input becomes an override at the spec field that produces it, and the result is
// compiled once more and compared key by key. Keys llavac does not know are reported with their line
// and column, never dropped silently.
import path from "node:path";
import { compile } from "../compile.js";
import type { Derived } from "../derive.js";
import { emitParams, FP16_TYPE, LLAMA_KEYS, VIT_KEYS } from "../emit/cerebras-params.js";
import { TRAINER_SCHEDULERS } from "../emit/cerebras-trainer.js";
import { toPlain } from "../emit/yaml.js";
import type { CerebrasTargetIR, LlamaIR, TemplateIR } from "../ir.js";
import { stdlib, type StdInstance } from "../stdlib.js";
import { baseOf, enumsIn, type Type } from "../types.js";
import { imageStartIndex } from "../../runtime/text/layout.js";
import { EMBEDDED_FAMILY, loadTokenizer } from "../../runtime/text/tokenizer.js";
import { readYaml, YamlRefused, type YamlSource } from "./yaml-source.js";

export interface ImportProblem {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

export interface ImportResult {
  spec: string;
  problems: ImportProblem[];
  /** Key-by-key agreement of the rebuilt YAML with each input, after the final compile. */
  verified: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

function flatten(v: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(v) && v.some((x) => isObj(x) || Array.isArray(x))) v.forEach((x, i) => flatten(x, `${prefix}.${i}`, out));
  else if (isObj(v) && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  else out.set(prefix, v);
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

// ---- the trainer format (2.10) back to the flat one ------------------------------------------------

const SCHEDULER_NAMES: Record<string, string> = Object.fromEntries(Object.entries(TRAINER_SCHEDULERS).map(([flat, cls]) => [cls, flat]));

/** The flat document of a 2.10 config, and for each flat key the trainer key it came from. */
function fromTrainer(t: Obj, problems: (path: string, message: string) => void): { flat: Obj; origin: Map<string, string> } {
  const origin = new Map<string, string>();
  const init = (t.init ?? {}) as Obj;
  const fit = (t.fit ?? {}) as Obj;
  const known = new Set(["init", "fit", "validate", "validate_all"]);
  for (const k of Object.keys(t)) if (!known.has(k)) problems(`trainer.${k}`, `unknown key trainer.${k}`);
  const initKnown = new Set([
    "backend",
    "seed",
    "model",
    "optimizer",
    "schedulers",
    "precision",
    "loop",
    "checkpoint",
    "logging",
    "callbacks",
  ]);
  for (const k of Object.keys(init)) if (!initKnown.has(k)) problems(`trainer.init.${k}`, `unknown key trainer.init.${k}`);
  const precision = (init.precision ?? {}) as Obj;
  const move = (flatKey: string, trainerKey: string) => origin.set(flatKey, trainerKey);

  const model: Obj = {};
  for (const [k, v] of Object.entries((init.model ?? {}) as Obj)) {
    if (k === "name") continue;
    model[k] = v;
    move(`model.${k}`, `trainer.init.model.${k}`);
  }
  if (precision.enabled !== undefined) {
    model.mixed_precision = precision.enabled;
    move("model.mixed_precision", "trainer.init.precision.enabled");
  }
  if (precision.fp16_type !== undefined) {
    model.fp16_type = precision.fp16_type;
    move("model.fp16_type", "trainer.init.precision.fp16_type");
  }

  const callbacks = (init.callbacks ?? []) as Obj[];
  const callback = (name: string) => callbacks.find((c) => name in c)?.[name] as Obj | undefined;
  callbacks.forEach((c, i) => {
    const name = Object.keys(c)[0]!;
    if (!["ScopedTrainFlags", "ScopedValidateFlags", "ComputeNorm", "KeepNCheckpoints", "LoadCheckpointStates"].includes(name))
      problems(`trainer.init.callbacks.${i}`, `unknown callback ${name}`);
  });
  const loader = (src: Obj | undefined, flatSection: string, trainerSection: string, flags: Obj | undefined): Obj | undefined => {
    if (!src) return undefined;
    const o: Obj = {};
    for (const [k, v] of Object.entries(src)) {
      o[k] = v;
      move(`${flatSection}.${k}`, `${trainerSection}.${k}`);
    }
    const micro = flags?.["csx.performance.micro_batch_size"];
    if (micro !== undefined) o.micro_batch_size = micro;
    if (precision.enabled !== undefined) o.mixed_precision = precision.enabled;
    return o;
  };
  const train = loader(
    fit.train_dataloader as Obj | undefined,
    "train_input",
    "trainer.fit.train_dataloader",
    callback("ScopedTrainFlags"),
  );
  const val = loader(fit.val_dataloader as Obj | undefined, "eval_input", "trainer.fit.val_dataloader", callback("ScopedValidateFlags"));
  for (const [section, key] of [
    ["validate", "val_dataloader"],
    ["validate_all", "val_dataloaders"],
  ] as const) {
    const v = (t[section] as Obj | undefined)?.[key];
    if (v !== undefined && !same(v, fit.val_dataloader))
      problems(
        `trainer.${section}.${key}`,
        `trainer.${section}.${key} differs from fit.val_dataloader; llavac writes one validation loader`,
      );
  }

  const optimizer: Obj = { optimizer_type: "AdamW" };
  const adamw = ((init.optimizer ?? {}) as Obj).AdamW as Obj | undefined;
  if (!adamw) problems("trainer.init.optimizer", "only AdamW is supported");
  for (const [k, v] of Object.entries(adamw ?? {})) {
    optimizer[k] = v;
    move(`optimizer.${k}`, `trainer.init.optimizer.AdamW.${k}`);
  }
  const schedulers = (init.schedulers ?? []) as Obj[];
  const seq =
    schedulers.length === 1 && "SequentialLR" in schedulers[0]!
      ? (((schedulers[0]!.SequentialLR as Obj).schedulers ?? []) as Obj[])
      : schedulers;
  const segments = seq.map((s) => {
    const name = Object.keys(s)[0]!;
    return { scheduler: SCHEDULER_NAMES[name] ?? name, ...(s[name] as Obj) };
  });
  optimizer.learning_rate = segments.length === 1 && segments[0]!.scheduler === "constant" ? (segments[0] as Obj).learning_rate : segments;
  if (precision.loss_scaling_factor !== undefined) optimizer.loss_scaling_factor = precision.loss_scaling_factor;
  if (precision.max_gradient_norm !== undefined) optimizer.max_gradient_norm = precision.max_gradient_norm;
  if (precision.log_loss_scale !== undefined) optimizer.log_summaries = precision.log_loss_scale;

  const loop = (init.loop ?? {}) as Obj;
  const runconfig: Obj = {};
  const put = (k: string, v: unknown, from: string) => {
    if (v !== undefined) {
      runconfig[k] = v;
      move(`runconfig.${k}`, from);
    }
  };
  put("max_steps", loop.max_steps, "trainer.init.loop.max_steps");
  put("log_steps", ((init.logging ?? {}) as Obj).log_steps, "trainer.init.logging.log_steps");
  put("checkpoint_steps", ((init.checkpoint ?? {}) as Obj).steps, "trainer.init.checkpoint.steps");
  put("eval_steps", loop.eval_steps, "trainer.init.loop.eval_steps");
  put("max_checkpoints", callback("KeepNCheckpoints")?.n, "trainer.init.callbacks");
  put("seed", init.seed, "trainer.init.seed");
  put("eval_frequency", loop.eval_frequency, "trainer.init.loop.eval_frequency");
  put("load_checkpoint_states", callback("LoadCheckpointStates")?.load_checkpoint_states, "trainer.init.callbacks");
  const flat: Obj = { ...(train ? { train_input: train } : {}), ...(val ? { eval_input: val } : {}), model, optimizer, runconfig };
  return { flat, origin };
}

// ---- from a flat key to the spec field that produces it -------------------------------------------

type Where = "vision" | "language" | "phase" | "loader" | "run" | "optimizer" | "eval" | "derived" | "skeleton" | "precision";
interface FieldRef {
  where: Where;
  field: string;
}

/** The model keys the emitter writes: anything else under image_model or text_model is unknown. */
const VISION_FIELDS = new Set(VIT_KEYS.map(([k]) => k));
const TEXT_FIELDS = new Set(LLAMA_KEYS.map(([k]) => k));

/** The standard-library schema each place's fields belong to (their types say how to write a value). */
const SCHEMA_OF: Partial<Record<Where, string>> = {
  vision: "vit",
  language: "llama",
  phase: "phase",
  loader: "loader",
  run: "run",
  optimizer: "adamw",
  eval: "eval_input",
};
const typeAt = (where: Where, field: string): Type | undefined =>
  SCHEMA_OF[where] ? stdlib().fieldType(SCHEMA_OF[where]!, field) : undefined;
const FP16: Record<string, string> = Object.fromEntries(Object.entries(FP16_TYPE).map(([spec, yaml]) => [yaml, spec]));

function fieldOf(key: string): FieldRef | undefined {
  const [section, ...rest] = key.split(".");
  const k = rest.join(".");
  if (section === "model") {
    const field = k.slice(k.indexOf(".") + 1).split(".")[0]!;
    if (k.startsWith("image_model."))
      return k === "image_model.name" ? { where: "derived", field: k } : VISION_FIELDS.has(field) ? { where: "vision", field } : undefined;
    if (k.startsWith("text_model."))
      return k === "text_model.name" ? { where: "derived", field: k } : TEXT_FIELDS.has(field) ? { where: "language", field } : undefined;
    if (k.startsWith("projector.")) return { where: "derived", field: k };
    if (k === "image_feature_select_layer_idx") return { where: "vision", field: "select_layer" };
    if (k === "image_feature_select_mode") return { where: "vision", field: "select" };
    if (k === "image_start_idx") return { where: "derived", field: k };
    if (k === "freeze" || k.startsWith("freeze.")) return { where: "skeleton", field: "freeze" };
    if (k === "loss_scaling" || k === "loss_weight") return { where: "phase", field: k };
    if (k === "mixed_precision" || k === "fp16_type") return { where: "precision", field: k };
    return undefined;
  }
  if (section === "train_input" || section === "eval_input") {
    const ev = section === "eval_input";
    const map: Record<string, FieldRef> = {
      data_dir: ev ? { where: "eval", field: "hdf5" } : { where: "skeleton", field: "hdf5" },
      img_data_dir: ev ? { where: "eval", field: "images" } : { where: "skeleton", field: "images" },
      shuffle: ev ? { where: "eval", field: "shuffle" } : { where: "loader", field: "shuffle" },
      shuffle_seed: ev ? { where: "eval", field: "shuffle_seed" } : { where: "loader", field: "shuffle_seed" },
      batch_size: { where: "skeleton", field: "batch" },
      micro_batch_size: { where: "skeleton", field: "batch" },
      drop_last: { where: "loader", field: "drop_last" },
      num_workers: { where: "loader", field: "num_workers" },
      prefetch_factor: { where: "loader", field: "prefetch_factor" },
      persistent_workers: { where: "loader", field: "persistent_workers" },
      data_processor: { where: "derived", field: "data_processor" },
      image_data_size: { where: "derived", field: "image_data_size" },
      bos_token_id: { where: "derived", field: "bos_token_id" },
      pad_token_id: { where: "derived", field: "pad_token_id" },
      fp16_type: { where: "precision", field: "fp16_type" },
      mixed_precision: { where: "precision", field: "mixed_precision" },
    };
    if (k.startsWith("transforms")) return { where: "phase", field: "transforms" };
    const f = map[k];
    // Evaluation keys other than its data and shuffling follow the training input.
    if (f && ev && !["eval", "derived", "precision"].includes(f.where) && !["data_dir", "img_data_dir"].includes(k))
      return { where: "derived", field: `eval ${k}` };
    return f;
  }
  if (section === "optimizer") {
    if (k === "optimizer_type") return { where: "derived", field: k };
    if (k === "learning_rate" || k.startsWith("learning_rate.")) return { where: "skeleton", field: "schedule" };
    if (k === "max_gradient_norm") return { where: "optimizer", field: "max_grad_norm" };
    if (k === "log_summaries") return { where: "run", field: "log_summaries" };
    if (k === "loss_scaling_factor") return { where: "precision", field: k };
    if (["betas", "eps", "weight_decay", "correct_bias"].includes(k)) return { where: "optimizer", field: k };
    return undefined;
  }
  if (section === "runconfig") {
    if (k === "max_steps") return { where: "skeleton", field: "schedule" };
    if (k === "load_checkpoint_states") return { where: "skeleton", field: "from" };
    if (["log_steps", "checkpoint_steps", "eval_steps", "max_checkpoints", "seed", "eval_frequency"].includes(k))
      return { where: "run", field: k };
    return undefined;
  }
  return undefined;
}

/** The options of a type, through refinements and unions. */
const optionsOf = (t: Type | undefined): Type[] => {
  if (!t) return [];
  const b = baseOf(t);
  return b.k === "union" ? b.options.flatMap(optionsOf) : [b];
};

/** A YAML value as a spec literal of the field's type: enum members bare, tuples in parentheses. */
function literal(type: Type | undefined, v: unknown): string {
  if (v === null || v === undefined) return "none";
  if (typeof v === "string") return enumsIn(type ?? { k: "error" }).some((e) => e.members.includes(v)) ? v : JSON.stringify(v);
  if (typeof v === "number")
    return Number.isInteger(v) ? String(v) : String(v).includes("e") || String(v).includes(".") ? String(v) : `${v}.0`;
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    const tuple = optionsOf(type).find((o): o is Extract<Type, { k: "tuple" }> => o.k === "tuple" && o.elems.length === v.length);
    if (tuple) return `(${v.map((x, i) => literal(tuple.elems[i], x)).join(", ")})`;
    const list = optionsOf(type).find((o): o is Extract<Type, { k: "list" }> => o.k === "list");
    return `[${v.map((x) => literal(list?.elem, x)).join(", ")}]`;
  }
  return JSON.stringify(v);
}

function transformLiteral(t: Obj): string {
  const name = String(t.name);
  const fields = Object.entries(t)
    .filter(([k]) => k !== "name")
    .map(([k, v]) => `${k}: ${literal(stdlib().fieldType(name, k), v)}`);
  return fields.length ? `${name} { ${fields.join(", ")} }` : name;
}

/** Python's inline flags to a regex literal. */
function regexLiteral(p: string): string {
  const m = /^\(\?([a-z]+)\)(.*)$/.exec(p);
  const [flags, body] = m ? [m[1]!, m[2]!] : ["", p];
  return `/${body.replace(/\//g, "\\/")}/${flags}`;
}

// ---- the standard-library bases ---------------------------------------------------------------------

const pairOf = (v: unknown) => (Array.isArray(v) ? v : [v, v]);

/**
 * The standard-library model closest to a config's: the one whose emitted keys differ from the config's
 * in the fewest places (the first declared on a tie). Its shape must match, or the spec would override
 * the model's identity rather than a setting.
 */
function closest(instances: StdInstance[], config: Obj, keys: [string, unknown][], shape: string[]): StdInstance | undefined {
  let best: { inst: StdInstance; cost: number } | undefined;
  for (const inst of instances) {
    const value = (k: string) => (k === "image_size" || k === "patch_size" ? pairOf(inst.plain[k]) : inst.plain[k]);
    if (!shape.every((k) => same(value(k), config[k]))) continue;
    const cost = keys.filter(([k]) => config[k] !== undefined && !same(value(k), config[k])).length;
    if (!best || cost < best.cost) best = { inst, cost };
  }
  return best?.inst;
}

/**
 * The inverse of the templates: the standard-library template that puts the first image slot where the
 * config's image_start_idx says, tokenised with the language model's vocabulary (the layout alone when
 * that is not the embedded one). Where the first slot lands does not depend on how many follow.
 */
async function templateFor(imageStart: unknown, language: LlamaIR): Promise<string> {
  const templates = stdlib()
    .instances("template")
    .map((t) => ({ name: t.name, ir: t.plain as unknown as TemplateIR }));
  const byLayout = templates.find((t) => t.ir.layout === (imageStart === 1 ? "plain" : "chat"));
  if (language.tokenizer_family !== EMBEDDED_FAMILY || language.tokenizer?.model !== undefined || typeof imageStart !== "number")
    return (byLayout ?? templates[0]!).name;
  const tok = await loadTokenizer({ kind: "llama2" });
  const hit = templates.find(
    (t) =>
      imageStartIndex(tok, { name: t.name, layout: t.ir.layout, system: t.ir.system, user: t.ir.user, assistant: t.ir.assistant }, 1) ===
      imageStart,
  );
  return (hit ?? byLayout ?? templates[0]!).name;
}

/** A projector of the library with these layer widths' depth, or an inline record when it has none. */
function projectorFor(units: number[] | undefined): { expr: string; name?: string; module?: string } {
  const depth = units?.length ?? 2;
  const lib = stdlib();
  const hit =
    depth === 1
      ? lib.instances("linear_projector")[0]
      : lib.instances("mlp_projector").find((p) => p.plain.depth === depth && p.plain.activation === "gelu");
  return hit ? { expr: hit.name, name: hit.name, module: hit.module } : { expr: `mlp_projector { depth: ${depth} }` };
}

interface Phase {
  src: YamlSource;
  flat: Obj;
  origin: Map<string, string>;
  release: CerebrasTargetIR["release"];
  /** A 2.3.0 config in the trainer layout. */
  trainerLayout: boolean;
  name: string;
  from?: string;
  /** The standard-library template whose image_start_idx the config has. */
  template?: string;
  /** Spec overrides by place: field → literal (and the YAML key it answers, for comments). */
  overrides: Record<Where, Map<string, { literal: string; key: string }>>;
}

const emptyOverrides = (): Phase["overrides"] => ({
  vision: new Map(),
  language: new Map(),
  phase: new Map(),
  loader: new Map(),
  run: new Map(),
  optimizer: new Map(),
  eval: new Map(),
  derived: new Map(),
  skeleton: new Map(),
  precision: new Map(),
});

/** What a LLaVA config must have before its values are read, as the reason a document is not one. */
function llavaShapeProblem(flat: Obj, where: string): string | undefined {
  const model = flat.model as Obj;
  const missing = ["image_model", "text_model"].filter((k) => !isObj(model[k]));
  const named = typeof model.name === "string" && model.name !== "llava" ? `model \`${model.name}\` is not LLaVA (\`llava\`): ` : "";
  if (missing.length > 0)
    return `${named}${where} has no ${missing.map((k) => `\`${k}\``).join(" and ")} mapping (the vision encoder and the language model of a LLaVA config); llavac imports Cerebras Model Zoo LLaVA configs`;
  const freeze = model.freeze;
  if (freeze !== undefined && freeze !== null && !(Array.isArray(freeze) && freeze.every((f) => typeof f === "string")))
    return `${where}.freeze must be a list of regex strings`;
  const units = (model.projector as Obj | undefined)?.image_model;
  if (model.projector !== undefined && (!isObj(model.projector) || (units !== undefined && !isObj(units))))
    return `${where}.projector must be a mapping with an \`image_model\` mapping`;
  for (const [k, v] of [
    ["image_model", model.image_model],
    ["text_model", model.text_model],
  ] as const) {
    for (const key of ["hidden_size", "num_hidden_layers"]) {
      const x = (v as Obj)[key];
      if (x !== undefined && typeof x !== "number") return `${where}.${k}.${key} must be a number, found ${JSON.stringify(x)}`;
    }
  }
  return undefined;
}

export async function importConfigs(inputs: { file: string; text: string }[], cwd = process.cwd()): Promise<ImportResult> {
  const problems: ImportProblem[] = [];
  const phases: Phase[] = [];
  for (const input of inputs) {
    let src: YamlSource;
    try {
      src = readYaml(input.file, input.text);
    } catch (err) {
      problems.push({
        file: input.file,
        message: err instanceof YamlRefused ? err.message : `not YAML: ${(err as Error).message.split("\n")[0]}`,
      });
      continue;
    }
    const at = (key: string) => {
      const off = src.keys.get(key);
      return off === undefined ? {} : { line: src.position(off).line, column: src.position(off).column };
    };
    const doc = src.value as Obj;
    let flat: Obj,
      origin = new Map<string, string>(),
      release: CerebrasTargetIR["release"],
      trainerLayout = false;
    if (isObj(doc?.trainer)) {
      const t = doc.trainer as Obj;
      const model = ((t.init as Obj | undefined)?.model ?? {}) as Obj;
      // 2.3.0's own trainer layout (its _v2 configs): no model name, precision keys kept in the model.
      const v230 = model.name === undefined && "mixed_precision" in model;
      if (!v230 && model.name !== "llava") {
        problems.push({
          file: input.file,
          ...at("trainer.init.model.name"),
          message: `model \`${String(model.name)}\` is not LLaVA (\`llava\`); llavac imports LLaVA configs`,
        });
        continue;
      }
      const r = fromTrainer(t, (key, message) => problems.push({ file: input.file, ...at(key), message }));
      flat = r.flat;
      origin = r.origin;
      release = v230 ? "2.3.0" : "2.10";
      trainerLayout = v230;
    } else if (isObj(doc?.model)) {
      flat = doc;
      release = isObj(doc.train_input) && "bos_token_id" in (doc.train_input as Obj) ? "2.2.1" : "2.3.0";
    } else {
      problems.push({
        file: input.file,
        message: "neither a flat LLaVA config (train_input, model, optimizer, runconfig) nor a trainer config",
      });
      continue;
    }
    const model = flat.model as Obj;
    const notLlava = llavaShapeProblem(flat, trainerLayout || release === "2.10" ? "trainer.init.model" : "model");
    if (notLlava) {
      const key = release === "2.10" || trainerLayout ? "trainer.init.model" : "model";
      problems.push({ file: input.file, ...at(key), message: notLlava });
      continue;
    }
    const pretrainLike = model.image_start_idx === 1 || ((model.freeze ?? []) as string[]).some((f) => /text_model/.test(f));
    let name = pretrainLike ? "pretrain" : "finetune";
    if (phases.some((p) => p.name === name)) name = `${name}_${phases.length + 1}`;
    phases.push({ src, flat, origin, release, trainerLayout, name, overrides: emptyOverrides() });
  }
  if (phases.length === 0) return { spec: "", problems, verified: false };
  const release = phases[0]!.release;
  for (const p of phases.slice(1))
    if (p.release !== release)
      problems.push({
        file: p.src.file,
        message: `release ${p.release} differs from ${phases[0]!.src.file}'s ${release}; the spec targets ${release}`,
      });

  const reported = new Set<string>();
  const problemAt = (p: Phase, key: string, message: string) => {
    reported.add(`${p.src.file}\0${key}`);
    const off = p.src.keys.get(p.origin.get(key) ?? key);
    problems.push({
      file: p.src.file,
      ...(off === undefined ? {} : { line: p.src.position(off).line, column: p.src.position(off).column }),
      message,
    });
  };
  // Unknown keys first: everything else is compared, and these would be lost.
  for (const p of phases)
    for (const key of flatten(p.flat).keys())
      if (!fieldOf(key)) problemAt(p, key, `unknown key \`${key}\` (llavac has no field for it; it is not in the spec)`);
  for (const p of phases) {
    if ((p.flat.runconfig as Obj | undefined)?.load_checkpoint_states !== undefined) {
      const source = phases.find((q) => q !== p && q.name.startsWith("pretrain"));
      if (source) p.from = source.name;
      else
        problemAt(
          p,
          "runconfig.load_checkpoint_states",
          "load_checkpoint_states: this phase starts from another phase's checkpoint; import that phase's config too (`llavac import phase1.yaml phase2.yaml`)",
        );
    }
  }

  const first = phases[0]!.flat.model as Obj;
  const im = (first.image_model ?? {}) as Obj,
    tm = (first.text_model ?? {}) as Obj;
  const lib = stdlib();
  const vision = closest(lib.instances("vit"), im, VIT_KEYS, ["hidden_size", "patch_size", "image_size"]) ?? lib.instances("vit")[0]!;
  const language = closest(lib.instances("llama"), tm, LLAMA_KEYS, ["hidden_size", "num_hidden_layers"]) ?? lib.instances("llama")[0]!;
  const units = ((first.projector as Obj | undefined)?.image_model as Obj | undefined)?.layers_units as number[] | undefined;
  const projector = projectorFor(units);
  const size = /_(\d+b)(_|$)/.exec(language.name)?.[1];
  const modelName = size ? `llava_${size}` : "llava";
  for (const p of phases) p.template = await templateFor((p.flat.model as Obj).image_start_idx, language.plain as unknown as LlamaIR);

  const format = release === "2.3.0" && phases.some((p) => p.trainerLayout) ? "trainer" : undefined;
  const render = (): string => spec(phases, { vision, language, projector, model: modelName, release, ...(format ? { format } : {}) });
  // Pass 1: the bases and the skeleton; every differing key becomes an override.
  const first1 = await emitAll(render(), phases, cwd);
  if (first1.errors.length)
    return { spec: render(), problems: [...problems, ...first1.errors.map((m) => ({ file: "(import)", message: m }))], verified: false };
  phases.forEach((p, i) => {
    const ours = flatten(first1.docs[i]),
      theirs = flatten(p.flat);
    const keys = new Set([...ours.keys(), ...theirs.keys()]);
    let transformsDiffer = false;
    for (const key of keys) {
      if (same(ours.get(key), theirs.get(key))) continue;
      const f = fieldOf(key);
      if (!f || f.where === "skeleton" || f.where === "derived") continue; // reported before, or checked in pass 2
      if (f.field === "transforms") {
        transformsDiffer = true;
        continue;
      }
      const value = theirs.has(key) ? theirs.get(key) : null;
      // Evaluation follows the training input unless it says otherwise.
      if (
        f.where === "eval" &&
        key.startsWith("eval_input.") &&
        theirs.has(key) &&
        same(value, theirs.get(key.replace("eval_input.", "train_input.")))
      )
        continue;
      if (f.where === "precision") {
        const fp16 = (p.flat.model as Obj).fp16_type as string | undefined;
        const mixed = (p.flat.model as Obj).mixed_precision;
        p.overrides.precision.set("precision", {
          literal: mixed === false ? "fp32" : (FP16[fp16 ?? "bfloat16"] ?? "bf16"),
          key: "model.fp16_type",
        });
        continue;
      }
      p.overrides[f.where].set(f.field, { literal: literal(typeAt(f.where, f.field), value), key });
    }
    if (transformsDiffer) {
      const list = (((p.flat.train_input as Obj | undefined)?.transforms ?? []) as Obj[]).map(transformLiteral);
      p.overrides.phase.set("transforms", { literal: `[${list.join(", ")}]`, key: "train_input.transforms" });
    }
  });
  // Model overrides every phase shares go to the model declaration; the rest stay with their phase.
  const text = render();
  // Pass 2: compile what was written and compare again.
  const second = await emitAll(text, phases, cwd);
  let verified = second.errors.length === 0;
  for (const m of second.errors) problems.push({ file: "(import)", message: m });
  phases.forEach((p, i) => {
    if (!second.docs[i]) return;
    const ours = flatten(second.docs[i]),
      theirs = flatten(p.flat);
    for (const key of new Set([...ours.keys(), ...theirs.keys()])) {
      if (same(ours.get(key), theirs.get(key)) || !fieldOf(key)) continue;
      verified = false;
      if (reported.has(`${p.src.file}\0${key}`)) continue;
      problemAt(
        p,
        key,
        `\`${key}\` cannot be reproduced: the spec gives ${JSON.stringify(ours.get(key) ?? null)}, the config has ${JSON.stringify(theirs.get(key) ?? null)}`,
      );
    }
  });
  return { spec: text, problems, verified: verified && problems.length === 0 };
}

/** Compile spec text in memory and emit each phase's flat document (in the order of `phases`). */
async function emitAll(text: string, phases: Phase[], cwd: string): Promise<{ docs: unknown[]; errors: string[] }> {
  const file = path.join(cwd, "imported.llava");
  const r = await compile(file, { source: text, cwd, env: {} });
  const errors = r.diags
    .sorted()
    .filter((d) => d.severity === "error")
    .map((d) => `${d.code} ${d.message} (spec line ${d.span.line})`);
  if (errors.length) return { docs: [], errors };
  const target = r.program!.target;
  const docs = phases.map((p) => {
    const ph = r.phases.find((x) => x.unit.ir.$name === p.name);
    return ph?.derived
      ? toPlain(emitParams(ph.unit.ir, ph.derived as Derived, { ...target, release: p.release === "2.10" ? "2.3.0" : p.release }).doc)
      : undefined;
  });
  return { docs, errors: [] };
}

// ---- the spec text --------------------------------------------------------------------------------

function spec(
  phases: Phase[],
  std: {
    vision: StdInstance;
    language: StdInstance;
    projector: { expr: string; name?: string; module?: string };
    model: string;
    release: string;
    format?: string;
  },
): string {
  const b = { ...std, vision: std.vision.name, language: std.language.name, projector: std.projector.expr };
  const lines: string[] = [];
  const header = phases.flatMap((p) => p.src.standalone.filter((c) => c.before === "" && meaningful(c.text)).map((c) => c.text));
  lines.push(`// Imported by llavac from ${phases.map((p) => path.basename(p.src.file)).join(", ")}.`);
  for (const h of [...new Set(header)]) lines.push(`// ${h}`);
  // Each name is imported from the module that declares it.
  const imports = new Map<string, string[]>();
  const use = (name: string, module: string) => {
    const l = imports.get(module) ?? [];
    if (!l.includes(name)) l.push(name);
    imports.set(module, l);
  };
  use(std.vision.name, std.vision.module);
  use(std.language.name, std.language.module);
  if (std.projector.name) use(std.projector.name, std.projector.module!);
  for (const p of phases) {
    const t = stdlib().values.find((v) => v.name === p.template);
    if (t) use(t.name, t.module);
  }
  for (const [module, names] of imports) lines.push(`import { ${names.join(", ")} } from "${module}"`);
  lines.push("");

  // Model overrides common to every phase live in the model; a phase's own go into its `model =`.
  const shared = (where: "vision" | "language") => {
    const maps = phases.map((p) => p.overrides[where]);
    return [...maps[0]!].filter(([f, o]) => maps.every((m) => m.get(f)?.literal === o.literal));
  };
  const body = (entries: [string, { literal: string; key: string }][], p?: Phase) =>
    entries.map(([f, o]) => `${f}: ${o.literal}${comment(p ?? phases[0]!, o.key)}`).join(", ");
  const sharedVision = shared("vision"),
    sharedLanguage = shared("language");
  const instance = (base: string, entries: [string, { literal: string; key: string }][], p?: Phase) =>
    entries.length ? `${base} { ${body(entries, p)} }` : base;
  lines.push(`model ${b.model} {`);
  lines.push(`  vision    = ${instance(b.vision, sharedVision)}`);
  lines.push(`  projector = ${b.projector}`);
  lines.push(`  language  = ${instance(b.language, sharedLanguage)}`);
  lines.push("}", "");

  for (const p of phases) {
    const f = p.flat,
      train = (f.train_input ?? {}) as Obj,
      model = f.model as Obj,
      run = (f.runconfig ?? {}) as Obj,
      opt = (f.optimizer ?? {}) as Obj;
    lines.push(`// What this phase trains on: the config names HDF5 folders, not datasets.`);
    lines.push(`dataset ${p.name}_data { format: llava_jsonl }`, "");
    const own = (where: "vision" | "language", sharedEntries: [string, unknown][]) =>
      [...p.overrides[where]].filter(([k]) => !sharedEntries.some(([s]) => s === k));
    const ownVision = own("vision", sharedVision),
      ownLanguage = own("language", sharedLanguage);
    let modelRef = b.model;
    if (ownVision.length || ownLanguage.length) {
      const parts: string[] = [];
      if (ownVision.length) parts.push(`vision: ${instance(b.vision, [...sharedVision, ...ownVision], p)}`);
      if (ownLanguage.length) parts.push(`language: ${instance(b.language, [...sharedLanguage, ...ownLanguage], p)}`);
      modelRef = `${b.model} { ${parts.join(", ")} }`;
    }
    const kept = new Set<string>();
    for (const c of p.src.standalone.filter((c) => c.before !== "" && meaningful(c.text) && worthKeeping(c.text))) {
      if (kept.has(c.text)) continue;
      kept.add(c.text);
      lines.push(`// ${path.basename(p.src.file)}:${c.line}: ${c.text}`);
    }
    lines.push(`phase ${p.name} {`);
    const put = (k: string, v: string, key?: string) => lines.push(`  ${k.padEnd(10)} = ${v}${key ? comment(p, key) : ""}`);
    if (p.from) put("from", `${p.from}(states: model)`);
    put("model", modelRef);
    put("data", `${p.name}_data`);
    put("template", p.template!);
    put("images", JSON.stringify(String(train.img_data_dir ?? ".")), "train_input.img_data_dir");
    put(
      "hdf5",
      JSON.stringify(String(Array.isArray(train.data_dir) ? train.data_dir[0] : (train.data_dir ?? "."))),
      "train_input.data_dir",
    );
    // A params file names the HDF5 folder, not how it was written: no preprocess.yaml unless the user says.
    lines.push(
      '  // The HDF5 files exist already; to emit preprocess.yaml instead, write hdf5_writer { input: "<jsonl folder>", output: "<hdf5 folder>" }.',
    );
    put("preprocess", "none");
    if (p.overrides.eval.size) put("eval", `eval_input { ${body([...p.overrides.eval], p)} }`);
    put("freeze", `[${((model.freeze ?? []) as string[]).map(regexLiteral).join(", ")}]`, "model.freeze");
    put(
      "batch",
      `${train.batch_size ?? 1} per step${train.micro_batch_size !== undefined && typeof train.micro_batch_size === "number" ? `, ${train.micro_batch_size} per micro-batch` : ""}`,
      "train_input.batch_size",
    );
    if (p.overrides.loader.size) put("loader", `loader { ${body([...p.overrides.loader], p)} }`);
    const lr = opt.learning_rate;
    const segs = Array.isArray(lr) ? (lr as Obj[]) : [];
    const warm = segs.find((s) => String(s.scheduler).toLowerCase().startsWith("linear"));
    const cos = segs.find((s) => String(s.scheduler).toLowerCase().startsWith("cosine"));
    const peak = typeof lr === "number" ? lr : Number(warm?.end_learning_rate ?? cos?.initial_learning_rate ?? 0);
    put(
      "optimizer",
      `adamw { lr: ${literal(undefined, peak)}${p.overrides.optimizer.size ? `, ${body([...p.overrides.optimizer], p)}` : ""} }`,
      "optimizer.learning_rate",
    );
    const max = Number(run.max_steps ?? 0);
    if (typeof lr === "number") put("schedule", `constant_lr { length: ${max} steps }`, "runconfig.max_steps");
    else {
      const w = Number(warm?.total_iters ?? 0),
        c = Number(cos?.total_iters ?? max - w);
      const parts = [`length: ${max} steps`, `warmup: ${w} steps`];
      if (c !== max - w) parts.push(`decay: ${c} steps`);
      if (warm && Number(warm.initial_learning_rate) !== 0) parts.push(`initial_lr: ${literal(undefined, warm.initial_learning_rate)}`);
      if (cos && Number(cos.end_learning_rate) !== 0) parts.push(`final_lr: ${literal(undefined, cos.end_learning_rate)}`);
      put("schedule", `warmup_cosine { ${parts.join(", ")} }`, "runconfig.max_steps");
    }
    for (const [k, o] of p.overrides.phase) put(k, o.literal, o.key);
    for (const [, o] of p.overrides.precision) put("precision", o.literal, o.key);
    if (p.overrides.run.size) put("run", `run { ${body([...p.overrides.run], p)} }`);
    lines.push("}", "");
  }
  lines.push(`cerebras cluster { release: "${b.release}"${b.format ? `, format: "${b.format}"` : ""} }`);
  return lines.join("\n") + "\n";
}

/** Comments worth keeping: not empty, not only punctuation. */
function meaningful(text: string): boolean {
  return /[A-Za-z0-9]/.test(text);
}

/**
 * Standalone comments that say something in the spec: disabled settings (`weight_decay: 0.001`), notes
 * (TODO, FIXME), and sentences; section headings of the YAML ("Encoder ffn") do not.
 */
function worthKeeping(text: string): boolean {
  return /^[A-Za-z_][\w.]*\s*:\s*\S/.test(text) || /\b(TODO|FIXME|NOTE|XXX)\b/.test(text) || text.split(/\s+/).length >= 5;
}

function comment(p: Phase, key: string): string {
  const c = p.src.trailing.get(p.origin.get(key) ?? key);
  return c && meaningful(c) ? `   /* ${c.replace(/\*\//g, "* /")} */` : "";
}
