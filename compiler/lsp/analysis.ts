// What the language server knows about one open document: the compiler's result for it (the same
// pipeline as `llavac check`), and every name use the checker resolved, so hover, definition,
// references and rename all read one index instead of resolving names a second way.
import { statSync } from "node:fs";
import path from "node:path";
import type { Ident, Span } from "../../grammar/ast.js";
import { compile, type CompileResult } from "../compile.js";
import { declSpan } from "../binding.js";
import type { UseTarget } from "../evaluation.js";
import type { SchemaSym, Sym } from "../types.js";
import { keepUserParses, nodeFs, type FileSystem, type SourceModule } from "../modules.js";

export interface Use {
  span: Span;
  target: UseTarget;
}

export interface Analysis {
  file: string;
  version: number;
  result: CompileResult;
  /** Every resolved name use, in every module the compile reached (user files and the standard library). */
  uses: Use[];
  /** The declared names (declarations, fields, enum members), with what they declare. */
  decls: Use[];
  /** Record literals and the schema each instantiates (innermost last is not guaranteed: search by span). */
  records: { span: Span; schema: SchemaSym }[];
}

/** The declaration a target stands for: where "go to definition" goes, and what references share. */
export function targetSpan(t: UseTarget): Span | undefined {
  switch (t.k) {
    case "sym":
      return declSpan(t.sym);
    case "field":
      return t.info.decl.name.span;
    case "member":
      return t.sym.decl.members.find((m) => m.name === t.member)?.span;
    case "record":
      return undefined;
  }
}

export function targetKey(t: UseTarget): string | undefined {
  const s = targetSpan(t);
  return s ? `${s.file}\0${s.start}` : undefined;
}

export function contains(span: Span, file: string, offset: number): boolean {
  return span.file === file && span.start <= offset && offset <= span.end;
}

/** Disk reads through a cache checked by modification time, with open documents in front of the disk. */
class EditorFs implements FileSystem {
  private readonly disk = new Map<string, { mtime: number; text: string | undefined }>();
  constructor(private readonly open: (file: string) => string | undefined) {}

  read(file: string): string | undefined {
    const text = this.open(file);
    if (text !== undefined) return text;
    let mtime: number;
    try {
      mtime = statSync(file).mtimeMs;
    } catch {
      return undefined;
    }
    const hit = this.disk.get(file);
    if (hit && hit.mtime === mtime) return hit.text;
    const read = nodeFs.read(file);
    this.disk.set(file, { mtime, text: read });
    return read;
  }
  exists(file: string): boolean {
    return this.open(file) !== undefined || nodeFs.exists(file);
  }
  whyUnreadable(file: string): string | undefined {
    return this.open(file) !== undefined ? undefined : nodeFs.whyUnreadable?.(file);
  }
}

export class Analyzer {
  private readonly fs: EditorFs;

  constructor(
    private readonly openText: (file: string) => string | undefined,
    private readonly cwd: string,
  ) {
    keepUserParses();
    this.fs = new EditorFs(openText);
  }

  /** Compile an open document as the root spec, as `llavac check` would (without writing anything). */
  async analyze(file: string, version: number): Promise<Analysis> {
    const seen = new Map<string, Use>();
    const records: Analysis["records"] = [];
    const result = await compile(file, {
      cwd: this.cwd,
      fs: this.fs,
      source: this.openText(file) ?? "",
      // Emission (the target's schemas) runs afterwards, in emit(): the checks' diagnostics go out first.
      emit: false,
      onUse: (span, target) => {
        if (target.k === "record") records.push({ span, schema: target.sym });
        else seen.set(`${span.file}\0${span.start}`, { span, target });
      },
    });
    const decls: Use[] = [];
    const checker = result.checker;
    if (checker) {
      for (const m of result.graph.modules.values()) {
        collectDecls(m, checker.localsOf(m), decls);
        for (const imp of m.imports) {
          if (!imp.target) continue;
          const exported = checker.localsOf(imp.target);
          for (const { name, alias } of imp.decl.names) {
            const sym = exported.get(name.name);
            if (!sym) continue;
            seen.set(`${name.span.file}\0${name.span.start}`, { span: name.span, target: { k: "sym", sym } });
            if (alias) decls.push({ span: alias.span, target: { k: "sym", sym } });
          }
        }
      }
    }
    return { file, version, result, uses: [...seen.values()], decls, records };
  }
}

function collectDecls(m: SourceModule, locals: Map<string, Sym>, out: Use[]): void {
  for (const d of m.ast.decls) {
    const sym = locals.get(d.name.name);
    if (!sym || targetSpan({ k: "sym", sym })?.start !== d.name.span.start) continue;
    out.push({ span: d.name.span, target: { k: "sym", sym } });
    if (d.kind === "enum" && sym.k === "enum")
      for (const member of d.members) out.push({ span: member.span, target: { k: "member", sym, member: member.name } });
  }
}

/** What `check` does after the checks: emit every document and validate it against the release's schemas,
 *  which reports what the checks could not see. Only without errors, as compile() does. */
export async function emitChecked(a: Analysis): Promise<void> {
  if (a.result.diags.errorCount > 0 || a.result.emitted) return;
  const { Builder } = await import("../build.js");
  a.result.emitted = new Builder(a.result, "out").emit();
}

/** The name (a use or a declaration) under an offset in a file. */
export function nameAt(a: Analysis, file: string, offset: number): Use | undefined {
  const hit = (list: Use[]) => list.find((u) => contains(u.span, file, offset));
  const direct = hit(a.uses) ?? hit(a.decls);
  if (direct) return direct;
  // A schema field's own declaration: the field's info comes from the checker's table of the schema.
  const checker = a.result.checker;
  const m = a.result.graph.modules.get(file);
  if (!checker || !m) return undefined;
  for (const sym of checker.localsOf(m).values()) {
    if (sym.k !== "schema") continue;
    for (const info of checker.fieldsOf(sym).values())
      if (contains(info.decl.name.span, file, offset)) return { span: info.decl.name.span, target: { k: "field", info } };
  }
  return undefined;
}

/** The word at an offset, for messages about names nothing resolved. */
export function wordAt(text: string, offset: number): Ident | undefined {
  let s = offset,
    e = offset;
  while (s > 0 && /[A-Za-z0-9_]/.test(text[s - 1]!)) s--;
  while (e < text.length && /[A-Za-z0-9_]/.test(text[e]!)) e++;
  if (s === e) return undefined;
  return { name: text.slice(s, e), span: { file: "", start: s, end: e, line: 0, col: 0, endLine: 0, endCol: 0 } };
}

export function isStdFile(a: Analysis, file: string): boolean {
  return a.result.graph.modules.get(file)?.isStd ?? file.includes(`${path.sep}stdlib${path.sep}`);
}
