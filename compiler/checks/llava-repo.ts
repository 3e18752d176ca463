// `--target llava-repo`: what each phase becomes on the LLaVA repository's command line
// (llava/train/train.py's ModelArguments, DataArguments and TrainingArguments, transformers 4.37.2), and
// every way a spec says something those flags cannot. `check` runs this whenever the spec declares a
// `gpus` block, so a spec that checks clean builds for GPUs; emit/llava-repo.ts only writes the plan.
import type { Span } from "../../grammar/ast.js";
import type { ParamSpec } from "../../runtime/model/arch.js";
import { numel, TEXT_NAMES } from "../../runtime/model/arch.js";
import type { CheckContext } from "../context.js";
import type { PartialDerived } from "../derive.js";
import type { GpusTargetIR, PhaseUnit, SpanMap } from "../ir.js";
import { sound } from "../ir.js";

/** A flag's value: a literal (single-quoted in the script) or a path the script makes (`$out`-relative). */
export type FlagValue = { lit: string } | { out: string };

export interface RepoFlag {
  flag: string;
  value: FlagValue;
}

/** The repository's freeze switches; each combination trains the groups it lists (the vision tower never). */
export type Switch = "tune_mm_mlp_adapter" | "freeze_backbone" | "freeze_mm_mlp_adapter";
type Group = "vision" | "projector" | "body" | "lm_head";
const COMBOS: { switches: Switch[]; trains: Group[] }[] = [
  { switches: [], trains: ["projector", "body", "lm_head"] },
  { switches: ["tune_mm_mlp_adapter"], trains: ["projector"] },
  { switches: ["freeze_backbone"], trains: ["projector", "lm_head"] },
  { switches: ["freeze_mm_mlp_adapter"], trains: ["body", "lm_head"] },
  { switches: ["freeze_backbone", "freeze_mm_mlp_adapter"], trains: ["lm_head"] },
];

/** Where a parameter lives in the repository's model: the CLIP tower, mm_projector, model.model, lm_head. */
function groupOf(p: ParamSpec): Group {
  if (p.component === "image_model") return "vision";
  if (p.component === "projector_image_model") return "projector";
  return p.name.startsWith(`${TEXT_NAMES.lmHead}.`) ? "lm_head" : "body";
}

const GROUP_NAME: Record<Group, string> = {
  vision: "the vision tower (CLIP, always frozen by the repository)",
  projector: "mm_projector",
  body: "the language model's body (model.model: embeddings, layers, norm)",
  lm_head: "lm_head",
};

export interface RepoPhasePlan {
  phase: string;
  from?: string;
  flags: RepoFlag[];
  switches: Switch[];
  /** Whether the phase trains only the projector (the repository then saves mm_projector.bin alone). */
  adapterOnly: boolean;
  zero: 2 | 3;
  offload: boolean;
  /** The JSON or jsonl sources the phase's data.json is made of; absent when one file is read directly. */
  dataSources?: string[];
}

export interface RepoPlan {
  gpus: GpusTargetIR;
  phases: RepoPhasePlan[];
}

/** `--version` per template: LLaVA's conv_templates name whose text the template has. */
const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
const LLAVA_V1_SYSTEM =
  "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";

type TemplateIR = PhaseUnit["ir"]["template"];
type TurnsText = Pick<
  TemplateIR,
  "system" | "system_header" | "system_footer" | "user_header" | "user_footer" | "assistant_header" | "assistant_footer" | "separator"
>;

// llava/conversation.py's turns conversations, as the text llavac's `turns` layout writes around the messages.
// conv_mistral_instruct (SeparatorStyle.LLAMA_2, empty system): `[INST] q [/INST] a </s>` per turn, BOS from the
// tokenizer; std/templates' mistral_instruct (the same up to the answer; preprocess_llama_2 also puts a space
// either side of each answer, which the turns layout does not). conv_chatml_direct (MPT): the system block `<|im_start|>system\n
// Answer the questions.<|im_end|>`, then `<|im_start|>user\n` q `<|im_end|>` `<|im_start|>assistant\n` a
// `<|im_end|>`, with nothing between turns; std/templates' chatml (Qwen2's) has another system prompt and a
// newline after every `<|im_end|>`, so it is not that conversation.
const REPO_TURNS: { version: string; text: TurnsText }[] = [
  {
    version: "mistral_instruct",
    text: {
      system: "",
      system_header: "",
      system_footer: "",
      user_header: "[INST] ",
      user_footer: " [/INST]",
      assistant_header: "",
      assistant_footer: "</s>",
      separator: "",
    },
  },
  {
    version: "chatml_direct",
    text: {
      system: "Answer the questions.",
      system_header: "<|im_start|>system\n",
      system_footer: "<|im_end|>",
      user_header: "<|im_start|>user\n",
      user_footer: "<|im_end|>",
      assistant_header: "<|im_start|>assistant\n",
      assistant_footer: "<|im_end|>",
      separator: "",
    },
  },
];

function versionOf(t: TemplateIR): string | undefined {
  if (t.layout === "plain") return "plain";
  // The repository trims no message (train.py strips only the first one's `<image>`).
  if (t.layout === "turns")
    return t.trim
      ? undefined
      : REPO_TURNS.find((c) => (Object.keys(c.text) as (keyof TurnsText)[]).every((k) => t[k] === c.text[k]))?.version;
  if (t.user !== "USER:" || t.assistant !== "ASSISTANT:") return undefined;
  if (t.system === VICUNA_SYSTEM) return "v1";
  if (t.system === LLAVA_V1_SYSTEM) return "llava_v1";
  return undefined;
}

/** E1006's help for a template with no conversation in the repository: the nearest one, or why there is none. */
function noVersionHelp(t: TemplateIR): string {
  const known = "use std/templates' `plain`, `vicuna_v1` (`--version v1`), `llava_v1` or `mistral_instruct`";
  if (t.special_tokens.includes("<|eot_id|>") || t.user_header.includes("<|start_header_id|>"))
    return `the LLaVA repository has no Llama-3 conversation (llava/conversation.py's conv_templates), so it cannot lay out this template: train it with \`llavac run\` or for Cerebras, or ${known}`;
  if (t.user_header.includes("<|im_start|>"))
    return 'the repository\'s ChatML conversation is `chatml_direct`: the system prompt "Answer the questions." and no newline between turns, i.e. `chatml { system: "Answer the questions.", separator: "" }`';
  return known;
}

const lit = (flag: string, v: string | number | boolean): RepoFlag => ({
  flag,
  value: { lit: typeof v === "boolean" ? (v ? "True" : "False") : String(v) },
});

/** A Python float literal for a spec number (`0.0`, `1e-3`, `2e-05`). */
function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

export function planLlavaRepo(
  units: { unit: PhaseUnit; derived: PartialDerived }[],
  gpus: GpusTargetIR,
  gpusSpans: SpanMap,
  ctx: CheckContext,
  fallback: Span,
): RepoPlan {
  const gpusAt = (field: string) => gpusSpans.get(field)?.span ?? gpusSpans.values().next().value?.span ?? fallback;
  const n = gpus.per_node * gpus.nodes;
  const nodesNote = { message: `${gpus.per_node} GPUs per node × ${gpus.nodes} node(s) = ${n} GPUs`, span: gpusAt("per_node") };
  if (gpus.nodes > 1 && gpus.launcher === "deepspeed" && gpus.hostfile === undefined)
    ctx.diags.error("E1010", { nodes: gpus.nodes }, gpusAt("nodes"), {
      help: "set `hostfile` (lines `host slots=N`), or `launcher = torchrun` with `master`",
    });
  if (gpus.nodes > 1 && gpus.launcher === "torchrun" && gpus.master === undefined)
    ctx.diags.error("E1011", { nodes: gpus.nodes }, gpusAt("nodes"), { help: 'set `master = "ADDRESS"`, the first node\'s address' });
  const phases: RepoPhasePlan[] = [];
  for (const { unit, derived: d } of units) {
    const ir = unit.ir;
    const at = (p: string) => ctx.spanOf(unit, p);
    const flags: RepoFlag[] = [];
    // Freezing → the repository's switches.
    let switches: Switch[] = [];
    let trainsLanguage = true;
    let adapterOnly = false;
    if (d.params && d.freeze) {
      const trainable = new Set(d.freeze.trainable);
      // Each parameter's group and size once, not once per switch combination (a 7B tree has ~700).
      const each = d.params.map((p) => ({ p, group: groupOf(p), trains: trainable.has(p), size: numel(p.shape) }));
      const best = COMBOS.map((c) => {
        const differ = each.filter((x) => x.trains !== c.trains.includes(x.group));
        return { c, differ: differ.map((x) => x.p), cost: differ.reduce((a, x) => a + x.size, 0) };
      }).sort((a, b) => a.cost - b.cost)[0]!;
      if (best.differ.length > 0) {
        const byGroup = new Map<string, { spec: "trains" | "freezes"; names: string[] }>();
        for (const p of best.differ) {
          const key = `${groupOf(p)}:${trainable.has(p)}`;
          const g = byGroup.get(key) ?? { spec: trainable.has(p) ? "trains" : "freezes", names: [] };
          g.names.push(p.name);
          byGroup.set(key, g);
        }
        const switchText = best.c.switches.length ? best.c.switches.map((s) => `--${s} True`).join(" ") : "no freeze switch";
        ctx.diags.error("E1001", { phase: ir.$name, count: best.differ.length }, at("freeze"), {
          notes: [...byGroup].map(([key, g]) => ({
            message: `the spec ${g.spec} ${g.names.length} parameter(s) of ${GROUP_NAME[key.split(":")[0] as Group]} that the repository ${g.spec === "trains" ? "freezes" : "trains"}: ${g.names.slice(0, 4).join(", ")}${g.names.length > 4 ? ", …" : ""}`,
          })),
          help: `the nearest the repository can express is ${switchText} (it trains ${best.c.trains.map((g) => GROUP_NAME[g]).join(", ") || "nothing"}); freeze whole groups, the vision tower always`,
        });
      }
      switches = best.c.switches;
      adapterOnly = switches.includes("tune_mm_mlp_adapter");
      trainsLanguage = best.c.trains.includes("body") || best.c.trains.includes("lm_head");
    }
    // The model.
    const m = ir.model;
    const base: string | undefined = m.language?.huggingface;
    if (sound(unit, "model.language") && base === undefined)
      ctx.diags.error("E1008", { part: "language model", flag: "--model_name_or_path" }, at("model.language"), {
        help: 'set the language model\'s `huggingface: "owner/name"` (or a local folder)',
      });
    if (sound(unit, "model.vision") && m.vision.huggingface === undefined)
      ctx.diags.error("E1008", { part: "vision encoder", flag: "--vision_tower" }, at("model.vision"), {
        help: 'set the vision encoder\'s `huggingface: "openai/clip-vit-large-patch14-336"` (a CLIP the repository loads)',
      });
    let projector: string | undefined;
    if (sound(unit, "model.projector")) {
      const p = m.projector;
      if (p.$schema === "linear_projector" && p.use_bias) projector = "linear";
      else if (p.$schema === "mlp_projector" && p.use_bias && p.activation === "gelu") projector = `mlp${p.depth}x_gelu`;
      else
        ctx.diags.error("E1007", { projector: m.projector.$name ?? m.projector.$schema }, at("model.projector"), {
          help: "the repository builds `linear` or `mlpNx_gelu` (Linear layers with bias, GELU between them)",
        });
    }
    const version = sound(unit, "template") ? versionOf(ir.template) : "plain";
    if (version === undefined)
      ctx.diags.error("E1006", { template: ir.template.$name ?? "the template" }, at("template"), { help: noVersionHelp(ir.template) });
    // The hand-off: a phase after a projector-only phase loads its mm_projector.bin; after any other, its model.
    const from = ir.from ? phases.find((p) => p.phase === ir.from!.phase) : undefined;
    const modelPath: FlagValue = from && !from.adapterOnly ? { out: `checkpoints/llava-${from.phase}` } : { lit: base ?? "" };
    // The data: one LLaVA JSON the repository reads whole.
    let dataPath: FlagValue | undefined;
    let dataSources: string[] | undefined;
    const one = ir.data.length === 1 ? ir.data[0]! : undefined;
    if (one && one.format === "llava_json" && one.root !== undefined && one.file !== undefined)
      dataPath = { lit: `${one.root}/${one.file}` };
    else {
      const sources: string[] = [];
      let missing = false;
      for (const ds of ir.data) {
        if (ds.jsonl !== undefined) sources.push(ds.jsonl);
        else if (ds.format === "llava_json" && ds.root !== undefined && ds.file !== undefined) sources.push(`${ds.root}/${ds.file}`);
        else missing = true;
      }
      if (missing && ir.preprocess?.input !== undefined) sources.splice(0, sources.length, ir.preprocess.input);
      else if (missing)
        ctx.diags.error("E1012", { phase: ir.$name }, at("data"), {
          help: "give each dataset `jsonl` (the `llavac data prepare` output), or `root` and `file` of its LLaVA JSON, or the phase's `preprocess.input`",
        });
      dataSources = sources;
      dataPath = { out: `${ir.$name}/data.json` };
    }
    // The batch: per-GPU micro-batch × GPUs × accumulation.
    const gb = ir.gpu?.batch ?? ir.batch;
    const bpath = ir.gpu?.batch ? "gpu.batch" : "batch";
    let micro = gb.micro;
    let accumulation = 1;
    if (micro === undefined) {
      if (gb.global % n !== 0)
        ctx.diags.error("E1002", { batch: gb.global, gpus: n }, at(`${bpath}.global`), {
          label: `${gb.global} % ${n} = ${gb.global % n}`,
          notes: [nodesNote],
          help: `use a multiple of ${n}, or state the per-GPU micro-batch`,
        });
      micro = Math.max(1, Math.floor(gb.global / n));
    } else if (gb.global % (micro * n) !== 0) {
      ctx.diags.error("E1003", { batch: gb.global, micro, gpus: n }, at(`${bpath}.${gb.micro !== undefined ? "micro" : "global"}`), {
        label: `${gb.global} / (${micro} × ${n}) = ${(gb.global / (micro * n)).toFixed(3)}`,
        notes: [nodesNote],
        help: `gradient_accumulation_steps = batch ÷ (micro-batch × GPUs) must be whole: e.g. batch ${Math.max(1, Math.round(gb.global / (micro * n))) * micro * n}`,
      });
    } else accumulation = gb.global / (micro * n);
    // Schedule and optimizer.
    const s = ir.schedule;
    const o = ir.optimizer;
    if (sound(unit, "optimizer") && !o.correct_bias)
      ctx.diags.error("E1005", { what: "correct_bias: false" }, at("optimizer.correct_bias"), {
        help: "torch's AdamW always corrects the bias; remove `correct_bias: false`",
      });
    if (sound(unit, "schedule") && s.$schema === "warmup_cosine") {
      for (const k of ["initial_lr", "final_lr"] as const)
        if (s[k] !== 0)
          ctx.diags.error("E1004", { what: `${k}: ${s[k]}` }, at(`schedule.${k}`), {
            help: "transformers 4.37.2 warms up from 0 and decays the cosine to 0: set it to 0.0",
          });
      if (s.warmup.unit === "percent" && s.warmup_rounding !== "ceil")
        ctx.diags.warning("W1000", { rounding: s.warmup_rounding }, at("schedule.warmup_rounding"), {
          help: "the Trainer makes ⌈warmup_ratio × steps⌉ warm-up steps; state the warm-up in steps to keep a count",
        });
      if (s.decay !== undefined)
        ctx.diags.warning("W1001", { decay: s.decay.value }, at("schedule.decay"), {
          help: "the Trainer's cosine runs over the steps left after the warm-up",
        });
    }
    if (ir.precision === "cbf16") ctx.diags.warning("W1002", {}, at("precision"), { help: "the GPU job trains in bf16" });
    if (ir.eval_every !== undefined)
      ctx.diags.warning("W1003", { phase: ir.$name }, at("eval_every"), {
        help: "the repository's train.py has no held-out split: evaluate with its scripts/v1_5/eval/ instead",
      });
    // ZeRO.
    const zero = (ir.gpu?.zero ?? (trainsLanguage ? 3 : 2)) as 2 | 3;
    if (gpus.offload && zero !== 3)
      ctx.diags.error("E1009", { phase: ir.$name, stage: zero }, ir.gpu?.zero !== undefined ? at("gpu.zero") : gpusAt("offload"), {
        help: "offloading is ZeRO-3's (scripts/zero3_offload.json): set the phase's `gpu = { zero: 3 }` or `offload = false`",
      });

    // The command line, in the order of the repository's own scripts.
    flags.push({ flag: "--deepspeed", value: { out: `${ir.$name}/${gpus.offload && zero === 3 ? "zero3_offload" : `zero${zero}`}.json` } });
    flags.push({ flag: "--model_name_or_path", value: modelPath });
    flags.push(lit("--version", version ?? "plain"));
    flags.push({ flag: "--data_path", value: dataPath });
    flags.push(lit("--image_folder", ir.images));
    flags.push(lit("--vision_tower", m.vision?.huggingface ?? ""));
    if (from?.adapterOnly)
      flags.push({ flag: "--pretrain_mm_mlp_adapter", value: { out: `checkpoints/llava-${from.phase}/mm_projector.bin` } });
    flags.push(lit("--mm_projector_type", projector ?? "linear"));
    for (const sw of switches) flags.push(lit(`--${sw}`, true));
    flags.push(lit("--mm_vision_select_layer", m.vision?.select_layer ?? -1));
    flags.push(lit("--mm_vision_select_feature", m.vision?.select ?? "patch"));
    // llavac's token layout has no <im_start>/<im_end> or <im_patch> tokens.
    flags.push(lit("--mm_use_im_start_end", false));
    flags.push(lit("--mm_use_im_patch_token", false));
    const transforms = ir.transforms ?? m.vision?.transforms ?? [];
    flags.push(lit("--image_aspect_ratio", transforms.some((t) => t.$schema === "expand_to_square") ? "pad" : "square"));
    flags.push(lit("--group_by_modality_length", ir.gpu?.group_by_modality_length ?? false));
    if (ir.precision === "fp16") flags.push(lit("--fp16", true));
    else flags.push(lit("--bf16", ir.precision !== "fp32"));
    flags.push({ flag: "--output_dir", value: { out: `checkpoints/llava-${ir.$name}` } });
    if (s.length.unit === "steps") flags.push(lit("--max_steps", s.length.value));
    else flags.push(lit("--num_train_epochs", s.length.value));
    flags.push(lit("--per_device_train_batch_size", micro));
    flags.push(lit("--per_device_eval_batch_size", 4));
    flags.push(lit("--gradient_accumulation_steps", accumulation));
    // transformers 4.37.2's name; later releases call it eval_strategy (test/fixtures/llava-repo/args.json).
    flags.push(lit("--evaluation_strategy", "no"));
    flags.push(lit("--save_strategy", ir.run.checkpoint_steps > 0 ? "steps" : "no"));
    if (ir.run.checkpoint_steps > 0) flags.push(lit("--save_steps", ir.run.checkpoint_steps));
    flags.push(lit("--save_total_limit", ir.run.max_checkpoints));
    flags.push(lit("--learning_rate", o.lr));
    flags.push(lit("--weight_decay", pyFloat(o.weight_decay)));
    flags.push(lit("--adam_beta1", pyFloat(o.betas[0])));
    flags.push(lit("--adam_beta2", pyFloat(o.betas[1])));
    flags.push(lit("--adam_epsilon", o.eps));
    flags.push(lit("--max_grad_norm", pyFloat(o.max_grad_norm ?? 0)));
    if (s.$schema === "warmup_cosine") {
      if (s.warmup.unit === "percent") flags.push(lit("--warmup_ratio", s.warmup.value / 100));
      else flags.push(lit("--warmup_steps", s.warmup.value));
    }
    flags.push(lit("--lr_scheduler_type", s.$schema === "warmup_cosine" ? "cosine" : "constant"));
    flags.push(lit("--logging_steps", ir.run.log_steps));
    flags.push(lit("--seed", ir.run.seed));
    flags.push(lit("--tf32", gpus.tf32));
    flags.push(lit("--model_max_length", d.msl ?? m.language?.max_position_embeddings ?? 2048));
    flags.push(lit("--gradient_checkpointing", gpus.gradient_checkpointing));
    flags.push(lit("--dataloader_num_workers", ir.loader.num_workers));
    flags.push(lit("--lazy_preprocess", true));
    flags.push(lit("--report_to", gpus.report_to));
    phases.push({
      phase: ir.$name,
      ...(ir.from ? { from: ir.from.phase } : {}),
      flags,
      switches,
      adapterOnly,
      zero,
      offload: gpus.offload && zero === 3,
      ...(dataSources ? { dataSources } : {}),
    });
  }
  return { gpus, phases };
}
