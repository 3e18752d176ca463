// Completion: the fields of the schema under the cursor, the members of the enum a field expects, the
// names the module sees, and standard-library names it does not see yet (accepting one adds the import).
import { CompletionItemKind, type CompletionItem, type TextEdit } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { PRELUDE, stdlibExports, type SourceModule } from "../modules.js";
import { enumsIn, schemasIn, typeToString, type SchemaSym, type Sym } from "../types.js";
import type { Checker } from "../checker.js";
import type { Analysis } from "./analysis.js";
import { showValue } from "./hover.js";

const KEYWORDS = ["import", "from", "as", "schema", "enum", "let", "type", "true", "false", "none", "per"];

/** Where an unmatched `{` before the offset opens, and what is written before it on its line. */
function openers(text: string, offset: number): { at: number; head: string }[] {
  const out: { at: number; head: string }[] = [];
  let depth = 0;
  for (let i = offset - 1; i >= 0; i--) {
    const c = text[i];
    if (c === "}") depth++;
    else if (c === "{") {
      if (depth > 0) depth--;
      else out.push({ at: i, head: text.slice(text.lastIndexOf("\n", i - 1) + 1, i) });
    } else if (c === '"') {
      // Skip a string backwards so braces inside it do not count.
      const j = text.lastIndexOf('"', i - 1);
      if (j >= 0 && text.lastIndexOf("\n", i - 1) < j) i = j;
    }
  }
  return out;
}

/** Where the record opened at `at` closes (the end of the text when it does not). */
function closing(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  return text.length;
}

/** The schema a record opened by `head {` instantiates, read from the text (works while the file does not parse). */
function schemaOfHead(checker: Checker, m: SourceModule, chain: { head: string }[], i: number): SchemaSym | undefined {
  const head = chain[i]?.head;
  if (head === undefined) return undefined;
  const decl = /^\s*([A-Za-z_]\w*)\s+[A-Za-z_]\w*\s*$/.exec(head);
  const base = /([A-Za-z_]\w*)\s*$/.exec(head);
  const field = /([A-Za-z_]\w*)\s*[:=]\s*$/.exec(head);
  const named = decl?.[1] ?? (field ? undefined : base?.[1]);
  if (named) {
    const sym = lookup(checker, m, named);
    if (sym?.k === "schema") return sym;
    if (sym?.k === "value" && sym.value?.k === "record") return sym.value.schema;
    return undefined;
  }
  if (field) {
    const parent = schemaOfHead(checker, m, chain, i + 1);
    const info = parent ? checker.fieldsOf(parent).get(field[1]!) : undefined;
    return info ? schemasIn(info.type)[0] : undefined;
  }
  return undefined;
}

function lookup(checker: Checker, m: SourceModule, name: string): Sym | undefined {
  return checker.lookup(name, m);
}

function visible(a: Analysis, m: SourceModule): Map<string, Sym> {
  const checker = a.result.checker!;
  const out = new Map<string, Sym>();
  const core = [...a.result.graph.modules.values()].find((x) => x.display === PRELUDE + ".llava");
  if (core && !m.isStd) for (const [k, v] of checker.scopeOf(core)) out.set(k, v);
  for (const [k, v] of checker.scopeOf(m)) out.set(k, v);
  return out;
}

function symKind(s: Sym): CompletionItemKind {
  switch (s.k) {
    case "schema":
      return CompletionItemKind.Struct;
    case "enum":
      return CompletionItemKind.Enum;
    case "alias":
      return CompletionItemKind.Interface;
    case "namespace":
      return CompletionItemKind.Module;
    case "builtin":
      return CompletionItemKind.Function;
    case "value":
      return CompletionItemKind.Variable;
  }
}

/** The edit that imports `name` from a standard module: into an existing import of that module, or a new line. */
export function importEdit(doc: TextDocument, m: SourceModule | undefined, name: string, mod: string): TextEdit {
  const existing = m?.ast.imports.find((i) => i.path === mod && i.names.length > 0);
  if (existing) {
    const last = existing.names[existing.names.length - 1]!;
    const end = (last.alias ?? last.name).span.end;
    return { range: { start: doc.positionAt(end), end: doc.positionAt(end) }, newText: `, ${name}` };
  }
  const lastImport = m?.ast.imports[m.ast.imports.length - 1];
  const line = lastImport ? lastImport.span.endLine : firstCodeLine(doc.getText());
  return { range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: `import { ${name} } from "${mod}"\n` };
}

/** The first line that is not a leading comment (0-based): a new import goes above the code, below the header. */
function firstCodeLine(text: string): number {
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length && /^\s*\/\//.test(lines[i]!)) i++;
  return i;
}

export function complete(a: Analysis, doc: TextDocument, file: string, offset: number): CompletionItem[] {
  const checker = a.result.checker;
  const m = a.result.graph.modules.get(file);
  if (!checker || !m) return KEYWORDS.map((k) => ({ label: k, kind: CompletionItemKind.Keyword }));
  const text = doc.getText();
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const prefix = text.slice(lineStart, offset);
  const chain = openers(text, offset);
  // The record under the cursor: the checker's own record (innermost by span), else read from the text.
  const inner = a.records
    .filter((r) => r.span.file === file && r.span.start < offset && offset < r.span.end)
    .sort((x, y) => y.span.start - x.span.start)[0];
  const schema = inner?.schema ?? schemaOfHead(checker, m, chain, 0);
  const items: CompletionItem[] = [];

  // After `name.`: an enum's members, or what an `import * as name` module declares.
  const member = /([A-Za-z_]\w*)\.\w*$/.exec(prefix);
  if (member) {
    const sym = lookup(checker, m, member[1]!);
    if (sym?.k === "enum") return sym.members.map((x) => ({ label: x, kind: CompletionItemKind.EnumMember, detail: sym.name }));
    if (sym?.k === "namespace") return [...checker.localsOf(sym.target)].map(([name, s]) => ({ label: name, kind: symKind(s) }));
    return [];
  }
  const value = /([A-Za-z_]\w*)\s*[:=]\s*[\w.]*$/.exec(prefix);
  const fieldName = /(?:^|[{,])\s*[A-Za-z_]?\w*$/.test(prefix) && !value;
  if (schema && chain.length > 0 && fieldName) {
    const sep = /^\s*[A-Za-z_]\w*\s+[A-Za-z_]\w*\s*$/.test(chain[0]!.head) ? " = " : ": ";
    // The fields the record already has (over the whole record, but not the word being typed).
    const from = chain[0]!.at;
    const body = text.slice(from, closing(text, from));
    const given = new Set(
      [...body.matchAll(/(?:^|[{,\n])\s*([A-Za-z_]\w*)\s*[:=]/g)]
        .filter((x) => {
          const start = from + x.index! + x[0].indexOf(x[1]!);
          return !(start <= offset && offset <= start + x[1]!.length);
        })
        .map((x) => x[1]),
    );
    for (const info of checker.fieldsOf(schema).values()) {
      if (given.has(info.name)) continue;
      const d = checker.defaultOf(info);
      items.push({
        label: info.name,
        kind: CompletionItemKind.Field,
        detail: `${typeToString(info.type)}${d ? ` = ${showValue(d)}` : ""}`,
        insertText: info.name + sep,
        sortText: (info.optional || d ? "1" : "0") + info.name,
      });
    }
    return items;
  }

  if (value && schema) {
    const info = checker.fieldsOf(schema).get(value[1]!);
    for (const en of info ? enumsIn(info.type) : [])
      for (const member of en.members)
        items.push({ label: member, kind: CompletionItemKind.EnumMember, detail: en.name, sortText: "0" + member });
  }
  const seen = visible(a, m);
  for (const [name, sym] of seen) items.push({ label: name, kind: symKind(sym), sortText: "2" + name });
  for (const [name, mods] of stdlibExports()) {
    if (seen.has(name)) continue;
    for (const mod of mods)
      items.push({
        label: name,
        kind: CompletionItemKind.Reference,
        detail: `import from "${mod}"`,
        sortText: "3" + name,
        additionalTextEdits: [importEdit(doc, m, name, mod)],
      });
  }
  if (chain.length === 0) for (const k of KEYWORDS) items.push({ label: k, kind: CompletionItemKind.Keyword, sortText: "4" + k });
  return items;
}
