// `--target llava-repo`: the phases as the LLaVA repository (haotian-liu/LLaVA) trains them on GPUs:
//   <phase>/train.sh        llava/train/train_mem.py under deepspeed or torchrun, with every flag from the plan
//   <phase>/zero{2,3}.json  the DeepSpeed config it names, as the repository ships it ("auto" is filled by
//                           transformers from the command line, where llavac writes the numbers it derives)
//   pipeline.sh             the phases in order, each handing its output to the next; resumable
// The plan (checks/llava-repo.ts) is made by `check`; this file only renders it. As in job-scripts.ts, every
// value from the spec reaches a script through shq().
import type { RepoPhasePlan, RepoPlan } from "../checks/llava-repo.js";
import { fromEnv, HEADER, shq } from "./job-scripts.js";

const FP16 = { enabled: "auto", loss_scale: 0, loss_scale_window: 1000, initial_scale_power: 16, hysteresis: 2, min_loss_scale: 1 };

/** scripts/zero2.json, zero3.json and zero3_offload.json of the repository (same keys, same values). */
export function zeroConfig(stage: 2 | 3, offload: boolean): Record<string, unknown> {
  const zero: Record<string, unknown> = {
    stage,
    ...(offload ? { offload_optimizer: { device: "cpu", pin_memory: true }, offload_param: { device: "cpu", pin_memory: true } } : {}),
    overlap_comm: true,
    contiguous_gradients: true,
    sub_group_size: 1e9,
    reduce_bucket_size: "auto",
  };
  if (stage === 3) {
    Object.assign(zero, {
      stage3_prefetch_bucket_size: "auto",
      stage3_param_persistence_threshold: "auto",
      stage3_max_live_parameters: 1e9,
      stage3_max_reuse_distance: 1e9,
      [offload ? "gather_16bit_weights_on_model_save" : "stage3_gather_16bit_weights_on_model_save"]: true,
    });
  }
  if (!offload)
    return {
      fp16: FP16,
      bf16: { enabled: "auto" },
      train_micro_batch_size_per_gpu: "auto",
      train_batch_size: "auto",
      gradient_accumulation_steps: "auto",
      zero_optimization: zero,
    };
  return {
    fp16: FP16,
    bf16: { enabled: "auto" },
    optimizer: { type: "AdamW", params: { lr: "auto", betas: "auto", eps: "auto", weight_decay: "auto" } },
    scheduler: { type: "WarmupLR", params: { warmup_min_lr: "auto", warmup_max_lr: "auto", warmup_num_steps: "auto" } },
    zero_optimization: zero,
    gradient_accumulation_steps: "auto",
    gradient_clipping: "auto",
    train_batch_size: "auto",
    train_micro_batch_size_per_gpu: "auto",
    steps_per_print: 1e5,
    wall_clock_breakdown: false,
  };
}

/** JSON with 1e9/1e5 written as the repository writes them (JSON.stringify would spell out the digits). */
function renderZero(cfg: Record<string, unknown>): string {
  return `${JSON.stringify(cfg, null, 4)
    .replace(/: 1000000000\b/g, ": 1e9")
    .replace(/: 100000\b/g, ": 1e5")}\n`;
}

/** Merges a phase's data sources (LLaVA JSON files, jsonl files or folders of them) into one JSON list. */
const MERGE_PY = `import json, os, sys
out, sources = sys.argv[1], sys.argv[2:]
records = []
for s in sources:
    files = sorted(os.path.join(s, f) for f in os.listdir(s) if f.endswith((".jsonl", ".json"))) if os.path.isdir(s) else [s]
    if not files:
        sys.exit(f"train.sh: no .jsonl or .json files in {s}")
    for f in files:
        with open(f, encoding="utf-8") as fh:
            if f.endswith(".json"):
                records.extend(json.load(fh))
            else:
                records.extend(json.loads(line) for line in fh if line.strip())
with open(out + ".tmp", "w", encoding="utf-8") as fh:
    json.dump(records, fh)
os.replace(out + ".tmp", out)
print(f"train.sh: {out}: {len(records)} conversations", file=sys.stderr)`;

function phaseScript(p: RepoPhasePlan, plan: RepoPlan, spec: string): string {
  const g = plan.gpus;
  const multi = g.nodes > 1;
  const how = !multi
    ? `deepspeed --num_gpus ${g.per_node} (one node)`
    : g.launcher === "torchrun"
      ? `torchrun on each of ${g.nodes} nodes (NODE_RANK=0…${g.nodes - 1} in the environment of each)`
      : `deepspeed --hostfile on ${g.nodes} nodes (run once, on the first node)`;
  const lines = HEADER(
    `Phase ${p.phase} with the LLaVA repository (llava/train/train_mem.py), ${how}.
usage: bash train.sh [extra train.py arguments...]
The repository checkout is LLAVA_REPO (default ${g.repo}); relative paths are relative to where the job runs.
LLAVAC_PRINT_ARGS=1 prints the train.py arguments, one per line, and runs nothing.
An interrupted run resumes: train.py continues from the newest checkpoint-* of its output_dir.`,
    spec,
  );
  lines.push('out="$(dirname "$here")"');
  lines.push(fromEnv("repo", "LLAVA_REPO", g.repo));
  lines.push(fromEnv("python", "PYTHON", "python"));
  const word = (v: RepoPhasePlan["flags"][number]["value"]) => ("lit" in v ? shq(v.lit) : `"$out/"${shq(v.out)}`);
  lines.push("args=(");
  for (const f of p.flags) lines.push(`  ${f.flag} ${word(f.value)}`);
  lines.push(")");
  lines.push('if [[ -n "${LLAVAC_PRINT_ARGS:-}" ]]; then printf \'%s\\n\' "${args[@]}"; exit 0; fi');
  lines.push(
    '[[ -f "$repo/llava/train/train_mem.py" ]] || { echo "train.sh: $repo is not a LLaVA checkout (no llava/train/train_mem.py); set LLAVA_REPO" >&2; exit 1; }',
  );
  lines.push('export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"');
  if (p.dataSources) {
    lines.push(`data="$out/"${shq(`${p.phase}/data.json`)}`);
    lines.push("# One LLaVA JSON, as the repository reads it, from the phase's datasets (made once).");
    lines.push(`if [[ ! -f "$data" ]]; then "$python" - "$data" ${p.dataSources.map(shq).join(" ")} <<'PY'`);
    lines.push(MERGE_PY);
    lines.push("PY");
    lines.push("fi");
  }
  const launch = !multi
    ? `deepspeed --num_gpus ${g.per_node} --master_port ${g.master_port}`
    : g.launcher === "torchrun"
      ? `torchrun --nnodes ${g.nodes} --nproc_per_node ${g.per_node} --node_rank "$node_rank" --master_addr ${shq(g.master ?? "")} --master_port ${g.master_port}`
      : `deepspeed --hostfile ${shq(g.hostfile ?? "")} --num_nodes ${g.nodes} --num_gpus ${g.per_node}${g.master !== undefined ? ` --master_addr ${shq(g.master)}` : ""} --master_port ${g.master_port}`;
  if (multi && g.launcher === "torchrun")
    lines.push(`node_rank="\${NODE_RANK:?train.sh: set NODE_RANK to the rank of this node, 0 to ${g.nodes - 1}}"`);
  lines.push(`exec ${launch} "$repo/llava/train/train_mem.py" "\${args[@]}" "$@"`);
  return `${lines.join("\n")}\n`;
}

function pipeline(plan: RepoPlan, spec: string): string {
  const names = plan.phases.map((p) => p.phase);
  const torchrun = plan.gpus.nodes > 1 && plan.gpus.launcher === "torchrun";
  const lines = HEADER(
    `The whole GPU job with the LLaVA repository: ${names.map((n) => `${n}/train.sh`).join(" → ")}.
Each phase writes checkpoints/llava-<phase>; a phase after a projector-only phase loads its mm_projector.bin
(--pretrain_mm_mlp_adapter), after any other its whole model (--model_name_or_path).
Resumable: a finished phase leaves checkpoints/llava-<phase>/.llavac-done and is skipped; an interrupted
one resumes from its newest checkpoint-*. Stops at the first failure.${torchrun ? "\nRun it on every node, with NODE_RANK set (0 on the first)." : ""}
usage: bash pipeline.sh`,
    spec,
  );
  lines.push('step() { printf "\\n== llavac pipeline: %s\\n" "$*" >&2; }');
  lines.push(
    'fail() { printf "\\nllavac pipeline: FAILED at %s; fix it and run pipeline.sh again (finished phases are skipped)\\n" "$*" >&2; exit 1; }',
  );
  for (const p of plan.phases) {
    const dir = `"$here/"${shq(`checkpoints/llava-${p.phase}`)}`;
    lines.push("");
    lines.push(`step "phase ${p.phase}"`);
    if (p.from) {
      const fromPlan = plan.phases.find((q) => q.phase === p.from);
      const need = fromPlan?.adapterOnly ? "mm_projector.bin" : "config.json";
      lines.push(
        `[[ -f "$here/"${shq(`checkpoints/llava-${p.from}/${need}`)} ]] || fail "phase ${p.phase}: phase ${p.from} left no ${need}"`,
      );
    }
    lines.push(`if [[ -f ${dir}/.llavac-done ]]; then`);
    lines.push(`  echo "phase ${p.phase} finished earlier: skipped" >&2`);
    lines.push("else");
    lines.push(`  bash "$here/"${shq(p.phase)}"/train.sh" || fail "phase ${p.phase}"`);
    // What train.py saves at the end: the projector alone (tune_mm_mlp_adapter) or the whole model.
    const last = p.adapterOnly ? "mm_projector.bin" : "config.json";
    lines.push(`  [[ -f ${dir}/${last} ]] || fail "phase ${p.phase}: train.py finished but left no ${last}"`);
    lines.push(`  date -u +%FT%TZ > ${dir}/.llavac-done`);
    lines.push("fi");
  }
  lines.push("");
  lines.push('echo "llavac pipeline: done" >&2');
  return `${lines.join("\n")}\n`;
}

export function llavaRepoFiles(plan: RepoPlan, spec: string): { path: string; content: string }[] {
  const files: { path: string; content: string }[] = [];
  for (const p of plan.phases) {
    files.push({ path: `${p.phase}/train.sh`, content: phaseScript(p, plan, spec) });
    files.push({
      path: `${p.phase}/${p.offload ? "zero3_offload" : `zero${p.zero}`}.json`,
      content: renderZero(zeroConfig(p.zero, p.offload)),
    });
  }
  files.push({ path: "pipeline.sh", content: pipeline(plan, spec) });
  return files;
}
