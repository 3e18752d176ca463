// What the checks and derivations share: the diagnostics, and how to point at an IR path.
import path from "node:path";
import type { Span } from "../grammar/ast.js";
import type { DiagnosticBag } from "./diagnostics.js";
import type { PhaseUnit } from "./ir.js";
import { userSpanOf } from "./lower.js";
import type { FileSystem, ModuleGraph } from "./modules.js";

export class CheckContext {
  constructor(
    readonly diags: DiagnosticBag,
    readonly graph: ModuleGraph,
    readonly fs: FileSystem,
    readonly cwd: string,
    readonly strict: boolean,
  ) {}

  isUser = (span: Span): boolean => {
    const m = this.graph.modules.get(span.file);
    // A command-line `--set` is the user's too: carets go there.
    return (m !== undefined && !m.isStd) || this.graph.isVirtual(span.file);
  };

  /** Where to put the caret for an IR path: in the user's spec, as close to the value as possible. */
  spanOf(unit: PhaseUnit, irPath: string): Span {
    return userSpanOf(unit.spans, irPath, this.isUser, unit.nameSpan);
  }

  /** The value's own span, which may be in the standard library (for notes). */
  rawSpan(unit: PhaseUnit, irPath: string): Span | undefined {
    return unit.spans.get(irPath)?.span;
  }

  /** A note pointing at a value's definition when it is not where the caret already is. */
  noteAt(unit: PhaseUnit, irPath: string, message: string): { message: string; span?: Span }[] {
    const raw = this.rawSpan(unit, irPath);
    const user = this.spanOf(unit, irPath);
    if (!raw || (raw.file === user.file && raw.start === user.start)) return [];
    return [{ message, span: raw }];
  }

  /** Relative paths in a spec are relative to the working directory, like the configs they become. */
  resolvePath(p: string): string {
    return path.resolve(this.cwd, p);
  }
}
