// The compiler pipeline: modules → names → typed values → IR → derived values and checks → emission.
// `check` and `build` both run all of it (build only writes what emission produced), so a spec that
// passes `check` builds.
import path from "node:path";
import { Checker } from "./checker.js";
import type { UseSink } from "./evaluation.js";
import { chainOrder, checkChains } from "./checks/chain.js";
import { checkDataFolders } from "./checks/data.js";
import { checkEval } from "./checks/eval.js";
import { checkGeometry } from "./checks/geometry.js";
import { checkBackendDefaults, checkBatch, checkFreeze, checkLoss, checkSchedule } from "./checks/training.js";
import { CheckContext } from "./context.js";
import { derivePhase, isComplete, type Derived, type PartialDerived } from "./derive.js";
import { levelPolicy } from "./codes.js";
import { DiagnosticBag } from "./diagnostics.js";
import { sound, type PhaseUnit, type ProgramIR } from "./ir.js";
import { checkWeights } from "./checks/weights.js";
import { Lowerer } from "./lower.js";
import { ModuleGraph, nodeFs, type FileSystem } from "./modules.js";
import { parseOverrides, type Override } from "./overrides.js";
import type { Emitted } from "./build.js";

export interface CompileOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Missing data folders are errors instead of warnings (`--deny` of the catalog's data-presence warnings). */
  strict?: boolean;
  /** Warnings raised as errors, and warnings silenced (`--deny`, `--allow`); a bad code throws LevelUsageError. */
  deny?: readonly string[];
  allow?: readonly string[];
  fs?: FileSystem;
  /** Compile this text instead of reading the root file. */
  source?: string;
  /** A HuggingFace weights folder (seed step 3) to check against the spec. */
  weights?: string;
  /** Command-line overrides, `path=value` each (`--set finetune.optimizer.lr=2e-5`). */
  overrides?: readonly string[];
  /** The folder `build` writes to (generated programs hold paths relative to it); default `out`. */
  outDir?: string;
  /** `build --annotate`: each emitted YAML key's origin as a comment on its line. */
  annotate?: boolean;
  /** false: stop after the checks, before emission and the target's schemas (derived values only). */
  emit?: boolean;
  /** `check --data`: read each phase's jsonl as the HDF5 writer would and report what it would skip or cut. */
  data?: import("./checks/data-records.js").DataCheckOptions;
  /** `--target llava-repo`: plan the LLaVA repository's launch (with std/core's `gpus` defaults when the spec has none). */
  llavaRepo?: boolean;
  /** Told each name use the checker resolves (the language server's definitions and references). */
  onUse?: UseSink;
}

export interface PhaseResult {
  unit: PhaseUnit;
  /** Absent when the phase has invalid values (their errors are reported). */
  derived?: Derived;
  /** Whatever could be derived despite invalid values. */
  partial: PartialDerived;
}

export interface CompileResult {
  file: string;
  graph: ModuleGraph;
  diags: DiagnosticBag;
  ctx: CheckContext;
  /** False when the root file could not be read at all. */
  readable: boolean;
  /** Why the root file could not be read, when it exists (a folder, a FIFO, a device, too large). */
  unreadable?: string;
  program?: ProgramIR;
  phases: PhaseResult[];
  /** The `--set`s that parsed (the manifest records them). */
  overrides: Override[];
  /** What `build` writes (absent when emission was skipped). */
  emitted?: Emitted;
  /** The checker itself (absent when the root could not be read): symbols, fields and defaults for tools. */
  checker?: Checker;
  /** Per phase, what `check --data` found (absent without it). */
  data?: import("./checks/data-records.js").PhaseDataReport[];
  /** The LLaVA repository's command lines (a `gpus` block, or `llavaRepo`). */
  llavaRepo?: import("./checks/llava-repo.js").RepoPlan;
}

export async function compile(file: string, opts: CompileOptions = {}): Promise<CompileResult> {
  const diags = new DiagnosticBag(levelPolicy(opts));
  const fs = opts.fs ?? nodeFs;
  const cwd = opts.cwd ?? process.cwd();
  const graph = new ModuleGraph(diags, fs, cwd);
  if (opts.source !== undefined) graph.setOverlay(file, opts.source);
  const ctx = new CheckContext(diags, graph, fs, cwd, opts.strict ?? false);
  const root = graph.load(file);
  if (!root) {
    const why = graph.unreadable.get(path.resolve(file));
    return { file, graph, diags, ctx, readable: false, ...(why ? { unreadable: why } : {}), phases: [], overrides: [] };
  }

  const overrides = parseOverrides(opts.overrides ?? [], graph, diags);
  const checker = new Checker(graph, diags, { env: opts.env ?? process.env, overrides, ...(opts.onUse ? { onUse: opts.onUse } : {}) });
  checker.bind();
  checker.attachOverrides(root);
  const lowerer = new Lowerer(checker, diags);
  const program = lowerer.program(root);

  const phases: PhaseResult[] = [];
  for (const unit of program.phases) {
    const derived = await derivePhase(unit, ctx);
    checkGeometry(unit, derived, ctx);
    checkFreeze(unit, derived, ctx);
    checkBatch(unit, program.target, program.targetSpans, ctx);
    checkLoss(unit, ctx);
    checkSchedule(unit, derived, ctx);
    checkEval(unit, derived, ctx);
    checkBackendDefaults(unit, ctx);
    checkDataFolders(unit, ctx, derived);
    const complete = unit.holes.length === 0 && isComplete(derived);
    phases.push(complete ? { unit, derived, partial: derived } : { unit, partial: derived });
  }
  checkChains(program.phases, ctx);
  if (opts.weights !== undefined)
    checkWeights(
      opts.weights,
      phases.filter((p) => sound(p.unit, "model")).map((p) => p.unit),
      ctx,
    );
  const result: CompileResult = { file: root.path, graph, diags, ctx, readable: true, program, phases, overrides, checker };
  // The GPU target is checked whenever the spec declares one, so a spec that checks clean builds for it.
  if (program.gpus || opts.llavaRepo) {
    const { planLlavaRepo } = await import("./checks/llava-repo.js");
    const gpus = program.gpus ?? lowerer.defaultGpus();
    // Only complete phases: the others have their errors already, and their values may be missing.
    const units = chainOrder(phases, (p) => p.unit.ir).flatMap((p) => (p.derived ? [{ unit: p.unit, derived: p.partial }] : []));
    result.llavaRepo = planLlavaRepo(units, gpus, program.gpusSpans, ctx, root.ast.span);
  }
  // Reading the data is loaded only when asked for: plain `check` never pays for it.
  if (opts.data) result.data = await (await import("./checks/data-records.js")).checkPhaseData(result, opts.data);
  // Emission validates what the checks could not see; after an error it would only repeat it (a schema's
  // own refinement of the same rule), and `build` writes nothing then anyway.
  if (opts.emit !== false && diags.errorCount === 0) {
    // Emission pulls in zod and js-yaml: loaded on first use, after the front end's own work.
    const { Builder } = await import("./build.js");
    result.emitted = new Builder(result, opts.outDir ?? "out", opts.annotate ?? false).emit();
  }
  return result;
}
