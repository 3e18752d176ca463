// The Cerebras cluster job as bash scripts, generated from the IR (seed workflow steps 3–7):
//   convert-in.sh    HF weights → Cerebras checkpoint (and the converted config cleaned for 2.2.1)
//   <phase>/run.sh   run.py for one phase: csx (default), validate, compile, gpu or cpu
//   pipeline.sh      convert-in → every phase in order → convert-out; resumable, stops at the first failure
//   convert-out.sh   the last phase's checkpoint → HF, laid out for LLaVA's evaluation, and its commands
// Every value from the spec reaches a script through shq() (single-quoted), so no spec text is code.
import { chainOrder } from "../checks/chain.js";
import type { CerebrasTargetIR, PhaseIR } from "../ir.js";
import { generatedBy } from "../version.js";

/** A bash word that is exactly `s`. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Converter format ids per release (the checkpoint format the release's run.py loads). */
const CS_FORMAT: Record<CerebrasTargetIR["release"], string> = { "2.2.1": "cs-2.2", "2.3.0": "cs-2.3", "2.10": "cs-2.9" };

const RUN_PY = "src/cerebras/modelzoo/models/multimodal/llava/run.py";
const CONVERT_PY = "src/cerebras/modelzoo/tools/convert_checkpoint.py";

/** What LLaVA's scripts/v1_5/eval/<name>.sh evaluate (for the printed commands). */
const BENCHMARKS: Record<string, string> = {
  vqav2: "VQAv2 test-dev (submit to EvalAI)",
  gqa: "GQA testdev-balanced",
  vizwiz: "VizWiz test (submit to EvalAI)",
  sqa: "ScienceQA-IMG",
  textvqa: "TextVQA val",
  pope: "POPE (COCO val2014)",
  mme: "MME",
  mmbench: "MMBench dev (submit to OpenCompass)",
  mmbench_cn: "MMBench-CN dev",
  seed: "SEED-Bench",
  llavabench: "LLaVA-Bench in the Wild (GPT-4 review)",
  mmvet: "MM-Vet",
};

/** Checkpoint states a resumed phase reloads from its own checkpoint (all that run.py accepts but sparsity). */
const RESUME_STATES = "model,optimizer,dataloader,grad_scaler,lr_scheduler,global_step";

/** The newest checkpoint_<step>.mdl of a folder (by step; Cerebras adds a timestamp when a name exists). */
const NEWEST =
  'newest() { local best="" n=-1 f s; for f in "$1"/checkpoint_*.mdl; do [[ -e $f ]] || continue; s="${f##*/checkpoint_}"; s="${s%%[_.]*}"; if (( s > n )); then n=$s; best=$f; fi; done; printf "%s" "$best"; }';

/** `name` from the environment variable `env` if set, else the target's value. */
export const fromEnv = (name: string, env: string, value: string) => `${name}="\${${env}:-}"; [[ -n "$${name}" ]] || ${name}=${shq(value)}`;

/** A phase's model_dir, from a script in the output folder (`$here` is that folder). */
const modelDir = (t: CerebrasTargetIR, phase: string) =>
  t.model_dir ? `${shq(t.model_dir)}/${shq(phase)}` : `"$here/"${shq(phase)}"/model_dir"`;

export interface JobScripts {
  files: { path: string; content: string }[];
}

/** A generated script's first lines: the shebang, where it comes from, what it does, strict mode, `$here`. */
export const HEADER = (what: string, spec: string) => [
  "#!/usr/bin/env bash",
  `# ${generatedBy(spec.replace(/[\r\n]/g, " "))}`,
  ...what.split("\n").map((l) => `# ${l}`),
  "set -euo pipefail",
  'here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
];

function phaseScript(ir: PhaseIR, t: CerebrasTargetIR, spec: string): string {
  const lines = HEADER(
    `Phase ${ir.$name} with the Cerebras Model Zoo ${t.release} (run.py), on the cluster or on one machine.
usage: bash run.sh [csx|validate|compile|gpu|cpu] CHECKPOINT [extra run.py arguments...]
  csx       train on ${t.num_csx} CS system(s)
  validate  run.py --validate_only: check the config and model on the cluster without compiling
  compile   run.py --compile_only: compile for the cluster without training
  gpu, cpu  the same training command on a GPU or CPU machine (no cluster flags)
CHECKPOINT is the checkpoint to start from (pipeline.sh passes it).`,
    spec,
  );
  lines.push(fromEnv("modelzoo", "MODELZOO", t.modelzoo));
  lines.push(fromEnv("python", "PYTHON", t.python));
  const modelDir = t.model_dir ? `${shq(t.model_dir)}/${shq(ir.$name)}` : '"$here/model_dir"';
  lines.push(`model_dir=${modelDir}`);
  lines.push('mode="${1:-csx}"');
  lines.push('checkpoint="${2:?usage: bash run.sh [csx|validate|compile|gpu|cpu] CHECKPOINT}"');
  lines.push("shift 2");
  // A phase with a held-out split evaluates it every eval_frequency steps, as `llavac run` does every eval_every.
  const runMode = ir.eval_every ? "train_and_eval" : "train";
  lines.push(`args=(--mode ${runMode} --params "$here/params.yaml" --model_dir "$model_dir" --checkpoint_path "$checkpoint")`);
  const csx = [`--num_csx ${t.num_csx}`];
  if (t.mount_dirs.length) csx.push(`--mount_dirs ${t.mount_dirs.map(shq).join(" ")}`);
  if (t.python_paths.length) csx.push(`--python_paths ${t.python_paths.map(shq).join(" ")}`);
  if (t.mgmt_address) csx.push(`--mgmt_address ${shq(t.mgmt_address)}`);
  if (t.job_labels.length) csx.push(`--job_labels ${t.job_labels.map(shq).join(" ")}`);
  lines.push('case "$mode" in');
  lines.push(`  csx|validate|compile) device=CSX; args+=(${csx.join(" ")})`);
  lines.push("    if [[ $mode == validate ]]; then args+=(--validate_only); fi");
  lines.push("    if [[ $mode == compile ]]; then args+=(--compile_only); fi ;;");
  lines.push("  gpu) device=GPU ;;");
  lines.push("  cpu) device=CPU ;;");
  lines.push('  *) echo "run.sh: unknown mode \\"$mode\\" (csx, validate, compile, gpu or cpu)" >&2; exit 2 ;;');
  lines.push("esac");
  lines.push(`exec "$python" "$modelzoo/${RUN_PY}" "$device" "\${args[@]}" "$@"`);
  return lines.join("\n") + "\n";
}

function convertIn(t: CerebrasTargetIR, spec: string): string {
  const lines = HEADER(
    `Seed step 4: convert the HuggingFace weights (image_model/ and text_model/ of the weights folder) to a
Cerebras ${CS_FORMAT[t.release]} checkpoint in converted/, and remove from the converted config the keys release 2.2.1
rejects (label_smoothing, z_loss_eps). Check the folder first: llavac check <spec> --weights <folder>.`,
    spec,
  );
  lines.push(fromEnv("modelzoo", "MODELZOO", t.modelzoo));
  lines.push(fromEnv("python", "PYTHON", t.python));
  lines.push(fromEnv("weights", "WEIGHTS", t.weights));
  lines.push('converted="$here/converted"');
  lines.push("for part in image_model text_model; do");
  lines.push('  [[ -d "$weights/$part" ]] || { echo "convert-in.sh: $weights/$part is missing (see seed step 3)" >&2; exit 1; }');
  lines.push("done");
  lines.push('mkdir -p "$converted"');
  lines.push(
    `"$python" "$modelzoo/${CONVERT_PY}" convert --model llava --src-fmt hf --tgt-fmt ${CS_FORMAT[t.release]} --output-dir "$converted" --config "$weights" "$weights"`,
  );
  lines.push("shopt -s nullglob");
  lines.push(`configs=("$converted"/config_*to_${CS_FORMAT[t.release]}.yaml)`);
  lines.push('checkpoints=("$converted"/pytorch_model*_to_' + CS_FORMAT[t.release] + ".mdl)");
  lines.push(
    '(( ${#checkpoints[@]} == 1 )) || { echo "convert-in.sh: expected one converted checkpoint in $converted, found ${#checkpoints[@]}" >&2; exit 1; }',
  );
  lines.push('for c in "${configs[@]}"; do sed -i -E \'/^[[:space:]]*(label_smoothing|z_loss_eps):/d\' "$c"; done');
  lines.push('echo "${checkpoints[0]}" > "$converted/.llavac-done"');
  lines.push('echo "converted: ${checkpoints[0]}"');
  return lines.join("\n") + "\n";
}

function convertOut(last: PhaseIR, t: CerebrasTargetIR, spec: string): string {
  const lines = HEADER(
    `Seed steps 6–7: convert phase ${last.$name}'s newest checkpoint back to HuggingFace format in export/, lay it out as
LLaVA's evaluation expects (text_model → text_model_llava, the tokenizer files copied in, mm_vision_tower
pointing at image_model), and print the evaluation commands.
usage: bash convert-out.sh [CHECKPOINT]   (default: the newest checkpoint_<step>.mdl of phase ${last.$name})`,
    spec,
  );
  lines.push(fromEnv("modelzoo", "MODELZOO", t.modelzoo));
  lines.push(fromEnv("python", "PYTHON", t.python));
  lines.push(fromEnv("weights", "WEIGHTS", t.weights));
  lines.push(`model_dir=${modelDir(t, last.$name)}`);
  lines.push(NEWEST);
  lines.push('checkpoint="${1:-$(newest "$model_dir")}"');
  lines.push(
    `[[ -n "$checkpoint" && -f "$checkpoint" ]] || { echo "convert-out.sh: no checkpoint_<step>.mdl in $model_dir (has phase ${last.$name} run?)" >&2; exit 1; }`,
  );
  lines.push('export_dir="$here/export"');
  lines.push('rm -rf "$export_dir.tmp" && mkdir -p "$export_dir.tmp"');
  lines.push(
    `"$python" "$modelzoo/${CONVERT_PY}" convert --model llava --src-fmt ${CS_FORMAT[t.release]} --tgt-fmt hf --output-dir "$export_dir.tmp" --config "$here/"${shq(last.$name)}"/params.yaml" "$checkpoint"`,
  );
  lines.push(
    'for part in image_model text_model; do [[ -d "$export_dir.tmp/$part" ]] || { echo "convert-out.sh: the converter wrote no $part/" >&2; exit 1; }; done',
  );
  lines.push('mv "$export_dir.tmp/text_model" "$export_dir.tmp/text_model_llava"');
  lines.push("# LLaVA's loader needs the tokenizer beside the language model's weights.");
  lines.push("copied=0");
  lines.push("for f in tokenizer.model tokenizer_config.json special_tokens_map.json tokenizer.json added_tokens.json; do");
  lines.push(
    '  if [[ -f "$weights/text_model/$f" ]]; then cp "$weights/text_model/$f" "$export_dir.tmp/text_model_llava/"; copied=$((copied + 1)); fi',
  );
  lines.push("done");
  lines.push('(( copied > 0 )) || { echo "convert-out.sh: no tokenizer files in $weights/text_model" >&2; exit 1; }');
  lines.push("# mm_vision_tower must name the converted CLIP folder (the converter writes the path it used).");
  lines.push(`"$python" - "$export_dir.tmp/text_model_llava/config.json" "$export_dir/image_model" <<'PY'
import json, sys
path, tower = sys.argv[1], sys.argv[2]
with open(path) as f:
    cfg = json.load(f)
if cfg.get("mm_vision_tower") != tower:
    print(f"convert-out.sh: mm_vision_tower was {cfg.get('mm_vision_tower')!r}; set to {tower!r}")
    cfg["mm_vision_tower"] = tower
    with open(path + ".tmp", "w") as f:
        json.dump(cfg, f, indent=2)
    import os
    os.replace(path + ".tmp", path)
PY`);
  lines.push('rm -rf "$export_dir" && mv "$export_dir.tmp" "$export_dir"');
  lines.push('echo "exported: $export_dir/text_model_llava (language model and projector), $export_dir/image_model (CLIP)"');
  if (t.eval.length) {
    lines.push("cat <<EVAL");
    lines.push("Evaluate with the LLaVA repository (seed step 7), from its root, after extracting eval.zip into ./playground/data/eval.");
    lines.push("The v1.5 scripts name the released model (liuhaotian/llava-v1.5-13b); each command runs one with this model instead:");
    for (const b of t.eval)
      lines.push(
        `  sed "s#liuhaotian/llava-v1.5-13b#$export_dir/text_model_llava#g" scripts/v1_5/eval/${b}.sh | bash    # ${BENCHMARKS[b] ?? b}`,
      );
    lines.push("EVAL");
  }
  return lines.join("\n") + "\n";
}

function pipeline(phases: PhaseIR[], t: CerebrasTargetIR, spec: string): string {
  const names = phases.map((p) => p.$name);
  const lines = HEADER(
    `The whole Cerebras job: convert-in.sh → ${names.map((n) => `${n}/run.sh`).join(" → ")} → convert-out.sh.
Resumable: a finished step leaves a .llavac-done marker and is skipped when the pipeline runs again; an
interrupted phase resumes from its own newest checkpoint with every state. Stops at the first failure.
usage: bash pipeline.sh [csx|gpu|cpu]   (default csx)`,
    spec,
  );
  lines.push('mode="${1:-csx}"');
  lines.push('step() { printf "\\n== llavac pipeline: %s\\n" "$*" >&2; }');
  lines.push(
    'fail() { printf "\\nllavac pipeline: FAILED at %s; fix it and run pipeline.sh again (finished steps are skipped)\\n" "$*" >&2; exit 1; }',
  );
  lines.push(NEWEST);
  lines.push('done_marker() { [[ -f "$1/.llavac-done" ]]; }');
  lines.push("");
  lines.push('step "convert-in (HF → Cerebras)"');
  lines.push(
    'if done_marker "$here/converted"; then echo "already converted: $(cat "$here/converted/.llavac-done")" >&2; else bash "$here/convert-in.sh" || fail "convert-in.sh"; fi',
  );
  lines.push('converted="$(cat "$here/converted/.llavac-done")"');
  lines.push('[[ -f "$converted" ]] || fail "convert-in.sh: the converted checkpoint $converted is missing"');
  for (const p of phases) {
    lines.push("");
    lines.push(`step "phase ${p.$name}"`);
    // A phase that starts from another takes that phase's newest checkpoint (its params.yaml loads the
    // model states only); the others start from the converted weights.
    lines.push(p.from ? `checkpoint="$(cat ${modelDir(t, p.from.phase)}/.llavac-done)"` : 'checkpoint="$converted"');
    lines.push(`model_dir=${modelDir(t, p.$name)}`);
    lines.push('if done_marker "$model_dir"; then');
    lines.push(`  echo "phase ${p.$name} finished earlier: skipped" >&2`);
    lines.push("else");
    lines.push('  own="$(newest "$model_dir")"');
    lines.push('  if [[ -n "$own" ]]; then');
    lines.push(`    echo "phase ${p.$name} resumes from its own checkpoint $own" >&2`);
    lines.push(
      `    bash "$here/"${shq(p.$name)}"/run.sh" "$mode" "$own" --load_checkpoint_states ${RESUME_STATES} || fail "phase ${p.$name} (resumed from $own)"`,
    );
    lines.push("  else");
    lines.push(`    bash "$here/"${shq(p.$name)}"/run.sh" "$mode" "$checkpoint" || fail "phase ${p.$name}"`);
    lines.push("  fi");
    lines.push(
      '  [[ -n "$(newest "$model_dir")" ]] || fail "phase ' +
        p.$name +
        ': run.py finished but left no checkpoint_<step>.mdl in $model_dir"',
    );
    lines.push('  newest "$model_dir" > "$model_dir/.llavac-done"');
    lines.push("fi");
    lines.push('checkpoint="$(cat "$model_dir/.llavac-done")"');
    lines.push(`echo "phase ${p.$name}: $checkpoint" >&2`);
  }
  lines.push("");
  lines.push('step "convert-out (Cerebras → HF, for evaluation)"');
  lines.push(
    'if [[ -f "$here/export/.llavac-done" && "$(cat "$here/export/.llavac-done")" == "$checkpoint" ]]; then echo "already exported" >&2; else bash "$here/convert-out.sh" "$checkpoint" || fail "convert-out.sh"; echo "$checkpoint" > "$here/export/.llavac-done"; fi',
  );
  lines.push('echo "llavac pipeline: done" >&2');
  return lines.join("\n") + "\n";
}

export function jobScripts(all: PhaseIR[], target: CerebrasTargetIR, spec: string): JobScripts {
  const phases = chainOrder(all, (p) => p);
  const files = [
    { path: "convert-in.sh", content: convertIn(target, spec) },
    ...phases.map((p) => ({ path: `${p.$name}/run.sh`, content: phaseScript(p, target, spec) })),
    { path: "pipeline.sh", content: pipeline(phases, target, spec) },
  ];
  const last = phases[phases.length - 1];
  if (last) files.push({ path: "convert-out.sh", content: convertOut(last, target, spec) });
  return { files };
}
