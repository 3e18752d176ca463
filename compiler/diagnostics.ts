// Diagnostics: what the compiler says, where, and how it prints it (rustc/KCL layout, or JSON).
import type { Span } from "../grammar/ast.js";
import { CODES, defaultLevel, fill, type Code, type ErrorCode, type Holes, type LevelPolicy, type WarningCode } from "./codes.js";

export type Severity = "error" | "warning";

export interface Note {
  message: string;
  span?: Span;
}

export interface Diagnostic {
  severity: Severity;
  code: Code;
  message: string;
  span: Span;
  /** Short text under the caret. */
  label?: string;
  notes: Note[];
  help: string[];
}

export interface DiagnosticOptions {
  label?: string;
  notes?: Note[];
  help?: string | string[];
}

/** A message: the text, or the values for the holes of the code's template (compiler/codes.ts). */
export type Message<C extends Code> = string | Holes<C>;

export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  /** `levels`: the `--deny`/`--allow` overrides of the catalog's default levels. */
  constructor(private readonly levels: LevelPolicy = new Map()) {}

  /** The catalog decides the level (after the overrides); an allowed warning is dropped. */
  report<C extends Code>(code: C, message: Message<C>, span: Span, opts: DiagnosticOptions = {}): Diagnostic | undefined {
    const level = this.levels.get(code) ?? defaultLevel(code);
    if (level === "allow") return undefined;
    const text = typeof message === "string" ? message : fill(code, message);
    const key = `${code}|${span.file}|${span.start}|${text}`;
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    const d: Diagnostic = {
      severity: level,
      code,
      message: text,
      span,
      notes: opts.notes ?? [],
      help: opts.help === undefined ? [] : Array.isArray(opts.help) ? opts.help : [opts.help],
    };
    if (opts.label !== undefined) d.label = opts.label;
    this.items.push(d);
    return d;
  }

  // `error` and `warning` say at the raise site what the code's default level is (the type checks that it is
  // the catalog's); `--deny`/`--allow` may change it.
  error<C extends ErrorCode>(code: C, message: Message<C>, span: Span, opts?: DiagnosticOptions): Diagnostic | undefined {
    return this.report(code, message, span, opts);
  }

  warning<C extends WarningCode>(code: C, message: Message<C>, span: Span, opts?: DiagnosticOptions): Diagnostic | undefined {
    return this.report(code, message, span, opts);
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === "error").length;
  }

  get warningCount(): number {
    return this.items.filter((d) => d.severity === "warning").length;
  }

  /** Errors first is not what people want: source order, file by file, reads like the file. */
  sorted(): Diagnostic[] {
    return [...this.items].sort(
      (a, b) => a.span.file.localeCompare(b.span.file) || a.span.start - b.span.start || a.code.localeCompare(b.code),
    );
  }
}

// ---------------- rendering ----------------

export interface SourceLookup {
  text(file: string): string | undefined;
  /** The name to print for a file: relative to the working directory, or `std/...` for the standard library. */
  display(file: string): string;
}

export interface Painter {
  red(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  cyan(s: string): string;
  green(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

export const plainPainter: Painter = {
  red: (s) => s,
  yellow: (s) => s,
  blue: (s) => s,
  cyan: (s) => s,
  green: (s) => s,
  bold: (s) => s,
  dim: (s) => s,
};

function lineText(text: string, line: number): string {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) return "";
    start = nl + 1;
  }
  const end = text.indexOf("\n", start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, "");
}

const MAX_SHOWN = 160;

/** Columns count code points, and tabs print as one space so the caret stays under its character. */
function excerpt(
  sources: SourceLookup,
  span: Span,
  paint: Painter,
  underline: (s: string) => string,
  width: number,
  label?: string,
): string[] {
  const text = sources.text(span.file);
  if (text === undefined) return [];
  const gutter = String(span.line).padStart(width);
  const pad = " ".repeat(width);
  let chars = Array.from(lineText(text, span.line).replace(/\t/g, " "));
  let startCol = Math.min(span.col - 1, chars.length);
  let caretCount = span.endLine === span.line ? Math.max(1, span.endCol - span.col) : Math.max(1, chars.length - startCol);
  // A very long line (a generated or hostile file) is shown as a window around the caret.
  if (chars.length > MAX_SHOWN) {
    const from = Math.max(0, startCol - 40);
    const shown = chars.slice(from, from + MAX_SHOWN);
    chars = [...(from > 0 ? ["…"] : []), ...shown, ...(from + MAX_SHOWN < chars.length ? ["…"] : [])];
    startCol = startCol - from + (from > 0 ? 1 : 0);
    caretCount = Math.max(1, Math.min(caretCount, shown.length - (startCol - (from > 0 ? 1 : 0))));
  }
  const src = chars.join("");
  const carets = " ".repeat(startCol) + underline("^".repeat(caretCount)) + (label ? " " + underline(label) : "");
  return [`${pad} ${paint.blue("|")}`, `${paint.blue(gutter)} ${paint.blue("|")} ${src}`, `${pad} ${paint.blue("|")} ${carets}`];
}

export function location(sources: SourceLookup, span: Span): string {
  return `${sources.display(span.file)}:${span.line}:${span.col}`;
}

export function renderDiagnostic(d: Diagnostic, sources: SourceLookup, paint: Painter = plainPainter): string {
  const color = d.severity === "error" ? paint.red : paint.yellow;
  const out: string[] = [];
  out.push(paint.bold(color(`${d.severity}[${d.code}]`) + ": " + d.message));
  const gutterWidth = Math.max(String(d.span.line).length, ...d.notes.map((n) => (n.span ? String(n.span.line).length : 1)));
  out.push(`${" ".repeat(gutterWidth)}${paint.blue("-->")} ${location(sources, d.span)}`);
  out.push(...excerpt(sources, d.span, paint, color, gutterWidth, d.label));
  for (const n of d.notes) {
    if (n.span) {
      out.push(`${" ".repeat(gutterWidth)} ${paint.blue("=")} ${paint.bold("note")}: ${n.message}`);
      out.push(`${" ".repeat(gutterWidth)}${paint.blue("-->")} ${location(sources, n.span)}`);
      out.push(...excerpt(sources, n.span, paint, paint.blue, gutterWidth));
    } else {
      out.push(`${" ".repeat(gutterWidth)} ${paint.blue("=")} ${paint.bold("note")}: ${n.message}`);
    }
  }
  for (const h of d.help) out.push(`${" ".repeat(gutterWidth)} ${paint.blue("=")} ${paint.bold(paint.cyan("help"))}: ${h}`);
  return out.join("\n");
}

export interface JsonDiagnostic {
  severity: Severity;
  code: Code;
  title: string;
  message: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  label?: string;
  notes: { message: string; file?: string; line?: number; column?: number }[];
  help: string[];
}

export function toJson(d: Diagnostic, sources: SourceLookup): JsonDiagnostic {
  const j: JsonDiagnostic = {
    severity: d.severity,
    code: d.code,
    title: CODES[d.code].title,
    message: d.message,
    file: sources.display(d.span.file),
    line: d.span.line,
    column: d.span.col,
    endLine: d.span.endLine,
    endColumn: d.span.endCol,
    notes: d.notes.map((n) =>
      n.span ? { message: n.message, file: sources.display(n.span.file), line: n.span.line, column: n.span.col } : { message: n.message },
    ),
    help: d.help,
  };
  if (d.label !== undefined) j.label = d.label;
  return j;
}

// ---------------- "did you mean" ----------------

/** Damerau–Levenshtein (optimal string alignment) distance. */
export function editDistance(a: string, b: string): number {
  const m = a.length,
    n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/** The closest candidate, if it is close enough to be a likely typo. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    if (c === name) continue;
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    // Ties go to the candidate closest in length (a typo more often replaces than drops a letter).
    const closer = best !== undefined && Math.abs(c.length - name.length) < Math.abs(best.length - name.length);
    const same = best !== undefined && Math.abs(c.length - name.length) === Math.abs(best.length - name.length);
    if (d < bestD || (d === bestD && (closer || (same && c < best!)))) {
      best = c;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(name.length, best.length) / 3));
  return bestD <= limit ? best : undefined;
}
