// Emission, run by compile() for `check` and `build` alike: each phase's configs, validated against the
// target's strict schema, with a manifest (derived values, parameter counts, and a source map from every
// YAML key to the spec location that produced it), and the cluster job scripts. `build` only writes them.
import path from "node:path";
import { z, type ZodType } from "zod";
import type { Span } from "../grammar/ast.js";
import type { CompileResult, PhaseResult } from "./compile.js";
import type { Derived } from "./derive.js";
import { cerebrasImageSize, emitParams, releaseProblems, type KeyOrigins } from "./emit/cerebras-params.js";
import { emitDataPreprocess, emitPreprocess } from "./emit/preprocess.js";
import { jobScripts } from "./emit/job-scripts.js";
import { llavaRepoFiles } from "./emit/llava-repo.js";
import { trainProgram } from "./emit/train-program.js";
import { annotateYaml } from "./provenance.js";
import { runConfig } from "./run-config.js";
import { renderYaml, toPlain, type YValue } from "./emit/yaml.js";
import type { PhaseUnit } from "./ir.js";
import { LlavaConfig, PhaseOnePreprocess, PhaseTwoPreprocess, SYSTEM_PROMPT_STYLES } from "./schemas/cerebras-2.2.1.js";
import { LlavaConfig as LlavaConfig230 } from "./schemas/cerebras-2.3.0.js";
import { DataPreprocess, TrainerConfig, TrainerConfig230 } from "./schemas/cerebras-2.10.js";
import { toTrainer } from "./emit/cerebras-trainer.js";
import { generatedBy, VERSION } from "./version.js";
import { writeFileAtomic } from "../runtime/util/atomic.js";

// Each schema parses a few documents per process: compiling zod's fast path (new Function) costs more
// than it saves, and `check` pays for it on every run.
z.config({ jitless: true });

export interface OutputFile {
  /** Relative to the output folder, with forward slashes. */
  path: string;
  content: string;
}

/** What compile() emitted: the files `build` writes, and the job scripts it adds with `--target cerebras`. */
export interface Emitted {
  files: OutputFile[];
  jobScripts: OutputFile[];
  /** `--target llava-repo`: the LLaVA repository's launch scripts and DeepSpeed configs (absent without a plan). */
  llavaRepo?: OutputFile[];
}

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  origin: "explicit" | "default" | "derived";
  derived?: string;
}

/**
 * A file whose text is made when first read. compile() emits and validates every document (all that can
 * find a mistake); rendering the text (YAML, train.ts, the manifest's source map) reports nothing, so
 * `check` skips it and `build` does it when writing.
 */
function lazyFile(path: string, render: () => string): OutputFile {
  let text: string | undefined;
  return {
    path,
    get content() {
      return (text ??= render());
    },
  };
}

function keyOf(yamlPath: string): string {
  return yamlPath;
}

/** Where a YAML key came from: the IR path's span, or its nearest enclosing one. */
function locate(unit: PhaseUnit, irPath: string): Span {
  let p = irPath;
  for (;;) {
    const s = unit.spans.get(p);
    if (s) return s.span;
    const dot = p.lastIndexOf(".");
    if (dot < 0) return unit.nameSpan;
    p = p.slice(0, dot);
  }
}

export class Builder {
  /** E0803s already reported (phases sharing a model report it once). */
  private readonly reported = new Set<string>();
  /** `outDir` is where the files will be written: generated programs hold paths relative to it. */
  constructor(
    private readonly result: CompileResult,
    private readonly outDir = "out",
    private readonly annotate = false,
  ) {}

  /** The YAML text, with each key's origin as a comment under `--annotate`. */
  private yaml(doc: YValue, header: string[], unit: PhaseUnit, origins: KeyOrigins): string {
    const text = renderYaml(doc, header);
    return this.annotate ? annotateYaml(text, this.sourceMap(unit, origins)) : text;
  }

  /** The spec as the user would name it on the command line (relative to the working directory). */
  private specPath(): string {
    return path.relative(this.result.ctx.cwd, this.result.file).split(path.sep).join("/") || path.basename(this.result.file);
  }

  /** Stable file names in manifests: relative to the spec's folder, or std/... */
  private displayFile(file: string): string {
    if (this.result.graph.isVirtual(file)) return file;
    const m = this.result.graph.modules.get(file);
    if (m?.isStd) return m.display;
    return path.relative(path.dirname(this.result.file), file).split(path.sep).join("/") || path.basename(file);
  }

  private sourceMap(unit: PhaseUnit, origins: KeyOrigins): Record<string, SourceLocation> {
    const out: Record<string, SourceLocation> = {};
    for (const [key, o] of [...origins].sort(([a], [b]) => a.localeCompare(b))) {
      const span = locate(unit, o.ir);
      const recorded = unit.spans.get(o.ir);
      const loc: SourceLocation = {
        file: this.displayFile(span.file),
        line: span.line,
        column: span.col,
        origin: o.derived ? "derived" : recorded?.origin === "default" ? "default" : "explicit",
      };
      if (o.derived) loc.derived = o.derived;
      out[keyOf(key)] = loc;
    }
    return out;
  }

  /** Validate an emitted document; a rejected key is reported at the spec location that produced it. */
  private validate(schema: ZodType, doc: YValue, unit: PhaseUnit, origins: KeyOrigins, fileName: string): boolean {
    const r = schema.safeParse(toPlain(doc));
    if (r.success) return true;
    for (const issue of r.error.issues) {
      const key = issue.path.map(String).join(".");
      let probe = key;
      while (probe && !origins.has(probe)) probe = probe.includes(".") ? probe.slice(0, probe.lastIndexOf(".")) : "";
      const span = probe ? this.result.ctx.spanOf(unit, origins.get(probe)!.ir) : unit.nameSpan;
      this.result.diags.error(
        "E0501",
        `${fileName} key \`${key || "(root)"}\` rejected by the Cerebras ${this.result.program?.target.release ?? "2.2.1"} schema: ${issue.message}`,
        span,
      );
    }
    return false;
  }

  /** A params layout the release cannot read: reported once, at `format`, instead of as a cascade of schema errors. */
  private formatProblem(): boolean {
    const program = this.result.program;
    if (!program) return false;
    const t = program.target;
    const problem =
      t.release === "2.2.1" && t.format === "trainer"
        ? "release 2.2.1 has no trainer format"
        : t.release === "2.10" && t.format === "flat"
          ? "release 2.10 reads only the trainer format"
          : undefined;
    if (!problem) return false;
    const at = program.targetSpans.get("format")?.span ?? this.result.phases[0]?.unit.nameSpan;
    if (at) this.result.diags.error("E0502", `params.yaml: ${problem}`, at, { help: "remove `format` to use the release's own layout" });
    return true;
  }

  /**
   * The Model Zoo's LLaVA checkpoint converter (every release llavac targets) converts a CLIP image_model
   * only (its CLIPViT converter: class_embedding, pre_layrnorm, CLIPVisionConfig). A spec with a `cerebras`
   * block and a tower without a CLS token (SigLIP) gets convert-in.sh / convert-out.sh that cannot convert
   * it: said once, at the first such phase's vision encoder.
   */
  private converterWarning(): void {
    const program = this.result.program;
    if (!program || program.targetSpans.size === 0 || [...program.targetSpans.values()].every((s) => s.origin === "default")) return;
    const p = this.result.phases.find((x) => x.derived && x.unit.ir.model.vision.prepend_cls_token === false);
    if (!p) return;
    const v = p.unit.ir.model.vision;
    const block = [...program.targetSpans.values()].find((s) => s.origin === "explicit")?.span;
    this.result.diags.warning(
      "W0840",
      { release: program.target.release, tower: v.$name ?? "the vision encoder" },
      this.result.ctx.spanOf(p.unit, "model.vision"),
      {
        notes: block ? [{ message: "the spec's cerebras target (its job scripts convert the weights)", span: block }] : [],
        help: "the params.yaml and preprocess.yaml are fine; start phase 1 on the cluster from a Cerebras checkpoint made another way (`llavac run --weights` reads the HF SigLIP weights directly here)",
      },
    );
  }

  /** A tower whose image size its patch size does not divide is written at the size the Model Zoo's ViT takes: said once. */
  private imageSizeWarning(): void {
    const program = this.result.program;
    for (const p of this.result.phases) {
      const d = p.derived;
      if (!program || !d) continue;
      const cut = cerebrasImageSize(d.imageSize, d.patchSize);
      if (cut[0] === d.imageSize[0] && cut[1] === d.imageSize[1]) continue;
      const v = p.unit.ir.model.vision;
      this.result.diags.warning(
        "W0841",
        {
          release: program.target.release,
          tower: v.$name ?? "the vision encoder",
          size: d.imageSize.join("×"),
          patch: d.patchSize.join("×"),
          cut: cut.join("×"),
        },
        this.result.ctx.spanOf(p.unit, "model.vision.image_size"),
        {
          notes: [
            {
              message: `${d.numPatches} patches either way; the images are resized to ${cut.join("×")} instead of ${d.imageSize.join("×")} with the last pixels unused`,
            },
          ],
          help: "llavac run trains at the spec's size; to train the same inputs on both, give the tower an image size the patch size divides",
        },
      );
      return;
    }
  }

  phaseOutputs(
    p: PhaseResult & { derived: Derived },
    formatProblem = false,
  ): { files: OutputFile[]; manifest: () => Record<string, unknown> } {
    const { unit, derived: d } = p;
    const ir = unit.ir;
    const target = this.result.program!.target;
    const header = [generatedBy(this.displayFile(this.result.file), `, phase ${ir.$name}`)];
    const files: OutputFile[] = [];

    const flat = emitParams(ir, d, target);
    // 2.2.1 and 2.3.0 read the flat format; 2.10 (and 2.3.0 on request) regroups the same values under `trainer:`.
    const trainer = target.release === "2.10" || target.format === "trainer";
    const params = trainer ? toTrainer(flat.doc, flat.origins, target.release === "2.10" ? "2.10" : "2.3.0") : flat;
    const schema =
      target.release === "2.10" ? TrainerConfig : trainer ? TrainerConfig230 : target.release === "2.3.0" ? LlavaConfig230 : LlavaConfig;
    // A field the release cannot express is one error naming both, not a schema error about the key it would need.
    const unexpressible = releaseProblems(ir.model.language, target.release);
    for (const r of unexpressible) {
      const span = this.result.ctx.spanOf(unit, r.irPath);
      const key = `${span.file}:${span.line}:${span.col}:${r.field}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.result.diags.error("E0803", { release: target.release, field: r.field, reason: r.reason }, span, {
        help: 'target release 2.10 (`cerebras cluster { release: "2.10" }`), or remove the field',
      });
    }
    // A layout the release cannot read is reported once, not as a cascade of schema errors.
    if (!formatProblem && unexpressible.length === 0) this.validate(schema, params.doc, unit, params.origins, "params.yaml");
    files.push(
      lazyFile(`${ir.$name}/params.yaml`, () =>
        this.yaml(params.doc, [...header, `Cerebras Model Zoo ${target.release} LLaVA training config.`], unit, params.origins),
      ),
    );

    // 2.10 dropped create_hdf5_dataset.py for the data_preprocessing pipeline and its config format.
    const pipeline = target.release === "2.10";
    // `preprocess = none`: the phase's HDF5 files are made elsewhere, so there is no preprocess.yaml.
    const pre =
      ir.preprocess === undefined ? undefined : pipeline ? emitDataPreprocess(ir, d, ir.preprocess) : emitPreprocess(ir, d, ir.preprocess);
    const style = ir.template.cerebras_style;
    if (
      pre &&
      !pipeline &&
      ir.template.layout === "chat" &&
      style !== undefined &&
      !(SYSTEM_PROMPT_STYLES as readonly string[]).includes(style)
    ) {
      pre.problems.push({
        code: "E0506",
        irPath: "template.cerebras_style",
        message: `release ${target.release} has no system_prompt_style "${style}"`,
        help: `use one of ${SYSTEM_PROMPT_STYLES.join(", ")}, or write the HDF5 files with \`llavac data hdf5\` and set \`preprocess = none\``,
      });
    }
    for (const prob of pre?.problems ?? [])
      this.result.diags.error(prob.code, `preprocess.yaml: ${prob.message}`, this.result.ctx.spanOf(unit, prob.irPath), {
        help: prob.help,
      });
    if (pre && pre.problems.length === 0) {
      this.validate(
        pipeline ? DataPreprocess : ir.template.layout === "chat" ? PhaseTwoPreprocess : PhaseOnePreprocess,
        pre.doc,
        unit,
        pre.origins,
        "preprocess.yaml",
      );
      const mode = ir.template.layout === "chat" ? "LlavaPhaseTwo" : "LlavaPhaseOne";
      const how = pipeline
        ? "Model Zoo 2.10 data preprocessing (data_preparation/data_preprocessing) config"
        : `HDF5 preprocessing: python create_hdf5_dataset.py ${mode} --params preprocess.yaml`;
      files.push(lazyFile(`${ir.$name}/preprocess.yaml`, () => this.yaml(pre.doc, [...header, how], unit, pre.origins)));
    }

    files.push(
      lazyFile(`${ir.$name}/train.ts`, () =>
        trainProgram(runConfig(this.result, p, this.outDir, flat.doc), ir.model, { header, specPath: this.specPath() }),
      ),
    );

    const s = d.schedule;
    const manifest = (): Record<string, unknown> => ({
      model: ir.model.$name ?? null,
      from: ir.from ? { phase: ir.from.phase, states: ir.from.states } : null,
      template: ir.template.$name ?? null,
      datasets: ir.data.map((x) => x.$name ?? x.format),
      derived: {
        num_patches: d.numPatches,
        image_start_idx: d.imageStartIdx ?? null,
        max_sequence_length: d.msl,
        text_budget: d.textBudget,
        rotary_dim: d.rotaryDim,
        samples: s.samples ?? null,
        steps_batch: s.stepsBatch,
        max_steps: s.maxSteps ?? null,
        warmup_steps: s.warmup ?? null,
        decay_steps: s.decay ?? null,
        projector: d.projector,
        tokenizer: d.tokenizer ?? null,
      },
      formulas: {
        num_patches: d.numPatchesFormula,
        text_budget: `${d.msl} − ${d.numPatches} − 1`,
        ...Object.fromEntries(Object.entries(s.formula).filter(([, v]) => v !== undefined)),
      },
      parameters: {
        total: d.counts.total,
        trainable: d.counts.trainable,
        frozen: d.counts.frozen,
        by_component: d.counts.byComponent,
        freeze_patterns: d.counts.patterns,
      },
      files: Object.fromEntries(files.map((f) => [path.posix.basename(f.path), f.path])),
      source_map: {
        "params.yaml": this.sourceMap(unit, params.origins),
        ...(pre && pre.problems.length === 0 ? { "preprocess.yaml": this.sourceMap(unit, pre.origins) } : {}),
      },
    });
    return { files, manifest };
  }

  /** Every file, job scripts apart; diagnostics go to the compile result. compile() calls this once. */
  emit(): Emitted {
    const files: OutputFile[] = [];
    const phases: Record<string, () => Record<string, unknown>> = {};
    const formatProblem = this.formatProblem();
    this.converterWarning();
    this.imageSizeWarning();
    for (const p of this.result.phases) {
      if (!p.derived) continue;
      const out = this.phaseOutputs(p as PhaseResult & { derived: Derived }, formatProblem);
      files.push(...out.files);
      phases[p.unit.ir.$name] = out.manifest;
    }
    const program = this.result.program;
    files.push(
      lazyFile(
        "manifest.json",
        () =>
          JSON.stringify(
            {
              llavac: VERSION,
              spec: path.basename(this.result.file),
              target: program ? { release: program.target.release, num_csx: program.target.num_csx } : null,
              // The command-line `--set`s this build applied, in order (absent when there were none).
              ...(this.result.overrides.length
                ? {
                    overrides: this.result.overrides.map((o) => ({
                      set: o.text,
                      path: o.path.map((p) => p.name).join("."),
                      value: o.valueText,
                    })),
                  }
                : {}),
              phases: Object.fromEntries(Object.entries(phases).map(([name, m]) => [name, m()])),
            },
            null,
            2,
          ) + "\n",
      ),
    );
    const built = this.result.phases.filter((p) => p.derived).map((p) => p.unit.ir);
    const plan = this.result.llavaRepo;
    return {
      files,
      jobScripts: program ? jobScripts(built, program.target, this.specPath()).files : [],
      ...(plan ? { llavaRepo: llavaRepoFiles(plan, this.specPath()) } : {}),
    };
  }
}

/** The files `build` writes: everything emitted, plus the job scripts with `--target cerebras`; with
 * `--target llava-repo`, the LLaVA repository's scripts alone (the Cerebras configs do not run there). */
export function filesToWrite(e: Emitted | undefined, opts: { cerebras?: boolean; llavaRepo?: boolean } = {}): OutputFile[] {
  if (!e) return [];
  if (opts.llavaRepo) return e.llavaRepo ?? [];
  return [...e.files, ...(opts.cerebras ? e.jobScripts : [])];
}

/** Write each file to a temporary name in its folder, then rename it into place. */
export function writeAtomically(outDir: string, files: OutputFile[]): void {
  const root = path.resolve(outDir);
  for (const f of files) {
    const target = path.resolve(root, f.path);
    if (!target.startsWith(root + path.sep)) throw new Error(`refusing to write outside ${outDir}: ${f.path}`);
    writeFileAtomic(target, f.content, { mode: f.path.endsWith(".sh") ? 0o755 : 0o644 });
  }
}
