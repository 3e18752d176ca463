// `--target llava-repo`: the LLaVA repository's DeepSpeed launch. Held to facts taken from the repository
// (test/fixtures/llava-repo, made by tools/oracles/llava_repo_args.py): every emitted flag is one its
// HfArgumentParser accepts, with a value of the flag's type and choices; every example's arguments are
// the ones that parser was given when the fixtures were made; the LLaVA-1.5 recipe gives the flags of the
// repository's own scripts/v1_5/pretrain.sh and finetune.sh but for the differences stated here; the ZeRO
// configs are the repository's. The scripts pass shellcheck, and pipeline.sh drives a fake deepspeed
// through both phases with the hand-off, resumes, and stops at a failure. The checks say what the
// repository's switches cannot express.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { filesToWrite, writeAtomically } from "../compiler/build.js";
import { compile, type CompileResult } from "../compiler/compile.js";
import { tempDir } from "./data-helpers.js";
import { ROOT, TINY, TINY_DIRS } from "./helpers.js";

const FIX = path.join(ROOT, "test", "fixtures", "llava-repo");
interface FlagInfo {
  dest: string;
  type: string;
  default: unknown;
  choices?: unknown[];
}
const ARGS = JSON.parse(readFileSync(path.join(FIX, "args.json"), "utf8")) as {
  renamed_since_pinned: Record<string, { now: string }>;
  reference: Record<"pretrain" | "finetune", { argv: string[]; parsed: Record<string, unknown> }>;
  zero: Record<string, unknown>;
  flags: Record<string, FlagInfo>;
};
const PARSED = JSON.parse(readFileSync(path.join(FIX, "parsed.json"), "utf8")) as {
  examples: Record<
    string,
    { builds: boolean; errors?: string[]; phases?: Record<string, { argv: string[]; parsed: Record<string, unknown> }> }
  >;
};
const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

async function buildRepo(spec: string, out: string, source?: string): Promise<CompileResult> {
  const result = await compile(spec, { cwd: ROOT, env: {}, outDir: out, llavaRepo: true, ...(source ? { source } : {}) });
  if (result.diags.errorCount === 0) writeAtomically(out, filesToWrite(result.emitted, { llavaRepo: true }));
  return result;
}

/** One build per example for the whole file (the examples' tests, the v1.5 comparison and shellcheck share it). */
const EXAMPLES_OUT = tempDir("llavac-repo-");
const exampleBuilds = new Map<string, Promise<{ out: string; result: CompileResult }>>();
function buildExample(spec: string): Promise<{ out: string; result: CompileResult }> {
  let b = exampleBuilds.get(spec);
  if (!b) {
    const out = path.join(EXAMPLES_OUT, spec.replace(/\//g, "_"));
    b = buildRepo(path.join(ROOT, spec), out).then((result) => ({ out, result }));
    exampleBuilds.set(spec, b);
  }
  return b;
}

/** A phase's train.py arguments, as its train.sh passes them (LLAVAC_PRINT_ARGS), with the output folder as <out>. */
function argvOf(out: string, phase: string): string[] {
  const r = spawnSync("bash", [path.join(out, phase, "train.sh")], { env: { ...process.env, LLAVAC_PRINT_ARGS: "1" }, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((w) => w.split(out).join("<out>"));
}

/** Flag → value pairs (every flag here takes one value). */
function pairs(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    expect(argv[i], `word ${i} of ${argv.join(" ")}`).toMatch(/^--[a-z_0-9]+$/);
    m.set(argv[i]!, argv[i + 1]!);
  }
  return m;
}

/** A value as HfArgumentParser reads it for the flag's type (throws for one it would reject). */
function typed(flag: string, raw: string): unknown {
  const now = ARGS.renamed_since_pinned[flag]?.now ?? flag;
  const info = ARGS.flags[now];
  if (!info) throw new Error(`${flag} is not a flag of the repository's parser`);
  let v: unknown = raw;
  if (info.type === "bool") {
    const b = { true: true, false: false, yes: true, no: false, "1": true, "0": false }[raw.toLowerCase()];
    if (b === undefined) throw new Error(`${flag} ${raw}: not a bool`);
    v = b;
  } else if (info.type === "int") {
    if (!/^-?\d+$/.test(raw)) throw new Error(`${flag} ${raw}: not an int`);
    v = Number(raw);
  } else if (info.type === "float") {
    if (Number.isNaN(Number(raw)) || raw.trim() === "") throw new Error(`${flag} ${raw}: not a float`);
    v = Number(raw);
  }
  if (info.choices && !info.choices.includes(v)) throw new Error(`${flag} ${raw}: not one of ${info.choices.join(", ")}`);
  return v;
}

describe("llava-repo: every example's arguments are what the repository's parser accepted", () => {
  it.each(Object.keys(PARSED.examples))("%s", async (spec) => {
    const want = PARSED.examples[spec]!;
    const { out, result: r } = await buildExample(spec);
    const errors = [...new Set(r.diags.items.filter((d) => d.severity === "error").map((d) => d.code))].sort();
    if (!want.builds) {
      // An example that is no GPU recipe (tiny-shapes: no HuggingFace weights, a final_lr) is refused, as recorded.
      expect(errors).toEqual(want.errors);
      return;
    }
    expect(errors).toEqual([]);
    for (const [phase, rec] of Object.entries(want.phases!)) {
      const argv = argvOf(out, phase);
      // The recorded argv is the pinned spelling; the parsed values are under the parsing release's names.
      expect(argv, `${spec} ${phase}: the emitted arguments changed; regenerate the fixtures`).toEqual(rec.argv);
      for (const [flag, raw] of pairs(argv)) {
        const now = ARGS.renamed_since_pinned[flag]?.now ?? flag;
        expect(typed(flag, raw), `${spec} ${phase} ${flag}`).toEqual(rec.parsed[now]);
      }
    }
  });

  it("the table's type check rejects what the parser rejects", () => {
    expect(() => typed("--bf16", "maybe")).toThrow(/not a bool/);
    expect(() => typed("--per_device_train_batch_size", "1.5")).toThrow(/not an int/);
    expect(() => typed("--lr_scheduler_type", "cosine_annealing")).toThrow(/not one of/);
    expect(() => typed("--no_such_flag", "1")).toThrow(/not a flag/);
    expect(typed("--evaluation_strategy", "no")).toBe("no");
  });
});

describe("llava-repo: the LLaVA-1.5 recipe is the repository's scripts/v1_5", () => {
  // The repository's scripts are the 13B ones; the 7B example differs in the model names only.
  // Documented differences (README, *GPU clusters*): paths (llavac's output folder, the spec's data), the
  // checkpoint cadence and the loader's workers from the spec's `run` and `loader`, and phase 1's
  // `--image_aspect_ratio pad`: the spec's (and the Model Zoo's) transforms pad in both phases.
  const PATHS = ["--deepspeed", "--data_path", "--image_folder", "--output_dir", "--pretrain_mm_mlp_adapter"];
  const FROM_SPEC = { "--save_steps": "1000", "--save_total_limit": "3", "--dataloader_num_workers": "8" };
  // Flags llavac states that the repository's scripts leave at the parser's default (same meaning).
  const EXPLICIT_DEFAULTS = ["--mm_vision_select_feature", "--adam_beta1", "--adam_beta2", "--adam_epsilon", "--max_grad_norm"];
  for (const size of ["13b", "7b"]) {
    it.each(["pretrain", "finetune"] as const)(`llava-v1.5-${size} %s`, async (phase) => {
      const { out, result } = await buildExample(`examples/llava-v1.5-${size}/llava.llava`);
      expect(result.diags.errorCount).toBe(0);
      const ours = pairs(argvOf(out, phase));
      const ref = pairs(ARGS.reference[phase].argv);
      const rename = (v: string) => (size === "7b" ? v.replace("13b", "7b") : v);
      for (const [flag, value] of ref) {
        expect(ours.has(flag), `${flag} is missing`).toBe(true);
        if (PATHS.includes(flag)) continue;
        if (flag in FROM_SPEC) {
          expect(ours.get(flag), flag).toBe(FROM_SPEC[flag as keyof typeof FROM_SPEC]);
          continue;
        }
        expect(typed(flag, ours.get(flag)!), flag).toEqual(typed(flag, rename(value)));
      }
      const extra = [...ours.keys()].filter((f) => !ref.has(f));
      const expectedExtra = ["--seed", ...EXPLICIT_DEFAULTS, "--group_by_modality_length"];
      if (phase === "pretrain") expectedExtra.push("--image_aspect_ratio");
      expect(extra.sort()).toEqual(expectedExtra.filter((f) => !ref.has(f)).sort());
      for (const f of EXPLICIT_DEFAULTS) expect(typed(f, ours.get(f)!), f).toEqual(ARGS.flags[f]!.default);
      expect(ours.get("--seed")).toBe("1");
      if (phase === "pretrain") {
        expect(ours.get("--group_by_modality_length")).toBe("False");
        expect(ours.get("--image_aspect_ratio")).toBe("pad");
      }
      // The paths: the ZeRO stage the repository's script names, and the hand-off of phase 1's projector.
      expect(ours.get("--deepspeed")).toBe(`<out>/${phase}/${path.basename(ref.get("--deepspeed")!)}`);
      if (phase === "finetune") expect(ours.get("--pretrain_mm_mlp_adapter")).toBe("<out>/checkpoints/llava-pretrain/mm_projector.bin");
      const zero = path.basename(ref.get("--deepspeed")!);
      expect(JSON.parse(readFileSync(path.join(out, phase, zero), "utf8"))).toEqual(ARGS.zero[zero]);
      expect(readFileSync(path.join(out, phase, "train.sh"), "utf8")).toContain(
        'exec deepspeed --num_gpus 8 --master_port 29500 "$repo/llava/train/train_mem.py"',
      );
    });
  }
});

// TINY, made a GPU recipe: HuggingFace ids, two GPUs, its jsonl data.
const GPU_TINY = TINY.replace("vision    = tiny_vit", 'vision    = tiny_vit { huggingface: "openai/clip-vit-base-patch16" }')
  .replace("language  = tiny_llama", 'language  = tiny_llama { huggingface: "./tiny-lm" }')
  .concat("\ngpus cluster { per_node: 2 }\n");

async function tinyRepo(source: string, dir: string): Promise<CompileResult> {
  for (const d of TINY_DIRS) mkdirSync(path.join(dir, d), { recursive: true });
  writeFileSync(path.join(dir, "spec.llava"), source);
  const result = await compile(path.join(dir, "spec.llava"), { cwd: dir, env: {}, outDir: path.join(dir, "out") });
  if (result.diags.errorCount === 0) writeAtomically(path.join(dir, "out"), filesToWrite(result.emitted, { llavaRepo: true }));
  return result;
}
const codes = (r: CompileResult) => r.diags.items.map((d) => d.code as string);

describe("llava-repo: scripts", () => {
  it("shellcheck passes on every script of the examples and of the multi-node forms", async () => {
    if (!hasShellcheck) return console.warn("shellcheck is not installed: skipped");
    const dir = tempDir("llavac-repo-sc-");
    const scripts: string[] = [];
    for (const [name, text] of [
      ["one", GPU_TINY],
      [
        "torchrun",
        GPU_TINY.replace("gpus cluster { per_node: 2 }", 'gpus cluster { per_node: 2, nodes: 2, launcher: torchrun, master: "10.0.0.1" }'),
      ],
      ["hostfile", GPU_TINY.replace("gpus cluster { per_node: 2 }", 'gpus cluster { per_node: 2, nodes: 2, hostfile: "./hosts" }')],
    ] as const) {
      const r = await tinyRepo(text, path.join(dir, name));
      expect(r.diags.errorCount, name).toBe(0);
      for (const f of filesToWrite(r.emitted, { llavaRepo: true }))
        if (f.path.endsWith(".sh")) scripts.push(path.join(dir, name, "out", f.path));
    }
    const torch = readFileSync(path.join(dir, "torchrun", "out", "tune", "train.sh"), "utf8");
    expect(torch).toContain(
      `exec torchrun --nnodes 2 --nproc_per_node 2 --node_rank "$node_rank" --master_addr '10.0.0.1' --master_port 29500 "$repo/llava/train/train_mem.py"`,
    );
    expect(torch).toContain("NODE_RANK:?");
    const hosts = readFileSync(path.join(dir, "hostfile", "out", "tune", "train.sh"), "utf8");
    expect(hosts).toContain(
      `exec deepspeed --hostfile './hosts' --num_nodes 2 --num_gpus 2 --master_port 29500 "$repo/llava/train/train_mem.py"`,
    );
    for (const ex of ["llava-v1.5-7b", "llava-v1.5-13b"]) {
      const { out } = await buildExample(`examples/${ex}/llava.llava`);
      scripts.push(path.join(out, "pipeline.sh"), path.join(out, "pretrain", "train.sh"), path.join(out, "finetune", "train.sh"));
    }
    const sc = spawnSync("shellcheck", ["-s", "bash", ...scripts], { encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
  });

  it("pipeline.sh runs the phases in order with the hand-off, makes each phase's data.json, resumes, and stops at a failure", async () => {
    const dir = tempDir("llavac-repo-run-");
    mkdirSync(path.join(dir, "jsonl"), { recursive: true });
    writeFileSync(path.join(dir, "jsonl", "a.jsonl"), '{"id": 1, "image": "x.png", "conversations": []}\n{"id": 2, "conversations": []}\n');
    const r = await tinyRepo(GPU_TINY, dir);
    expect(r.diags.errorCount, r.diags.items.map((d) => d.message).join("\n")).toBe(0);
    // A fake repository: train_mem.py exists; `deepspeed` records its arguments and saves what train.py saves.
    mkdirSync(path.join(dir, "repo", "llava", "train"), { recursive: true });
    writeFileSync(path.join(dir, "repo", "llava", "train", "train_mem.py"), "");
    const notRepo = spawnSync("bash", [path.join(dir, "out", "align", "train.sh")], {
      cwd: dir,
      env: { ...process.env, LLAVA_REPO: path.join(dir, "jsonl") },
      encoding: "utf8",
    });
    expect(notRepo.status).toBe(1);
    expect(notRepo.stderr).toContain("is not a LLaVA checkout");
    mkdirSync(path.join(dir, "bin"));
    writeFileSync(
      path.join(dir, "bin", "deepspeed"),
      `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_LOG"
out=""; adapter=0
while (( $# )); do case "$1" in --output_dir) out="$2"; shift ;; --tune_mm_mlp_adapter) adapter=1; shift ;; esac; shift; done
[[ -n "\${FAKE_FAIL:-}" && "$out" == *"$FAKE_FAIL" ]] && exit 3
mkdir -p "$out"
if (( adapter )); then : > "$out/mm_projector.bin"; else echo '{}' > "$out/config.json"; fi
`,
    );
    chmodSync(path.join(dir, "bin", "deepspeed"), 0o755);
    const log = path.join(dir, "log");
    const env = {
      ...process.env,
      PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
      LLAVA_REPO: path.join(dir, "repo"),
      PYTHON: "python3",
      FAKE_LOG: log,
    };
    const pipeline = path.join(dir, "out", "pipeline.sh");
    const failed = spawnSync("bash", [pipeline], { cwd: dir, env: { ...env, FAKE_FAIL: "llava-tune" }, encoding: "utf8" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("FAILED at phase tune");
    const ok = spawnSync("bash", [pipeline], { cwd: dir, env, encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toContain("phase align finished earlier: skipped");
    const runs = readFileSync(log, "utf8").trim().split("\n");
    expect(runs.length).toBe(3); // align, tune (failed), tune
    expect(runs[0]).toMatch(/^--num_gpus 2 --master_port 29500 \S+\/repo\/llava\/train\/train_mem\.py .*--tune_mm_mlp_adapter True/);
    // 32 per step, 8 per micro-batch on 2 GPUs: accumulate 2 micro-batches.
    expect(runs[0]).toContain("--per_device_train_batch_size 8 --per_device_eval_batch_size 4 --gradient_accumulation_steps 2");
    expect(runs[2]).toContain(`--pretrain_mm_mlp_adapter ${path.join(dir, "out", "checkpoints", "llava-align", "mm_projector.bin")}`);
    expect(runs[2]).not.toContain("--tune_mm_mlp_adapter");
    expect(runs[2]).toContain("--model_name_or_path ./tiny-lm");
    const data = JSON.parse(readFileSync(path.join(dir, "out", "align", "data.json"), "utf8")) as { id: number }[];
    expect(data.map((d) => d.id)).toEqual([1, 2]);
    const again = spawnSync("bash", [pipeline], { cwd: dir, env, encoding: "utf8" });
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("phase tune finished earlier: skipped");
    expect(readFileSync(log, "utf8").trim().split("\n").length).toBe(3);
  });
});

describe("llava-repo: what the repository's switches cannot express", () => {
  it("freezing: patterns that reduce to a switch combination pass; others name the parameters that would differ", async () => {
    const dir = tempDir("llavac-repo-freeze-");
    const ok = await tinyRepo(
      GPU_TINY.replace(
        "freeze    = [/^image_model/]",
        "freeze    = [/^image_model/, /^text_model\\.transformer_decoder/, /embedding_layer/]",
      ),
      path.join(dir, "a"),
    );
    // tune: the body frozen, lm_head and the projector trained → --freeze_backbone.
    expect(codes(ok).filter((c) => c.startsWith("E"))).toEqual([]);
    expect(argvOf(path.join(dir, "a", "out"), "tune").join(" ")).toContain("--freeze_backbone True");
    const bad = await tinyRepo(
      GPU_TINY.replace("freeze    = [/^image_model/]", "freeze    = [/^image_model/, /layers\\.0\\./]"),
      path.join(dir, "b"),
    );
    const d = bad.diags.items.find((x) => x.code === "E1001")!;
    expect(d.message).toMatch(/^phase tune: \d+ parameters would be trained/);
    expect(d.notes.map((n) => n.message).join("\n")).toContain("the spec freezes");
    expect(d.notes.map((n) => n.message).join("\n")).toContain("text_model.transformer_decoder.layers.0.");
    const vision = await tinyRepo(GPU_TINY.replace("freeze    = [/^image_model/]", "freeze    = []"), path.join(dir, "c"));
    const v = vision.diags.items.find((x) => x.code === "E1001")!;
    expect(v.notes.map((n) => n.message).join("\n")).toMatch(/the spec trains \d+ parameter\(s\) of the vision tower/);
  });

  it("--version: mistral_instruct and chatml_direct by their layout; llama3 and Qwen2's chatml are E1006 saying why", async () => {
    const dir = tempDir("llavac-repo-version-");
    // The fixture byte-level BPE with Llama-3's and ChatML's special tokens (and a BOS, which phase align's plain needs).
    const TOK = path.join(ROOT, "test/fixtures/tokjson/llama3/tokenizer.json");
    const turns = (template: string, imports: string, language = "") =>
      GPU_TINY.replace('import { plain, vicuna_v1 } from "std/templates"', `import { plain, vicuna_v1, ${imports} } from "std/templates"`)
        .replace("template  = vicuna_v1", `template  = ${template}`)
        .replace('preprocess = hdf5_writer { output: "./h5/tune_raw" }', "preprocess = none")
        .replace('language  = tiny_llama { huggingface: "./tiny-lm" }', `language  = tiny_llama { huggingface: "./tiny-lm"${language} }`);
    const bpe = `, tokenizer_family: llama3, vocab_size: 3008, tokenizer: tokenizer { json: ${JSON.stringify(TOK)}, huggingface: "./tiny-lm" }`;
    const withBpe = (src: string) =>
      src.replace('import { tiny_llama } from "std/language"', 'import { tiny_llama, tokenizer } from "std/language"');
    const version = (r: CompileResult, out: string) => {
      expect(codes(r).filter((c) => c.startsWith("E"))).toEqual([]);
      return pairs(argvOf(out, "tune")).get("--version");
    };
    const mistral = await tinyRepo(turns("mistral_instruct", "mistral_instruct"), path.join(dir, "m"));
    expect(version(mistral, path.join(dir, "m", "out"))).toBe("mistral_instruct");
    const direct = 'chatml { system: "Answer the questions.", separator: "" }';
    const chatmlDirect = await tinyRepo(withBpe(turns(direct, "chatml", bpe)), path.join(dir, "c"));
    expect(version(chatmlDirect, path.join(dir, "c", "out"))).toBe("chatml_direct");
    // Qwen2's own chatml (its system prompt, a newline after each <|im_end|>) is not chatml_direct.
    const qwenChatml = await tinyRepo(withBpe(turns("chatml", "chatml", bpe)), path.join(dir, "q"));
    const q = qwenChatml.diags.items.filter((d) => d.code === "E1006");
    expect(q.map((d) => d.message)).toEqual(["template chatml is none of the LLaVA repository's conversations (--version)"]);
    expect(q[0]!.help.join("\n")).toContain('chatml { system: "Answer the questions.", separator: "" }');
    // A mistral_instruct with a system prompt is another layout (the repository's is empty).
    const sys = await tinyRepo(turns('mistral_instruct { system: "Be brief." }', "mistral_instruct"), path.join(dir, "s"));
    expect(codes(sys)).toContain("E1006");
    const llama3 = await tinyRepo(withBpe(turns("llama3", "llama3", bpe)), path.join(dir, "l"));
    const l = llama3.diags.items.filter((d) => d.code === "E1006");
    expect(l.length).toBe(1);
    expect(l[0]!.help.join("\n")).toMatch(/the LLaVA repository has no Llama-3 conversation/);
  });

  it("batch arithmetic: accumulation = batch ÷ (micro × GPUs), an error when it is not whole", async () => {
    const dir = tempDir("llavac-repo-batch-");
    const r = await tinyRepo(GPU_TINY.replace("gpus cluster { per_node: 2 }", "gpus cluster { per_node: 3 }"), dir);
    expect(codes(r)).toContain("E1003"); // align: 32 / (8 × 3)
    expect(codes(r)).toContain("E1002"); // tune: 32 per step, no micro-batch, on 3 GPUs
    const e = r.diags.items.find((x) => x.code === "E1003")!;
    expect(e.label).toBe("32 / (8 × 3) = 1.333");
  });

  it("the GPU batch comes from the phase's gpu block; ZeRO-3 when the language model trains, offload needs it", async () => {
    const dir = tempDir("llavac-repo-zero-");
    const r = await tinyRepo(
      GPU_TINY.replace(
        "schedule  = warmup_cosine { length: 3 epochs }",
        "schedule  = warmup_cosine { length: 3 epochs }\n  gpu = gpu_phase { batch: 64 per step, 4 per micro-batch }",
      ).replace("gpus cluster { per_node: 2 }", "gpus cluster { per_node: 2, offload: true }"),
      dir,
    );
    expect(codes(r)).toContain("E1009"); // align trains the projector alone: ZeRO-2
    const r2 = await tinyRepo(
      GPU_TINY.replace(
        "schedule  = warmup_cosine { length: 3 epochs }",
        "schedule  = warmup_cosine { length: 3 epochs }\n  gpu = gpu_phase { batch: 64 per step, 4 per micro-batch }",
      ),
      path.join(dir, "2"),
    );
    expect(r2.diags.errorCount).toBe(0);
    const tune = pairs(argvOf(path.join(dir, "2", "out"), "tune"));
    expect(tune.get("--per_device_train_batch_size")).toBe("4");
    expect(tune.get("--gradient_accumulation_steps")).toBe("8");
    expect(tune.get("--deepspeed")).toBe("<out>/tune/zero3.json");
    expect(pairs(argvOf(path.join(dir, "2", "out"), "align")).get("--deepspeed")).toBe("<out>/align/zero2.json");
  });

  it("the ZeRO-3 offload config is the repository's", async () => {
    const { zeroConfig } = await import("../compiler/emit/llava-repo.js");
    expect(zeroConfig(3, true)).toEqual(ARGS.zero["zero3_offload.json"]);
    expect(zeroConfig(2, false)).toEqual(ARGS.zero["zero2.json"]);
  });
});

describe("llava-repo: the command line", () => {
  it("the README's build command writes the scripts and the configs, and nothing of the Cerebras job", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const line = readme.split("\n").find((l) => l.startsWith("npx llavac build ") && l.includes("--target llava-repo"))!;
    const out = path.join(tempDir("llavac-repo-cli-"), "gpu");
    const args = line
      .replace(/^npx llavac /, "")
      .split(/\s+/)
      .map((w) => (w === "out/gpu" ? out : w));
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin/llavac.js"), ...args], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ["pipeline.sh", "pretrain/train.sh", "pretrain/zero2.json", "finetune/train.sh", "finetune/zero3.json"])
      expect(existsSync(path.join(out, f)), f).toBe(true);
    expect(existsSync(path.join(out, "pretrain", "params.yaml"))).toBe(false);
    const bad = spawnSync(
      process.execPath,
      [path.join(ROOT, "bin/llavac.js"), "build", "examples/llava-v1.5-7b/llava.llava", "--target", "slurm", "-o", out],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown target "slurm" (cerebras or llava-repo)');
  });
});

describe("llava-repo: import of the repository's launch scripts", () => {
  const script = (argv: string[]) =>
    `#!/bin/bash\n\ndeepspeed llava/train/train_mem.py \\\n${argv.map((w) => `    ${w.startsWith("--") ? w : `'${w}'`}`).join(" \\\n")}\n`;
  const LAYOUT = ["--deepspeed", "--output_dir", "--pretrain_mm_mlp_adapter"];

  it("scripts/v1_5/pretrain.sh and finetune.sh become a spec that rebuilds every flag", async () => {
    const { importLaunchScripts } = await import("../compiler/import/llava-script.js");
    const dir = tempDir("llavac-repo-import-");
    const inputs = (["pretrain", "finetune"] as const).map((p) => ({
      file: path.join(dir, `${p}.sh`),
      text: script(ARGS.reference[p].argv),
    }));
    const r = await importLaunchScripts(inputs, dir);
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.spec).toContain("freeze     = [/^image_model/, /^text_model/]");
    expect(r.spec).toContain("from       = pretrain(states: model)");
    // Rebuilt independently of the importer's own check: every flag of the scripts, as the parser reads it.
    const out = path.join(dir, "out");
    const built = await compile(path.join(dir, "imported.llava"), { cwd: dir, env: {}, outDir: out, llavaRepo: true, source: r.spec });
    expect(built.diags.errorCount).toBe(0);
    writeAtomically(out, filesToWrite(built.emitted, { llavaRepo: true }));
    for (const phase of ["pretrain", "finetune"] as const) {
      const ours = pairs(argvOf(out, phase));
      for (const [flag, value] of pairs(ARGS.reference[phase].argv)) {
        if (LAYOUT.includes(flag)) continue;
        expect(typed(flag, ours.get(flag) ?? "(absent)"), `${phase} ${flag}`).toEqual(typed(flag, value));
      }
      expect(ours.get("--deepspeed")).toBe(`<out>/${phase}/${path.basename(pairs(ARGS.reference[phase].argv).get("--deepspeed")!)}`);
    }
  });

  it("a flag no spec field holds, or a shell variable, is a problem and the import is not verified", async () => {
    const { importLaunchScripts } = await import("../compiler/import/llava-script.js");
    const dir = tempDir("llavac-repo-import-bad-");
    const argv = [...ARGS.reference.finetune.argv, "--lora_enable", "True"];
    const r = await importLaunchScripts([{ file: path.join(dir, "lora.sh"), text: script(argv).replace("'2e-5'", '"$LR"') }], dir);
    expect(r.verified).toBe(false);
    const messages = r.problems.map((p) => p.message).join("\n");
    expect(messages).toContain("--lora_enable: no spec field says this");
    expect(messages).toContain("--learning_rate $LR: a shell expansion");
    const none = await importLaunchScripts([{ file: path.join(dir, "x.sh"), text: "echo hello\n" }], dir);
    expect(none.spec).toBe("");
    expect(none.problems[0]!.message).toContain("not a LLaVA launch script");
  });
});
