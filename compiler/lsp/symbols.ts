// Document symbols: the module's declarations, with a schema's fields, an enum's members and an
// instance's top-level fields as children (the outline an editor shows).
import { SymbolKind, type DocumentSymbol, type Range } from "vscode-languageserver";
import type { Expr, Span } from "../../grammar/ast.js";
import type { SourceModule } from "../modules.js";

export function rangeOf(s: Span): Range {
  return { start: { line: s.line - 1, character: s.col - 1 }, end: { line: s.endLine - 1, character: s.endCol - 1 } };
}

function recordOf(e: Expr): Extract<Expr, { k: "record" }> | undefined {
  return e.k === "record" ? e : e.k === "override" ? e.record : undefined;
}

export function documentSymbols(m: SourceModule): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const d of m.ast.decls) {
    if (!d.name.name) continue;
    const base = { name: d.name.name, range: rangeOf(d.span), selectionRange: rangeOf(d.name.span) };
    switch (d.kind) {
      case "schema":
        out.push({
          ...base,
          kind: SymbolKind.Struct,
          detail: "schema",
          children: d.fields.map((f) => ({
            name: f.name.name,
            kind: SymbolKind.Field,
            range: rangeOf(f.span),
            selectionRange: rangeOf(f.name.span),
          })),
        });
        break;
      case "enum":
        out.push({
          ...base,
          kind: SymbolKind.Enum,
          detail: "enum",
          children: d.members.map((x) => ({
            name: x.name,
            kind: SymbolKind.EnumMember,
            range: rangeOf(x.span),
            selectionRange: rangeOf(x.span),
          })),
        });
        break;
      case "type":
        out.push({ ...base, kind: SymbolKind.TypeParameter, detail: "type" });
        break;
      case "let":
        out.push({ ...base, kind: SymbolKind.Variable, detail: "let" });
        break;
      case "instance": {
        const rec = recordOf(d.value);
        out.push({
          ...base,
          kind: d.schema.name === "phase" ? SymbolKind.Event : SymbolKind.Object,
          detail: d.schema.name,
          children: (rec?.fields ?? []).map((f) => ({
            name: f.name.name,
            kind: SymbolKind.Property,
            range: rangeOf(f.span),
            selectionRange: rangeOf(f.name.span),
          })),
        });
        break;
      }
    }
  }
  return out;
}
