// `llavac import pretrain.sh finetune.sh`: the LLaVA repository's launch scripts (scripts/v1_5/*.sh style,
// `deepspeed … llava/train/train_mem.py --flag value …`) read back into a spec, one phase per script, and
// verified: the spec is compiled for `--target llava-repo` and every flag of each script must come back
// with its value (the paths llavac lays out itself apart: --deepspeed, --output_dir, --pretrain_mm_mlp_adapter).
import path from "node:path";
import type { TransformIR } from "../ir.js";
import { stdlib, type StdInstance } from "../stdlib.js";
import type { ImportProblem, ImportResult } from "./import.js";

/** Shell words of a script (quotes, backslash-newlines, comments), without expansions; `$` is reported. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  const src = text.replace(/\\\r?\n/g, " ");
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw new Error("an unterminated ' quote");
      cur = (cur ?? "") + src.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let s = "";
      for (; j < src.length && src[j] !== '"'; j++) s += src[j] === "\\" && /["\\$`]/.test(src[j + 1] ?? "") ? src[++j] : src[j];
      if (j >= src.length) throw new Error('an unterminated " quote');
      cur = (cur ?? "") + s;
      i = j;
    } else if (c === "#" && cur === undefined) {
      while (i < src.length && src[i] !== "\n") i++;
      words.push("\n");
    } else if (c === "\n" || c === ";") {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
      words.push("\n");
    } else if (/\s/.test(c)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else if (c === "\\") cur = (cur ?? "") + (src[++i] ?? "");
    else cur = (cur ?? "") + c;
  }
  if (cur !== undefined) words.push(cur);
  return words;
}

interface Launch {
  file: string;
  phase: string;
  launcher: string[];
  flags: Map<string, string>;
}

const TRAIN = /(^|\/)llava\/train\/train(_mem|_xformers)?\.py$/;

function readLaunch(file: string, text: string, problems: ImportProblem[]): Launch | undefined {
  let words: string[];
  try {
    words = shellWords(text);
  } catch (e) {
    problems.push({ file, message: `not a shell script llavac reads: ${(e as Error).message}` });
    return undefined;
  }
  const at = words.findIndex((w) => TRAIN.test(w));
  if (at < 0) {
    problems.push({ file, message: "no llava/train/train_mem.py (or train.py) command: not a LLaVA launch script" });
    return undefined;
  }
  let start = at;
  while (start > 0 && words[start - 1] !== "\n") start--;
  const launcher = words.slice(start, at);
  const rest = words.slice(at + 1);
  const end = rest.indexOf("\n");
  const args = end < 0 ? rest : rest.slice(0, end);
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (!w.startsWith("--")) {
      problems.push({ file, message: `\`${w}\` is not a --flag` });
      continue;
    }
    const [name, inline] = w.includes("=") ? [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)] : [w, undefined];
    // A bare boolean flag (`--bf16`) is true, as HfArgumentParser reads it.
    const value = inline ?? (args[i + 1] === undefined || args[i + 1]!.startsWith("--") ? "True" : args[++i]!);
    if (/[$`]/.test(value)) problems.push({ file, message: `${name} ${value}: a shell expansion; write its value` });
    flags.set(name, value);
  }
  const phase =
    path
      .basename(file)
      .replace(/\.[^.]*$/, "")
      .replace(/[^A-Za-z0-9_]/g, "_")
      .replace(/^(\d)/, "_$1") || "phase";
  return { file, phase, launcher, flags };
}

const bool = (v: string | undefined) => v !== undefined && /^(true|yes|1)$/i.test(v);
const q = (s: string) => JSON.stringify(s);
const num = (v: string) => {
  const x = Number(v);
  return Number.isInteger(x) && !/[.eE]/.test(v) ? String(x) : /[.eE]/.test(v) ? v.replace(/^(\d+)\.$/, "$1.0") : String(x);
};
const float = (v: string) => (Number.isInteger(Number(v)) ? Number(v).toFixed(1) : String(Number(v)));

/** Flags that say where llavac's own layout puts things, or nothing a spec holds: not compared. */
const LAYOUT = new Set(["--deepspeed", "--output_dir", "--pretrain_mm_mlp_adapter"]);
/** Flags the importer reads (or knows to carry no meaning beyond what llavac emits). */
const KNOWN = new Set([
  ...LAYOUT,
  "--model_name_or_path",
  "--version",
  "--data_path",
  "--image_folder",
  "--vision_tower",
  "--mm_projector_type",
  "--tune_mm_mlp_adapter",
  "--freeze_backbone",
  "--freeze_mm_mlp_adapter",
  "--mm_vision_select_layer",
  "--mm_vision_select_feature",
  "--mm_use_im_start_end",
  "--mm_use_im_patch_token",
  "--image_aspect_ratio",
  "--group_by_modality_length",
  "--bf16",
  "--fp16",
  "--num_train_epochs",
  "--max_steps",
  "--per_device_train_batch_size",
  "--per_device_eval_batch_size",
  "--gradient_accumulation_steps",
  "--evaluation_strategy",
  "--save_strategy",
  "--save_steps",
  "--save_total_limit",
  "--learning_rate",
  "--weight_decay",
  "--adam_beta1",
  "--adam_beta2",
  "--adam_epsilon",
  "--max_grad_norm",
  "--warmup_ratio",
  "--warmup_steps",
  "--lr_scheduler_type",
  "--logging_steps",
  "--seed",
  "--tf32",
  "--model_max_length",
  "--gradient_checkpointing",
  "--dataloader_num_workers",
  "--lazy_preprocess",
  "--report_to",
]);

function transformText(t: TransformIR): string {
  switch (t.$schema) {
    case "expand_to_square":
      return `expand_to_square { background_color: (${t.background_color.join(", ")}) }`;
    case "resize":
      return `resize { size: ${t.size}, interpolation: ${t.interpolation} }`;
    case "center_crop":
      return `center_crop { size: ${t.size} }`;
    case "to_tensor":
      return "to_tensor";
    case "normalize":
      return `normalize { mean: (${t.mean.join(", ")}), std: (${t.std.join(", ")}) }`;
  }
}

/** The cluster from the launcher words: `deepspeed [--num_gpus N] [--num_nodes N] [--hostfile H]`, or torchrun. */
function clusterOf(launch: Launch): string[] {
  const w = launch.launcher;
  const opt = (name: string) => {
    const i = w.findIndex((x) => x === name || x.startsWith(`${name}=`));
    if (i < 0) return undefined;
    return w[i]!.includes("=") ? w[i]!.slice(w[i]!.indexOf("=") + 1) : w[i + 1];
  };
  const fields: string[] = [];
  const torchrun = w.some((x) => /(^|\/)torchrun$/.test(x));
  // LLaVA's v1.5 scripts run `deepspeed` on all GPUs of one node: 8 in the paper's setup.
  fields.push(`per_node: ${opt(torchrun ? "--nproc_per_node" : "--num_gpus") ?? 8}`);
  const nodes = opt(torchrun ? "--nnodes" : "--num_nodes");
  if (nodes !== undefined) fields.push(`nodes: ${nodes}`);
  if (torchrun) fields.push("launcher: torchrun");
  const hostfile = opt("--hostfile");
  if (hostfile !== undefined) fields.push(`hostfile: ${q(hostfile)}`);
  const master = opt("--master_addr");
  if (master !== undefined && !/[$`]/.test(master)) fields.push(`master: ${q(master)}`);
  const port = opt("--master_port");
  if (port !== undefined && /^\d+$/.test(port)) fields.push(`master_port: ${port}`);
  return fields;
}

export async function importLaunchScripts(inputs: { file: string; text: string }[], cwd = process.cwd()): Promise<ImportResult> {
  const problems: ImportProblem[] = [];
  const launches = inputs.flatMap((i) => readLaunch(i.file, i.text, problems) ?? []);
  if (launches.length === 0) return { spec: "", problems, verified: false };
  const lib = stdlib();
  const imports = new Map<string, Set<string>>();
  const use = (inst: StdInstance) => {
    if (!imports.has(inst.module)) imports.set(inst.module, new Set());
    imports.get(inst.module)!.add(inst.name);
    return inst.name;
  };
  const first = launches[0]!;
  const f0 = first.flags;
  const problem = (l: Launch, message: string) => problems.push({ file: l.file, message });
  for (const l of launches)
    for (const k of l.flags.keys()) if (!KNOWN.has(k)) problem(l, `${k}: no spec field says this (it is not reproduced)`);
  // The model, from the first script (every phase trains the same model).
  const lmId = f0.get("--model_name_or_path") ?? "";
  const lm = lib.instances("llama").find((i) => i.plain.huggingface === lmId);
  const towerId = f0.get("--vision_tower") ?? "";
  const tower = lib.instances("vit").find((i) => i.plain.huggingface === towerId);
  if (!lm) problem(first, `--model_name_or_path ${lmId}: no language model of std/language has this huggingface id`);
  if (!tower) problem(first, `--vision_tower ${towerId}: no vision encoder of std/vision has this huggingface id`);
  const projType = f0.get("--mm_projector_type") ?? "linear";
  const mlp = /^mlp(\d+)x_gelu$/.exec(projType);
  const projector =
    projType === "linear"
      ? lib.instances("linear_projector")[0]
      : lib.instances("mlp_projector").find((p) => mlp && p.plain.depth === Number(mlp[1]) && p.plain.activation === "gelu");
  if (!projector) problem(first, `--mm_projector_type ${projType}: not a projector of std/projectors`);
  for (const l of launches)
    for (const k of ["--mm_use_im_start_end", "--mm_use_im_patch_token"])
      if (bool(l.flags.get(k) ?? (k === "--mm_use_im_patch_token" ? "True" : "False")))
        problem(l, `${k} True: llavac's token layout has no image start, end or patch tokens (pass ${k} False)`);
  const msl = f0.get("--model_max_length") ?? "512";
  const select = f0.get("--mm_vision_select_feature") ?? "patch";
  const lines: string[] = [];
  const modelLines = [
    "model llava {",
    `  vision    = ${tower ? use(tower) : "clip_vit_l14_336"} { select_layer: ${f0.get("--mm_vision_select_layer") ?? "-1"}, select: ${select} }`,
    `  projector = ${projector ? use(projector) : "mlp2x_gelu"}`,
    `  language  = ${lm ? use(lm) : "vicuna_7b_v1_5"} { max_position_embeddings: ${msl} }`,
    "}",
  ];
  const cluster = clusterOf(first);
  const gpus = Number(/per_node: (\d+)/.exec(cluster[0]!)?.[1] ?? 8) * Number(cluster.find((c) => c.startsWith("nodes:"))?.slice(7) ?? 1);
  const phaseLines: string[] = [];
  const versions: Record<string, string> = {
    plain: "plain",
    v0_plain: "plain",
    v1: "vicuna_v1",
    vicuna_v1: "vicuna_v1",
    llava_v1: "llava_v1",
  };
  launches.forEach((l, i) => {
    const f = l.flags;
    const out: string[] = [`phase ${l.phase} {`];
    if (i > 0) out.push(`  from       = ${launches[i - 1]!.phase}(states: model)`);
    out.push("  model      = llava");
    // The data: a standard dataset whose file this is, in the folder the script names.
    const dataPath = f.get("--data_path") ?? "";
    const ds = lib.instances("dataset").find((d) => d.plain.file === path.basename(dataPath));
    if (ds) out.push(`  data       = ${use(ds)} { root: ${q(path.dirname(dataPath))} }`);
    else {
      problem(
        l,
        `--data_path ${dataPath}: not the file of a std/datasets dataset; the spec reads it as a LLaVA JSON without a sample count`,
      );
      out.push(`  data       = dataset { format: llava_json, root: ${q(path.dirname(dataPath))}, file: ${q(path.basename(dataPath))} }`);
    }
    const version = f.get("--version") ?? "v0";
    const template = versions[version];
    if (!template) problem(l, `--version ${version}: not a conversation std/templates has (plain, v1, llava_v1)`);
    else {
      const t = lib.instances("template").find((x) => x.name === template);
      if (t) use(t);
    }
    out.push(`  template   = ${template ?? "vicuna_v1"}`);
    out.push(`  images     = ${q(f.get("--image_folder") ?? ".")}`);
    out.push(`  hdf5       = ${q(`./h5/${l.phase}`)}`);
    out.push("  preprocess = none");
    const pad = (f.get("--image_aspect_ratio") ?? "square") === "pad";
    const own = ((tower?.plain.transforms ?? []) as TransformIR[]).filter((t) => pad || t.$schema !== "expand_to_square");
    const ownPads = ((tower?.plain.transforms ?? []) as TransformIR[]).some((t) => t.$schema === "expand_to_square");
    if (pad !== ownPads) {
      if (pad) problem(l, "--image_aspect_ratio pad: the vision encoder's transforms do not pad; add expand_to_square to `transforms`");
      else out.push(`  transforms = [${own.map(transformText).join(", ")}]`);
    }
    // Freezing: the switches as patterns over llavac's parameter tree.
    const freeze = ["/^image_model/"];
    if (bool(f.get("--tune_mm_mlp_adapter"))) freeze.push("/^text_model/");
    else {
      if (bool(f.get("--freeze_backbone"))) freeze.push("/^text_model\\.(embedding_layer|transformer_decoder)/");
      if (bool(f.get("--freeze_mm_mlp_adapter"))) freeze.push("/^projector_image_model/");
    }
    out.push(`  freeze     = [${freeze.join(", ")}]`);
    const micro = Number(f.get("--per_device_train_batch_size") ?? 8);
    const accumulation = Number(f.get("--gradient_accumulation_steps") ?? 1);
    out.push(`  batch      = ${micro * accumulation * gpus} per step, ${micro} per micro-batch`);
    const loader = f.get("--dataloader_num_workers");
    if (loader !== undefined) out.push(`  loader     = loader { num_workers: ${loader} }`);
    const opt = [`lr: ${num(f.get("--learning_rate") ?? "5e-5")}`, `weight_decay: ${float(f.get("--weight_decay") ?? "0")}`];
    const b1 = f.get("--adam_beta1"),
      b2 = f.get("--adam_beta2");
    if (b1 !== undefined || b2 !== undefined) opt.push(`betas: (${float(b1 ?? "0.9")}, ${float(b2 ?? "0.999")})`);
    if (f.has("--adam_epsilon")) opt.push(`eps: ${num(f.get("--adam_epsilon")!)}`);
    if (f.has("--max_grad_norm"))
      opt.push(Number(f.get("--max_grad_norm")) > 0 ? `max_grad_norm: ${float(f.get("--max_grad_norm")!)}` : "max_grad_norm: none");
    out.push(`  optimizer  = adamw { ${opt.join(", ")} }`);
    const length =
      f.has("--max_steps") && Number(f.get("--max_steps")) > 0
        ? `${f.get("--max_steps")} steps`
        : `${f.get("--num_train_epochs") ?? "3"} epoch${Number(f.get("--num_train_epochs") ?? 3) === 1 ? "" : "s"}`;
    const scheduler = f.get("--lr_scheduler_type") ?? "linear";
    if (scheduler === "constant") out.push(`  schedule   = constant_lr { length: ${length} }`);
    else {
      if (scheduler !== "cosine") problem(l, `--lr_scheduler_type ${scheduler}: llavac's schedules are warmup_cosine and constant_lr`);
      const warmup = f.has("--warmup_ratio")
        ? `${+(Number(f.get("--warmup_ratio")) * 100).toFixed(10)}%`
        : `${f.get("--warmup_steps") ?? "0"} steps`;
      out.push(`  schedule   = warmup_cosine { length: ${length}, warmup: ${warmup} }`);
    }
    out.push(`  precision  = ${bool(f.get("--fp16")) ? "fp16" : bool(f.get("--bf16")) ? "bf16" : "fp32"}`);
    const run = [`log_steps: ${num(f.get("--logging_steps") ?? "500")}`];
    if ((f.get("--save_strategy") ?? "steps") === "no") run.push("checkpoint_steps: 0");
    else run.push(`checkpoint_steps: ${num(f.get("--save_steps") ?? "500")}`);
    if (f.has("--save_total_limit")) run.push(`max_checkpoints: ${f.get("--save_total_limit")}`);
    if (f.has("--seed")) run.push(`seed: ${f.get("--seed")}`);
    out.push(`  run        = run { ${run.join(", ")} }`);
    const gpu: string[] = [];
    if (bool(f.get("--group_by_modality_length"))) gpu.push("group_by_modality_length: true");
    const zero = /zero(\d)/.exec(path.basename(f.get("--deepspeed") ?? ""))?.[1];
    if (zero) gpu.push(`zero: ${zero}`);
    if (gpu.length) out.push(`  gpu        = gpu_phase { ${gpu.join(", ")} }`);
    out.push("}");
    phaseLines.push(out.join("\n"));
  });
  const offload = /offload/.test(f0.get("--deepspeed") ?? "") || launches.some((l) => /offload/.test(l.flags.get("--deepspeed") ?? ""));
  if (offload) cluster.push("offload: true");
  if (f0.has("--report_to")) cluster.push(`report_to: ${q(f0.get("--report_to")!)}`);
  if (f0.has("--tf32")) cluster.push(`tf32: ${bool(f0.get("--tf32"))}`);
  if (f0.has("--gradient_checkpointing")) cluster.push(`gradient_checkpointing: ${bool(f0.get("--gradient_checkpointing"))}`);
  lines.push(`// Imported by llavac from ${inputs.map((i) => path.basename(i.file)).join(", ")} (LLaVA repository launch scripts).`);
  lines.push("// Build it back with `llavac build <this file> --target llava-repo -o DIR`.");
  for (const [m, names] of [...imports].sort()) lines.push(`import { ${[...names].join(", ")} } from ${q(m)}`);
  lines.push("", ...modelLines, "", phaseLines.join("\n\n"), "", `gpus cluster { ${cluster.join(", ")} }`, "");
  const spec = lines.join("\n");
  // Verify: compile it for the target and compare each script's flags with the plan's.
  const { compile } = await import("../compile.js");
  const file = path.join(cwd, "imported.llava");
  const r = await compile(file, { cwd, source: spec, llavaRepo: true, emit: false, env: {} });
  const errors = r.diags.items.filter((d) => d.severity === "error");
  for (const d of errors) problems.push({ file: "(import)", message: `${d.code} ${d.message}` });
  let agree = errors.length === 0;
  for (const l of launches) {
    const plan = r.llavaRepo?.phases.find((p) => p.phase === l.phase);
    if (!plan) {
      agree = false;
      continue;
    }
    const ours = new Map(plan.flags.map((x) => [x.flag, "lit" in x.value ? x.value.lit : undefined]));
    for (const [flag, value] of l.flags) {
      if (LAYOUT.has(flag) || !KNOWN.has(flag)) {
        if (!KNOWN.has(flag)) agree = false;
        continue;
      }
      if (!same(ours.get(flag), value, flag)) {
        agree = false;
        problem(l, `${flag} ${value}: the spec rebuilds it as ${ours.get(flag) ?? "(absent)"}`);
      }
    }
  }
  return { spec, problems, verified: agree && problems.length === 0 };
}

/** Values as the parser reads them: numbers by value, booleans by truth. */
function same(ours: string | undefined, theirs: string, flag: string): boolean {
  if (ours === undefined) return false;
  if (ours === theirs) return true;
  if (/^(true|false)$/i.test(ours) && /^(true|false|yes|no|1|0)$/i.test(theirs)) return bool(ours) === bool(theirs);
  if (ours.trim() !== "" && theirs.trim() !== "" && !Number.isNaN(Number(ours)) && !Number.isNaN(Number(theirs)))
    return Math.abs(Number(ours) - Number(theirs)) <= 1e-12 * Math.max(1, Math.abs(Number(theirs)));
  return flag === "--version" && ((ours === "v1" && theirs === "vicuna_v1") || (ours === "plain" && theirs === "v0_plain"));
}
