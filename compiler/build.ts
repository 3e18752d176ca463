// `llavac build`: emit each phase's configs, validate them against the target's strict schema, and
// write them with a manifest (derived values, parameter counts, and a source map from every YAML key to
// the spec location that produced it).
import path from "node:path";
import type { ZodType } from "zod";
import type { Span } from "../grammar/ast.js";
import type { CompileResult, PhaseResult } from "./compile.js";
import type { Derived } from "./derive.js";
import { emitParams, type KeyOrigins } from "./emit/cerebras-params.js";
import { emitDataPreprocess, emitPreprocess } from "./emit/preprocess.js";
import { jobScripts } from "./emit/job-scripts.js";
import { trainProgram } from "./emit/train-program.js";
import { runConfig } from "./run-config.js";
import { renderYaml, toPlain, type YValue } from "./emit/yaml.js";
import type { PhaseUnit } from "./ir.js";
import { LlavaConfig, PhaseOnePreprocess, PhaseTwoPreprocess } from "./schemas/cerebras-2.2.1.js";
import { LlavaConfig as LlavaConfig230 } from "./schemas/cerebras-2.3.0.js";
import { DataPreprocess, TrainerConfig, TrainerConfig230 } from "./schemas/cerebras-2.10.js";
import { toTrainer } from "./emit/cerebras-trainer.js";
import { generatedBy, VERSION } from "./version.js";
import { writeFileAtomic } from "../runtime/util/atomic.js";

export interface OutputFile {
  /** Relative to the output folder, with forward slashes. */
  path: string;
  content: string;
}

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  origin: "explicit" | "default" | "derived";
  derived?: string;
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
  /** `outDir` is where the files will be written: generated programs hold paths relative to it. */
  constructor(private readonly result: CompileResult, private readonly outDir = "out") {}

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
      const loc: SourceLocation = { file: this.displayFile(span.file), line: span.line, column: span.col, origin: o.derived ? "derived" : recorded?.origin === "default" ? "default" : "explicit" };
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
      this.result.diags.error("E0501", `${fileName} key \`${key || "(root)"}\` rejected by the Cerebras ${this.result.program?.target.release ?? "2.2.1"} schema: ${issue.message}`, span);
    }
    return false;
  }

  phaseOutputs(p: PhaseResult & { derived: Derived }): { files: OutputFile[]; manifest: Record<string, unknown> } {
    const { unit, derived: d } = p;
    const ir = unit.ir;
    const target = this.result.program!.target;
    const header = [generatedBy(this.displayFile(this.result.file), `, phase ${ir.$name}`)];
    const files: OutputFile[] = [];

    const flat = emitParams(ir, d, target);
    // 2.2.1 and 2.3.0 read the flat format; 2.10 (and 2.3.0 on request) regroups the same values under `trainer:`.
    const trainer = target.release === "2.10" || target.format === "trainer";
    const formatProblem = target.release === "2.2.1" && target.format === "trainer" ? "release 2.2.1 has no trainer format" : target.release === "2.10" && target.format === "flat" ? "release 2.10 reads only the trainer format" : undefined;
    if (formatProblem) this.result.diags.error("E0501", formatProblem, this.result.program!.targetSpans.get("format")?.span ?? unit.nameSpan, { help: "remove `format` to use the release's own layout" });
    const params = trainer ? toTrainer(flat.doc, flat.origins, target.release === "2.10" ? "2.10" : "2.3.0") : flat;
    const schema = target.release === "2.10" ? TrainerConfig : trainer ? TrainerConfig230 : target.release === "2.3.0" ? LlavaConfig230 : LlavaConfig;
    // A layout the release cannot read is reported once, not as a cascade of schema errors.
    if (!formatProblem) this.validate(schema, params.doc, unit, params.origins, "params.yaml");
    files.push({ path: `${ir.$name}/params.yaml`, content: renderYaml(params.doc, [...header, `Cerebras Model Zoo ${target.release} LLaVA training config.`]) });

    // 2.10 dropped create_hdf5_dataset.py for the data_preprocessing pipeline and its config format.
    const pipeline = target.release === "2.10";
    const pre = pipeline ? emitDataPreprocess(ir, d) : emitPreprocess(ir, d);
    for (const prob of pre.problems) this.result.diags.error(prob.code ?? "E0501", `preprocess.yaml: ${prob.message}`, this.result.ctx.spanOf(unit, prob.irPath), { help: prob.help });
    if (pre.problems.length === 0) {
      this.validate(pipeline ? DataPreprocess : ir.template.layout === "chat" ? PhaseTwoPreprocess : PhaseOnePreprocess, pre.doc, unit, pre.origins, "preprocess.yaml");
      const mode = ir.template.layout === "chat" ? "LlavaPhaseTwo" : "LlavaPhaseOne";
      const how = pipeline ? "Model Zoo 2.10 data preprocessing (data_preparation/data_preprocessing) config" : `HDF5 preprocessing: python create_hdf5_dataset.py ${mode} --params preprocess.yaml`;
      files.push({ path: `${ir.$name}/preprocess.yaml`, content: renderYaml(pre.doc, [...header, how]) });
    }

    const run = runConfig(this.result, p, this.outDir, flat.doc);
    files.push({ path: `${ir.$name}/train.ts`, content: trainProgram(run, ir.model, { header, specPath: this.specPath() }) });

    const s = d.schedule;
    const manifest: Record<string, unknown> = {
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
        ...(pre.problems.length === 0 ? { "preprocess.yaml": this.sourceMap(unit, pre.origins) } : {}),
      },
    };
    return { files, manifest };
  }

  outputs(opts: { cerebras?: boolean } = {}): OutputFile[] {
    const files: OutputFile[] = [];
    const phases: Record<string, unknown> = {};
    for (const p of this.result.phases) {
      if (!p.derived) continue;
      const out = this.phaseOutputs(p as PhaseResult & { derived: Derived });
      files.push(...out.files);
      phases[p.unit.ir.$name] = out.manifest;
    }
    const program = this.result.program;
    const manifest = {
      llavac: VERSION,
      spec: path.basename(this.result.file),
      target: program ? { release: program.target.release, num_csx: program.target.num_csx } : null,
      // The command-line `--set`s this build applied, in order (absent when there were none).
      ...(this.result.overrides.length ? { overrides: this.result.overrides.map((o) => ({ set: o.text, path: o.path.map((p) => p.name).join("."), value: o.valueText })) } : {}),
      phases,
    };
    files.push({ path: "manifest.json", content: JSON.stringify(manifest, null, 2) + "\n" });
    if (opts.cerebras && program) {
      const built = this.result.phases.filter((p) => p.derived).map((p) => p.unit.ir);
      files.push(...jobScripts(built, program.target, this.specPath()).files);
    }
    return files;
  }
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
