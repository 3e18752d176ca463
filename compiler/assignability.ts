// Assignability: whether a value fits a declared type, converting where the language allows (int → float,
// string → path, a schema name → its default instance), and the one best failure when it does not (union
// members are tried silently).
import type { ConstraintNode, RecordExpr, Span } from "../grammar/ast.js";
import type { Diagnostic, Note } from "./diagnostics.js";
import { fill, type ErrorCode } from "./codes.js";
import type { SourceModule } from "./modules.js";
import { baseOf, describeValue, typeToString, type FieldInfo, type RecordValue, type SchemaSym, type Type, type Value } from "./types.js";
import { Binder } from "./binding.js";

/** A diagnostic not yet reported: union members are tried silently, and only the best failure is shown. */
type Failure = Omit<Diagnostic, "severity" | "code"> & { code: ErrorCode };

type Attempt = { ok: true; value: Value } | { ok: false; failure: Failure };

export abstract class Assigner extends Binder {
  /** A schema's instance from a record literal (evaluation.ts). */
  abstract instantiate(
    schema: SchemaSym,
    rec: RecordExpr | undefined,
    m: SourceModule,
    base: RecordValue | undefined,
    span: Span,
  ): RecordValue;

  // ------------------------------------------------------------------ assignment

  /** Check `v` against `t`, converting where the language allows (int → float, string → path). */
  assign(v: Value, t: Type, field?: FieldInfo): Value {
    if (v.k === "error" || t.k === "error") return v;
    const r = this.tryAssign(v, t);
    if (r.ok) return r.value;
    const f = r.failure;
    const notes = [...f.notes];
    if (field && (f.code === "E0201" || f.code === "E0225"))
      notes.push({ message: `\`${field.name}\` is declared as \`${typeToString(field.type)}\``, span: field.decl.type.span });
    this.diags.error(f.code, f.message, f.span, { notes, help: f.help, ...(f.label ? { label: f.label } : {}) });
    return { k: "error", span: v.span };
  }

  protected tryAssign(v: Value, t: Type): Attempt {
    const ok = (value: Value): Attempt => ({ ok: true, value });
    const fail = (message: string, help: string[] = [], code: ErrorCode = "E0201", span = v.span, notes: Note[] = []): Attempt => ({
      ok: false,
      failure: { code, message, span, help, notes },
    });
    const mismatch = (help: string[] = []) => fail(fill("E0201", { expected: typeToString(t), found: describeValue(v) }), help);
    if (v.k === "error") return ok(v);
    switch (t.k) {
      case "error":
        return ok(v);
      case "literal":
        return v.k === "string" && v.v === t.value ? ok(v) : mismatch();
      case "prim":
        switch (t.name) {
          case "any":
            return ok(v);
          case "int":
            if (v.k === "int") return ok(v);
            if (v.k === "float" && Number.isInteger(v.v)) return mismatch([`write \`${v.v}\` without the decimal point`]);
            return mismatch(v.k === "quantity" ? ["this field is a plain number; drop the unit"] : []);
          case "float":
            if (v.k === "float") return ok(v);
            if (v.k === "int") return ok({ k: "float", v: v.v, span: v.span });
            return mismatch(v.k === "string" && !Number.isNaN(Number(v.v)) ? ["remove the quotes"] : []);
          case "bool":
            return v.k === "bool" ? ok(v) : mismatch(v.k === "string" && /^(true|false)$/i.test(v.v) ? ["remove the quotes"] : []);
          case "string":
            return v.k === "string"
              ? ok(v)
              : v.k === "path"
                ? ok({ k: "string", v: v.v, span: v.span })
                : mismatch(v.k === "enum" ? [`write it as a string: "${v.member}"`] : []);
          case "path":
            return v.k === "string" || v.k === "path" ? ok({ k: "path", v: v.v, span: v.span }) : mismatch();
          case "regex":
            return v.k === "regex" ? ok(v) : mismatch(v.k === "string" ? [`write a regex literal: /${v.v.replace(/\//g, "\\/")}/`] : []);
          case "batch":
            return v.k === "batch"
              ? ok(v)
              : mismatch(v.k === "int" ? [`write \`${v.v} per step\`, or \`${v.v} per step, 8 per micro-batch\``] : []);
          case "phase_start":
            return v.k === "phaseRef" ? ok(v) : mismatch(["name a phase declared in this spec, as in `pretrain(states: model)`"]);
        }
        return mismatch();
      case "quantity": {
        if (v.k === "quantity" && v.unit === t.unit) {
          if (t.unit === "steps" && !Number.isInteger(v.v)) return fail(fill("E0231", { value: v.v }), [], "E0231");
          return ok(v);
        }
        if (v.k === "int" || v.k === "float") {
          const unit = t.unit === "percent" ? `${v.v}%` : `${v.v} ${t.unit}`;
          return fail(fill("E0207", { unit: t.unit }), [`add the unit: \`${unit}\``], "E0207");
        }
        return mismatch();
      }
      case "list": {
        if (v.k !== "list") return mismatch(v.k !== "tuple" && v.k !== "none" ? [`wrap it in a list: [${"…"}]`] : []);
        const items: Value[] = [];
        for (const it of v.items) {
          const r = this.tryAssign(it, t.elem);
          if (!r.ok) return r;
          items.push(r.value);
        }
        return ok({ k: "list", items, span: v.span });
      }
      case "tuple": {
        if (v.k !== "tuple" && v.k !== "list") return mismatch();
        if (v.items.length !== t.elems.length)
          return fail(
            fill("E0225", {
              count: t.elems.length,
              expected: typeToString(t),
              found: `${v.items.length} item${v.items.length === 1 ? "" : "s"}`,
            }),
            [],
            "E0225",
          );
        const items: Value[] = [];
        for (let i = 0; i < v.items.length; i++) {
          const r = this.tryAssign(v.items[i]!, t.elems[i]!);
          if (!r.ok) return r;
          items.push(r.value);
        }
        return ok({ k: "tuple", items, span: v.span });
      }
      case "enum": {
        if (v.k === "enum" && v.sym === t.sym) return ok(v);
        if (v.k === "string" && t.sym.members.includes(v.v)) return mismatch([`enum members are written without quotes: \`${v.v}\``]);
        return mismatch([`the members of \`${t.sym.name}\` are ${t.sym.members.map((x) => `\`${x}\``).join(", ")}`]);
      }
      case "schema": {
        if (v.k === "record" && v.schema === t.sym) return ok(v);
        if (v.k === "schemaRef" && v.sym === t.sym) return ok(this.instantiate(v.sym, undefined, v.sym.module, undefined, v.span));
        return mismatch();
      }
      case "refined": {
        const r = this.tryAssign(v, t.base);
        if (!r.ok)
          return r.failure.code === "E0201" && r.failure.span === v.span
            ? { ok: false, failure: { ...r.failure, message: fill("E0201", { expected: typeToString(t), found: describeValue(v) }) } }
            : r;
        for (const c of t.constraints) {
          const broken = violates(r.value, c);
          if (broken) {
            return {
              ok: false,
              failure: {
                code: broken.code,
                message: broken.message,
                span: v.span,
                label: `breaks \`${c.op} ${typeof c.value === "string" ? JSON.stringify(c.value) : c.value}\``,
                help: [],
                notes: [{ message: "the constraint is declared here", span: c.span }],
              },
            };
          }
        }
        return r;
      }
      case "union": {
        const failures: Failure[] = [];
        for (const o of t.options) {
          const r = this.tryAssign(v, o);
          if (r.ok) return r;
          failures.push(r.failure);
        }
        // A value of the right kind that breaks a constraint, or fails inside (one item of a tuple),
        // says more than "expected A | B".
        const specific =
          failures.find((f) => f.code !== "E0201" && f.code !== "E0225") ??
          failures.find((f) => f.span.start !== v.span.start || f.span.end !== v.span.end);
        if (specific) return { ok: false, failure: specific };
        return mismatch();
      }
    }
  }
}

export function violates(v: Value, c: ConstraintNode): { code: "E0204" | "E0236"; message: string } | undefined {
  if (c.op === "=~") {
    const s = v.k === "string" || v.k === "path" ? v.v : undefined;
    if (s === undefined) return undefined;
    return new RegExp(String(c.value)).test(s)
      ? undefined
      : { code: "E0236", message: fill("E0236", { value: JSON.stringify(s), pattern: String(c.value) }) };
  }
  const n = v.k === "int" || v.k === "float" || v.k === "quantity" ? v.v : undefined;
  if (n === undefined) return undefined;
  const bound = c.value as number;
  const okay = c.op === ">=" ? n >= bound : c.op === "<=" ? n <= bound : c.op === ">" ? n > bound : c.op === "<" ? n < bound : n !== bound;
  return okay ? undefined : { code: "E0204", message: fill("E0204", { value: n, op: c.op, bound }) };
}

export function listElem(t?: Type): Type | undefined {
  if (!t) return undefined;
  const b = baseOf(t);
  if (b.k === "list") return b.elem;
  if (b.k === "union") {
    const lists = b.options.map(baseOf).filter((o): o is Extract<Type, { k: "list" }> => o.k === "list");
    if (lists.length === 1) return lists[0]!.elem;
    const tuples = b.options.map(baseOf).filter((o) => o.k === "tuple");
    if (lists.length === 0 && tuples.length === 0) return undefined;
  }
  return undefined;
}

export function tupleElems(t: Type | undefined, n: number): Type[] | undefined {
  if (!t) return undefined;
  const b = baseOf(t);
  if (b.k === "tuple" && b.elems.length === n) return b.elems;
  if (b.k === "union") {
    for (const o of b.options) {
      const ob = baseOf(o);
      if (ob.k === "tuple" && ob.elems.length === n) return ob.elems;
    }
  }
  return undefined;
}

export function acceptsPhaseStart(t: Type): boolean {
  const b = baseOf(t);
  if (b.k === "prim") return b.name === "phase_start";
  if (b.k === "union") return b.options.some(acceptsPhaseStart);
  return false;
}
