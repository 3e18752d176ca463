// Lowering: the typed values of a spec's phases become plain IR (ir.ts), each value's span recorded by
// its IR path. This is also where completeness is checked: a stdlib instance may leave required fields
// open, but what a phase uses must be complete. The error points at the user's own spec, at the
// nearest place that brought the incomplete value in.
import type { Span } from "../grammar/ast.js";
import type { Checker } from "./checker.js";
import type { DiagnosticBag } from "./diagnostics.js";
import type { CerebrasTargetIR, GpusTargetIR, Origin, PhaseIR, PhaseUnit, ProgramIR, SpanMap } from "./ir.js";
import type { SourceModule } from "./modules.js";
import { describeValue, type RecordValue, type Value } from "./types.js";

export class Lowerer {
  /** IR paths of invalid or missing values met while lowering the current phase. */
  private holes: string[] = [];
  constructor(
    private readonly checker: Checker,
    private readonly diags: DiagnosticBag,
  ) {}

  isUserSpan(span: Span): boolean {
    const m = this.checker.graph.modules.get(span.file);
    return (m !== undefined && !m.isStd) || this.checker.graph.isVirtual(span.file);
  }

  program(root: SourceModule): ProgramIR {
    const c = this.checker;
    // Every declaration of the root module is checked, used or not.
    for (const sym of c.localsOf(root).values()) {
      if (sym.k === "value") c.valueOfSym(sym, sym.decl.name.span);
      else if (sym.k === "schema") c.fieldsOf(sym);
    }
    const phases: PhaseUnit[] = [];
    const targets: { value: RecordValue; nameSpan: Span }[] = [];
    const gpuTargets: { value: RecordValue; nameSpan: Span }[] = [];
    for (const d of root.ast.decls) {
      if (d.kind !== "instance") continue;
      const sym = c.localsOf(root).get(d.name.name);
      if (sym?.k !== "value" || sym.decl !== d) continue;
      const v = c.valueOfSym(sym, d.name.span);
      if (v.k !== "record") continue;
      if (v.schema.name === "phase" && v.schema.module.isStd) {
        const spans: SpanMap = new Map();
        this.holes = [];
        const ir = this.plain(v, "", spans, d.name.span, "explicit") as PhaseIR;
        const holes = this.holes;
        ir.$name = d.name.name;
        if (ir.data !== undefined && !Array.isArray(ir.data)) {
          ir.data = [ir.data];
          for (const [k, s] of [...spans]) if (k.startsWith("data.")) spans.set(k.replace(/^data/, "data.0"), s);
          const data = spans.get("data");
          if (data) spans.set("data.0", data);
          for (let i = 0; i < holes.length; i++) if (holes[i]!.startsWith("data.")) holes[i] = holes[i]!.replace(/^data/, "data.0");
        }
        // The held-out datasets are a list too.
        if (ir.eval?.data !== undefined && !Array.isArray(ir.eval.data)) {
          ir.eval.data = [ir.eval.data];
          for (const [k, s] of [...spans]) if (k.startsWith("eval.data.")) spans.set(k.replace(/^eval\.data/, "eval.data.0"), s);
          const data = spans.get("eval.data");
          if (data) spans.set("eval.data.0", data);
        }
        phases.push({ ir, spans, nameSpan: d.name.span, holes });
      } else if (v.schema.name === "cerebras" && v.schema.module.isStd) {
        targets.push({ value: v, nameSpan: d.name.span });
      } else if (v.schema.name === "gpus" && v.schema.module.isStd) {
        gpuTargets.push({ value: v, nameSpan: d.name.span });
      }
    }
    // A root file refused whole (E0008) was never parsed; "no phase" would only repeat that.
    if (phases.length === 0 && !this.diags.items.some((d) => d.code === "E0008" && d.span.file === root.path)) {
      const at = root.ast.decls[0]?.span ?? root.ast.span;
      this.diags.error(
        "E0409",
        {},
        { ...at, end: at.start, endLine: at.line, endCol: at.col },
        { help: "declare one: `phase pretrain { model = ..., data = ..., ... }`" },
      );
    }
    if (targets.length > 1) {
      for (const t of targets.slice(1))
        this.diags.error("E0410", "a spec has at most one `cerebras` target", t.nameSpan, {
          notes: [{ message: "the first target", span: targets[0]!.nameSpan }],
        });
    }
    const targetSpans: SpanMap = new Map();
    let target: CerebrasTargetIR | undefined;
    this.holes = [];
    if (targets[0]) target = this.plain(targets[0].value, "", targetSpans, targets[0].nameSpan, "explicit") as CerebrasTargetIR;
    if (!targets[0] || this.holes.length > 0) {
      targetSpans.clear();
      // The default target is std/core's `cerebras` schema with its defaults: they have one home there.
      const schema = c.preludeSchema("cerebras");
      if (!schema) throw new Error("std/core declares no `cerebras` schema");
      target = this.plain(
        c.instantiate(schema, undefined, schema.module, undefined, schema.decl.name.span),
        "",
        targetSpans,
        root.ast.span,
        "default",
      ) as CerebrasTargetIR;
    }
    for (const t of gpuTargets.slice(1))
      this.diags.error("E1000", {}, t.nameSpan, { notes: [{ message: "the first `gpus` block", span: gpuTargets[0]!.nameSpan }] });
    const gpusSpans: SpanMap = new Map();
    this.holes = [];
    const gpus = gpuTargets[0]
      ? (this.plain(gpuTargets[0].value, "", gpusSpans, gpuTargets[0].nameSpan, "explicit") as GpusTargetIR)
      : undefined;
    return { file: root.path, phases, target: target!, targetSpans, ...(gpus && this.holes.length === 0 ? { gpus } : {}), gpusSpans };
  }

  /** std/core's `gpus` schema with its defaults (`--target llava-repo` without a `gpus` block). */
  defaultGpus(): GpusTargetIR {
    const schema = this.checker.preludeSchema("gpus");
    if (!schema) throw new Error("std/core declares no `gpus` schema");
    const v = this.checker.instantiate(schema, undefined, schema.module, undefined, schema.decl.name.span);
    return this.plain(v, "", new Map(), schema.decl.name.span, "default") as GpusTargetIR;
  }

  /** Value → plain data. `anchor` is the nearest span in the user's spec, for completeness errors. */
  plain(v: Value, path: string, spans: SpanMap, anchor: Span, origin: Origin): unknown {
    const here = this.isUserSpan(v.span) ? v.span : anchor;
    if (path) spans.set(path, { span: v.span, origin });
    const child = (key: string | number) => (path ? `${path}.${key}` : String(key));
    switch (v.k) {
      case "int":
      case "float":
      case "bool":
      case "string":
      case "path":
        return v.v;
      case "regex":
        return { source: v.source, flags: v.flags };
      case "quantity":
        return { unit: v.unit, value: v.v };
      case "enum":
        return v.member;
      case "none":
        return undefined;
      case "list":
      case "tuple":
        return v.items.map((it, i) => this.plain(it, child(i), spans, here, origin));
      case "batch": {
        spans.set(child("global"), { span: v.globalSpan, origin });
        if (v.microSpan) spans.set(child("micro"), { span: v.microSpan, origin });
        return v.micro === undefined ? { global: v.global } : { global: v.global, micro: v.micro };
      }
      case "phaseRef": {
        spans.set(child("phase"), { span: v.nameSpan, origin });
        const states = v.states.k === "list" ? v.states.items.map((s) => (s.k === "enum" ? s.member : "?")) : [];
        if (v.states.k === "list") v.states.items.forEach((s, i) => spans.set(child(`states.${i}`), { span: s.span, origin }));
        return { phase: v.name, states };
      }
      case "record": {
        const out: Record<string, unknown> = { $schema: v.schema.name };
        if (v.name) out.$name = v.name;
        for (const info of this.checker.missingFields(v)) {
          this.holes.push(child(info.name));
          this.diags.error("E0203", { what: describeValue(v), name: info.name }, here, {
            notes: [{ message: `\`${info.name}\` is declared here, without a default`, span: info.decl.span }],
            help: `set it: \`${info.name}: ...\``,
          });
        }
        for (const [name, slot] of v.fields) {
          if (slot.value.k === "none") continue;
          const fieldAnchor = this.isUserSpan(slot.at) ? slot.at : here;
          out[name] = this.plain(
            slot.value,
            child(name),
            spans,
            fieldAnchor,
            slot.origin === "default" ? "default" : origin === "default" ? "default" : "explicit",
          );
        }
        return out;
      }
      case "schemaRef": {
        const r = this.checker.instantiate(v.sym, undefined, v.sym.module, undefined, v.span);
        return this.plain(r, path, spans, anchor, origin);
      }
      default:
        this.holes.push(path);
        return undefined;
    }
  }
}

/** The most useful place to point at for an IR path: its own span if it is in the user's spec, else the
 * nearest enclosing path that is (e.g. the `vision = clip_vit_l14_336` line for a stdlib default). */
export function userSpanOf(spans: SpanMap, path: string, isUser: (s: Span) => boolean, fallback: Span): Span {
  let p = path;
  for (;;) {
    const s = spans.get(p);
    if (s && isUser(s.span)) return s.span;
    const dot = p.lastIndexOf(".");
    if (dot < 0) break;
    p = p.slice(0, dot);
  }
  const top = spans.get(p);
  return top && isUser(top.span) ? top.span : fallback;
}
