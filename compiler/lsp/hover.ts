// Hover: a field's type, documentation and default; a declaration's kind and documentation; on a phase
// or a model, what `llavac check` derives for it (values with their formulas, parameter counts).
import { plainPainter } from "../diagnostics.js";
import type { UseTarget } from "../evaluation.js";
import { phaseSummary } from "../report.js";
import { typeToString, type FieldInfo, type Value } from "../types.js";
import { thousands } from "../../runtime/util/format.js";
import type { Span } from "../../grammar/ast.js";
import type { Analysis } from "./analysis.js";

/** A value as it would be written in a spec (short: long lists and records are abbreviated). */
export function showValue(v: Value, depth = 0): string {
  switch (v.k) {
    case "int":
    case "float":
    case "bool":
      return String(v.v);
    case "string":
    case "path":
      return JSON.stringify(v.v);
    case "regex":
      return `/${v.source}/${v.flags}`;
    case "quantity":
      return v.unit === "percent" ? `${v.v}%` : `${v.v} ${v.unit}`;
    case "list":
    case "tuple": {
      const items = v.items.slice(0, 8).map((x) => showValue(x, depth + 1));
      if (v.items.length > 8) items.push("…");
      return v.k === "list" ? `[${items.join(", ")}]` : `(${items.join(", ")})`;
    }
    case "enum":
      return v.member;
    case "record":
      if (v.name) return v.name;
      if (depth > 0) return `${v.schema.name} { … }`;
      return `${v.schema.name} { ${[...v.fields]
        .filter(([, s]) => s.origin === "explicit")
        .map(([k, s]) => `${k}: ${showValue(s.value, depth + 1)}`)
        .join(", ")} }`;
    case "none":
      return "none";
    case "batch":
      return `${v.global} per step${v.micro !== undefined ? `, ${v.micro} per micro-batch` : ""}`;
    case "phaseRef":
      return v.name;
    case "schemaRef":
    case "enumRef":
      return v.sym.name;
    case "namespace":
      return v.target.display;
    case "builtin":
      return v.name;
    case "error":
      return "?";
  }
}

/** The documentation of a declaration: the comment lines right above it (no blank line between), or the
 *  comment at the end of its own line. The grammar keeps comments beside the tree, not in it. */
export function docOf(a: Analysis, span: Span): string | undefined {
  const m = a.result.graph.modules.get(span.file);
  if (!m) return undefined;
  const lines: string[] = [];
  let want = span.line - 1;
  for (let i = m.comments.length - 1; i >= 0; i--) {
    const c = m.comments[i]!;
    if (c.span.endLine > want) continue;
    if (c.span.endLine < want) break;
    const before = m.text.slice(m.text.lastIndexOf("\n", c.span.start - 1) + 1, c.span.start);
    if (before.trim() !== "") break;
    lines.unshift(c.text.replace(/^\/\/\s?|^\/\*+\s?|\s*\*+\/$/g, ""));
    want = c.span.line - 1;
  }
  if (lines.length === 0) {
    const trailing = m.comments.find((c) => c.span.line === span.line && c.span.start >= span.start);
    if (trailing) lines.push(trailing.text.replace(/^\/\/\s?/, ""));
  }
  return lines.length ? lines.join("\n") : undefined;
}

function fence(code: string): string {
  return "```llava\n" + code + "\n```";
}

function fieldHover(a: Analysis, info: FieldInfo): string {
  const parts = [fence(`${info.schema.name}.${info.name}${info.optional ? "?" : ""}: ${typeToString(info.type)}`)];
  const doc = info.decl.doc ?? docOf(a, info.decl.span);
  if (doc) parts.push(doc);
  const d = a.result.checker?.defaultOf(info);
  parts.push(d ? `default: \`${showValue(d)}\`` : info.optional ? "optional, no default" : "required: no default");
  return parts.join("\n\n");
}

/** The derived values of the phases that are, or use, this declaration. */
function derivedHover(a: Analysis, name: string, schema: string): string | undefined {
  const phases = a.result.phases.filter((p) => (schema === "phase" ? p.unit.ir.$name === name : p.unit.ir.model?.$name === name));
  if (phases.length === 0) return undefined;
  if (schema === "phase") return "```text\n" + phaseSummary({ ...a.result, phases }, plainPainter).trimEnd() + "\n```";
  const n = thousands;
  const lines: string[] = [];
  for (const p of phases) {
    const c = p.derived?.counts;
    if (!c) {
      lines.push(`phase ${p.unit.ir.$name}: not derived (fix its errors first)`);
      continue;
    }
    lines.push(`phase ${p.unit.ir.$name}: ${n(c.trainable)} trainable · ${n(c.frozen)} frozen · ${n(c.total)} total`);
    for (const [comp, v] of Object.entries(c.byComponent))
      lines.push(`  ${comp.padEnd(24)}${n(v.total).padStart(15)}  ${n(v.trainable)} trainable`);
    if (p.derived) lines.push(`  num_patches ${n(p.derived.numPatches)} = ${p.derived.numPatchesFormula}`);
  }
  return "parameters\n```text\n" + lines.join("\n") + "\n```";
}

export function hoverText(a: Analysis, t: UseTarget): string | undefined {
  switch (t.k) {
    case "field":
      return fieldHover(a, t.info);
    case "member":
      return [fence(`enum ${t.sym.name} { … ${t.member} … }`), t.sym.decl.doc ?? docOf(a, t.sym.decl.span)].filter(Boolean).join("\n\n");
    case "record":
      return undefined;
    case "sym": {
      const s = t.sym;
      switch (s.k) {
        case "schema": {
          const fields = a.result.checker ? [...a.result.checker.fieldsOf(s).values()] : [];
          const body = fields.map((f) => `  ${f.name}${f.optional ? "?" : ""}: ${typeToString(f.type)}`).join("\n");
          return [fence(`schema ${s.name} {\n${body}\n}`), s.decl.doc ?? docOf(a, s.decl.span), `declared in ${s.module.display}`]
            .filter(Boolean)
            .join("\n\n");
        }
        case "enum":
          return [
            fence(`enum ${s.name} { ${s.members.join(", ")} }`),
            s.decl.doc ?? docOf(a, s.decl.span),
            `declared in ${s.module.display}`,
          ]
            .filter(Boolean)
            .join("\n\n");
        case "alias":
          return [fence(`type ${s.name} = ${s.resolved ? typeToString(s.resolved) : "…"}`), s.decl.doc ?? docOf(a, s.decl.span)]
            .filter(Boolean)
            .join("\n\n");
        case "value": {
          const d = s.decl;
          const kind = d.kind === "let" ? "let" : d.schema.name;
          const v = s.value ? showValue(s.value) : undefined;
          const head = fence(`${kind} ${s.name}${v && !(d.kind === "instance" && v === s.name) ? ` = ${v}` : ""}`);
          const derived = d.kind === "instance" ? derivedHover(a, s.name, d.schema.name) : undefined;
          return [head, d.doc ?? docOf(a, d.span), `declared in ${s.module.display}`, derived].filter(Boolean).join("\n\n");
        }
        case "namespace":
          return fence(`import * as ${s.name} from "${s.target.display.replace(/\.llava$/, "")}"`);
        case "builtin":
          return fence("env(name: string, default) // an environment variable, or the default when it is unset");
      }
    }
  }
}
