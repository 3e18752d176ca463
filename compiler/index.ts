// llavac as a library: `import { check, build, compile } from "llavac"`. A thin layer over the same
// functions the command line uses (compile.ts, build.ts), so a program gets exactly what `llavac check`
// and `llavac build` report; nothing here prints or exits.
import path from "node:path";
import { filesToWrite, writeAtomically, type OutputFile } from "./build.js";
import { compile, type CompileOptions, type CompileResult } from "./compile.js";
import type { Derived, PartialDerived } from "./derive.js";
import { plainPainter, renderDiagnostic, toJson, type JsonDiagnostic, type Painter } from "./diagnostics.js";

export { compile, type CompileOptions, type CompileResult, type PhaseResult } from "./compile.js";
export type { OutputFile, SourceLocation } from "./build.js";
export type { Derived, PartialDerived, ParamCounts, ScheduleDerived } from "./derive.js";
export type { Diagnostic, JsonDiagnostic, Note, Painter, Severity } from "./diagnostics.js";
export type { Code } from "./codes.js";
export { VERSION } from "./version.js";
export { FormatError, formatSource } from "./format.js";

export interface CheckOptions extends CompileOptions {
  /** Also produce the Cerebras job scripts (`llavac build --target cerebras`). */
  target?: "cerebras";
}

export interface CheckedPhase {
  name: string;
  /** Absent when the phase has invalid values (their errors are in `diagnostics`). */
  derived?: Derived;
  /** Whatever could be derived despite invalid values. */
  partial: PartialDerived;
}

export interface CheckResult {
  /** No errors (warnings allowed): what exit status 0 means on the command line. */
  ok: boolean;
  errors: number;
  warnings: number;
  /** In source order, file by file, as `llavac check --format json` prints them. */
  diagnostics: JsonDiagnostic[];
  phases: CheckedPhase[];
  /** What `build` writes (relative paths and contents); empty when there are errors. */
  files: OutputFile[];
  /** The compiler's own result (module graph, IR, raw diagnostics with spans), for tools that need more. */
  compiled: CompileResult;
}

export interface BuildResult extends CheckResult {
  /** The files written, as paths joined to the output folder; empty when there are errors. */
  written: string[];
}

/** The root spec could not be read at all (missing file, a folder, no permission). */
export class SpecReadError extends Error {
  constructor(readonly file: string) {
    super(`cannot read ${file}`);
    this.name = "SpecReadError";
  }
}

/** Every diagnostic `build` would report and everything it would write, without writing. */
export async function check(spec: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const { target, ...compileOpts } = opts;
  // compile() emits and validates everything, as `llavac check` does; nothing more is computed here.
  const compiled = await compile(spec, compileOpts);
  if (!compiled.readable) throw new SpecReadError(spec);
  const files = compiled.diags.errorCount === 0 ? filesToWrite(compiled.emitted, { cerebras: target === "cerebras" }) : [];
  return {
    ok: compiled.diags.errorCount === 0,
    errors: compiled.diags.errorCount,
    warnings: compiled.diags.warningCount,
    diagnostics: compiled.diags.sorted().map((d) => toJson(d, compiled.graph)),
    phases: compiled.phases.map((p) => ({ name: p.unit.ir.$name, ...(p.derived ? { derived: p.derived } : {}), partial: p.partial })),
    files,
    compiled,
  };
}

/** `llavac build`: check, then write the outputs atomically into `outDir` when there are no errors. */
export async function build(spec: string, outDir: string, opts: Omit<CheckOptions, "outDir"> = {}): Promise<BuildResult> {
  const r = await check(spec, { ...opts, outDir });
  if (r.ok) writeAtomically(outDir, r.files);
  return { ...r, written: r.ok ? r.files.map((f) => path.join(outDir, f.path)) : [] };
}

/** The diagnostics as the command line prints them (file:line:col, the source line, a caret, notes, help). */
export function formatDiagnostics(r: CheckResult, paint: Painter = plainPainter): string {
  return r.compiled.diags
    .sorted()
    .map((d) => renderDiagnostic(d, r.compiled.graph, paint) + "\n")
    .join("\n");
}
