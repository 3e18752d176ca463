// The checker: binds names across modules, resolves types, and evaluates declarations into typed values.
// Evaluation is driven by the expected type (a bare `patch` is an enum member where an enum is expected,
// `{ ... }` is an instance of the schema the field declares, an int becomes a float where a float is
// wanted). Errors are reported where the value is written, with a note at the declaration it breaks, and
// evaluation continues with an `error` value so one mistake is reported once.
// The names are bound by binding.ts and values are checked against types by assignability.ts; this file
// resolves types and evaluates expressions and declarations.
import type { CallArg, ConstraintNode, Expr, Ident, InstanceDecl, RecordExpr, Span, TypeNode } from "../grammar/ast.js";
import { didYouMean, type DiagnosticBag } from "./diagnostics.js";
import { stdlibExports, type ModuleGraph, type SourceModule } from "./modules.js";
import type { Override } from "./overrides.js";
import { parseValue } from "../grammar/index.js";
import {
  PRIMITIVE_TYPES,
  T,
  baseOf,
  describeValue,
  enumsIn,
  schemasIn,
  typeToString,
  type EnumSym,
  type FieldInfo,
  type FieldSlot,
  type RecordValue,
  type SchemaSym,
  type Sym,
  type Type,
  type Unit,
  type Value,
  type ValueSym,
} from "./types.js";
import { Assigner, acceptsPhaseStart, listElem, tupleElems } from "./assignability.js";
import { importHint } from "./binding.js";

export interface CheckOptions {
  env: Record<string, string | undefined>;
  /** Command-line `--set`s, applied to the root module's declarations (see attachOverrides). */
  overrides?: readonly Override[];
  /** Told each name use the checker resolves (a reference, a record field, an enum member): editors use it. */
  onUse?: UseSink;
}

/** What a name written at a span stands for. */
export type UseTarget =
  | { k: "sym"; sym: Sym }
  | { k: "field"; info: FieldInfo }
  | { k: "member"; sym: EnumSym; member: string }
  /** Not a name: the record literal at the span instantiates this schema (what field completion offers). */
  | { k: "record"; sym: SchemaSym };
export type UseSink = (span: Span, target: UseTarget) => void;

export const UNITS: Record<string, Unit> = { step: "steps", steps: "steps", epoch: "epochs", epochs: "epochs" };
const PHASE_SCHEMA = "phase";
const MAX_EVAL_DEPTH = 500;

export class Checker extends Assigner {
  private readonly pendingOverrides = new Map<ValueSym, Override[]>();

  constructor(
    graph: ModuleGraph,
    diags: DiagnosticBag,
    readonly opts: CheckOptions,
  ) {
    super(graph, diags);
  }

  // ------------------------------------------------------------------ types

  resolveType(node: TypeNode, m: SourceModule): Type {
    switch (node.k) {
      case "named": {
        const prim = PRIMITIVE_TYPES[node.name.name];
        if (prim) return prim;
        const sym = this.lookup(node.name.name, m);
        if (!sym) {
          const hint = didYouMean(node.name.name, [
            ...Object.keys(PRIMITIVE_TYPES),
            ...this.visibleNames(m).filter((n) => {
              const s = this.lookup(n, m);
              return s?.k === "schema" || s?.k === "enum" || s?.k === "alias";
            }),
          ]);
          this.diags.error("E0104", { kind: "type", name: node.name.name }, node.name.span, {
            help: hint
              ? `did you mean \`${hint}\`?`
              : stdlibExports().has(node.name.name)
                ? importHint(node.name.name)
                : "types are int, float, bool, string, path, regex, steps, epochs, percent, or a schema or enum name",
          });
          return T.error;
        }
        this.opts.onUse?.(node.name.span, { k: "sym", sym });
        if (sym.k === "schema") return { k: "schema", sym };
        if (sym.k === "enum") return { k: "enum", sym };
        if (sym.k === "alias") return this.aliasType(sym);
        this.diags.error("E0212", { name: node.name.name }, node.name.span);
        return T.error;
      }
      case "list":
        return { k: "list", elem: this.resolveType(node.elem, m) };
      case "tuple":
        return { k: "tuple", elems: node.elems.map((e) => this.resolveType(e, m)) };
      case "union":
        return { k: "union", options: node.options.map((o) => this.resolveType(o, m)) };
      case "refined": {
        const base = this.resolveType(node.base, m);
        for (const c of node.constraints) this.validateConstraint(c, base);
        return { k: "refined", base, constraints: node.constraints };
      }
      case "literal":
        return { k: "literal", value: node.value };
      case "error":
        return T.error;
    }
  }

  private aliasType(sym: Extract<Sym, { k: "alias" }>): Type {
    if (sym.resolved) return sym.resolved;
    if (sym.resolving) {
      this.diags.error("E0208", { what: `type \`${sym.name}\`` }, sym.decl.name.span);
      return T.error;
    }
    sym.resolving = true;
    sym.resolved = this.deeper(
      sym.decl.name.span,
      () => this.resolveType(sym.decl.type, sym.module),
      (): Type => T.error,
    );
    sym.resolving = false;
    return sym.resolved;
  }

  private validateConstraint(c: ConstraintNode, base: Type): void {
    const b = baseOf(base);
    const numeric = b.k === "prim" ? b.name === "int" || b.name === "float" : b.k === "quantity";
    const stringy = b.k === "prim" && (b.name === "string" || b.name === "path");
    if (c.op === "=~") {
      if (!stringy) this.diags.error("E0213", { type: typeToString(base) }, c.span);
      else this.compileRegex(String(c.value), "", c.span);
    } else if (!numeric && b.k !== "error") {
      this.diags.error("E0214", { op: c.op, type: typeToString(base) }, c.span);
    }
  }

  fieldsOf(schema: SchemaSym): Map<string, FieldInfo> {
    if (schema.fields) return schema.fields;
    const fields = new Map<string, FieldInfo>();
    schema.fields = fields;
    for (const f of schema.decl.fields) {
      if (fields.has(f.name.name)) {
        this.diags.error("E0210", `field \`${f.name.name}\` is declared twice in schema \`${schema.name}\``, f.name.span);
        continue;
      }
      fields.set(f.name.name, { name: f.name.name, type: this.resolveType(f.type, schema.module), optional: f.optional, decl: f, schema });
    }
    return fields;
  }

  defaultOf(info: FieldInfo): Value | undefined {
    if (info.defaultValue === undefined) {
      info.defaultValue = null;
      const d = info.decl.default;
      if (d) {
        const v = this.eval(d, info.schema.module, info.type);
        info.defaultValue = v.k === "none" ? v : this.assign(v, info.type, info);
      }
    }
    return info.defaultValue ?? undefined;
  }

  // ------------------------------------------------------------------ declarations

  valueOfSym(sym: ValueSym, at: Span): Value {
    sym.used = true;
    if (sym.state === "done") return sym.value!;
    if (sym.state === "evaluating") {
      this.diags.error("E0208", { what: `\`${sym.name}\`` }, at, {
        notes: [{ message: `\`${sym.name}\` is declared here`, span: sym.decl.name.span }],
      });
      return { k: "error", span: at };
    }
    sym.state = "evaluating";
    let v = this.evalDecl(sym);
    for (const o of this.pendingOverrides.get(sym) ?? []) v = this.applyOverride(sym, v, o);
    sym.value = v;
    sym.state = "done";
    return v;
  }

  private evalDecl(sym: ValueSym): Value {
    const d = sym.decl;
    const m = sym.module;
    if (d.kind === "let") {
      const t = d.type ? this.resolveType(d.type, m) : undefined;
      const v = this.eval(d.value, m, t);
      return named(t ? this.assign(v, t) : v, sym.name);
    }
    const kind = this.lookup(d.schema.name, m);
    if (kind) this.opts.onUse?.(d.schema.span, { k: "sym", sym: kind });
    if (!kind) {
      const hint = didYouMean(
        d.schema.name,
        this.visibleNames(m).filter((n) => this.lookup(n, m)?.k === "schema"),
      );
      this.diags.error("E0104", { kind: "kind", name: d.schema.name }, d.schema.span, {
        help: hint ? `did you mean \`${hint}\`?` : "a declaration starts with a schema name, as in `phase pretrain { ... }`",
      });
      return { k: "error", span: d.span };
    }
    if (kind.k !== "schema") {
      this.diags.error("E0211", { name: d.schema.name }, d.schema.span, {
        help: kind.k === "value" ? `to build on \`${d.schema.name}\`, write \`let ${d.name.name} = ${d.schema.name} { ... }\`` : undefined,
      });
      return { k: "error", span: d.span };
    }
    const schemaType: Type = { k: "schema", sym: kind };
    if (
      d.value.k === "override" &&
      d.value.base.k === "ref" &&
      d.value.base.span.start === d.schema.span.start &&
      d.value.base.span.file === d.schema.span.file
    ) {
      return named(this.instantiate(kind, d.value.record, m, undefined, d.name.span), sym.name);
    }
    return named(this.assign(this.eval(d.value, m, schemaType), schemaType), sym.name);
  }

  // ------------------------------------------------------------------ command-line overrides

  /** Attach each `--set` to its declaration in the root module; it is applied when that declaration is evaluated. */
  attachOverrides(root: SourceModule): void {
    const taken: Override[] = [];
    const pathSpan = (o: Override): Span => {
      const a = o.path[0]!.span,
        b = o.path[o.path.length - 1]!.span;
      return { ...a, end: b.end, endLine: b.endLine, endCol: b.endCol };
    };
    for (const o of this.opts.overrides ?? []) {
      const head = o.path[0]!;
      const locals = this.localsOf(root);
      const sym = locals.get(head.name);
      if (sym?.k !== "value") {
        const values = [...locals.values()].filter((x) => x.k === "value").map((x) => x.name);
        const hint = didYouMean(head.name, values);
        this.diags.error(
          "E0702",
          sym
            ? `\`${head.name}\` is a ${sym.k === "alias" ? "type" : sym.k}, not a declaration with a value`
            : `${this.graph.display(root.path)} declares no \`${head.name}\``,
          head.span,
          {
            help: hint ? `did you mean \`${hint}\`?` : `its declarations are ${values.map((x) => `\`${x}\``).join(", ")}`,
          },
        );
        continue;
      }
      const within = (a: Override, b: Override) => a.path.length <= b.path.length && a.path.every((p, i) => p.name === b.path[i]!.name);
      const clash = taken.find((t) => within(t, o) || within(o, t));
      if (clash) {
        this.diags.error("E0706", `\`${o.path.map((p) => p.name).join(".")}\` is set twice`, pathSpan(o), {
          notes: [{ message: "also set here", span: pathSpan(clash) }],
          help: "keep one of the two `--set`s",
        });
        continue;
      }
      taken.push(o);
      this.pendingOverrides.set(sym, [...(this.pendingOverrides.get(sym) ?? []), o]);
    }
  }

  private applyOverride(sym: ValueSym, v: Value, o: Override): Value {
    const m = sym.module;
    if (o.path.length > 1) return this.setField(v, o, 1, m);
    // The whole declaration, at its declared type (a `let` without one takes the value as written).
    const d = sym.decl;
    let t: Type | undefined;
    if (d.kind === "let") t = d.type ? this.resolveType(d.type, m) : undefined;
    else {
      const kind = this.lookup(d.schema.name, m);
      t = kind?.k === "schema" ? { k: "schema", sym: kind } : undefined;
    }
    const raw = this.eval(o.value, m, t);
    return named(t ? this.assign(raw, t) : raw, sym.name);
  }

  /** `v` with the field `o.path[i]` (and below) set; records are copied, so a value shared by two declarations changes in one. */
  private setField(v: Value, o: Override, i: number, m: SourceModule): Value {
    const id = o.path[i]!;
    const where = o.path
      .slice(0, i)
      .map((p) => p.name)
      .join(".");
    if (v.k === "error") return v;
    if (v.k !== "record") {
      this.diags.error("E0703", `\`${where}\` is ${describeValue(v)}, which has no fields`, id.span, {
        help: `set it whole: \`--set ${where}=<value>\``,
      });
      return v;
    }
    const infos = this.fieldsOf(v.schema);
    const info = infos.get(id.name);
    if (!info) {
      const hint = didYouMean(id.name, infos.keys());
      this.diags.error("E0703", `\`${where}\` (\`${v.schema.name}\`) has no field \`${id.name}\``, id.span, {
        notes: [{ message: `schema \`${v.schema.name}\` is declared here`, span: v.schema.decl.name.span }],
        help: hint ? `did you mean \`${hint}\`?` : `its fields are ${[...infos.keys()].map((x) => `\`${x}\``).join(", ")}`,
      });
      return v;
    }
    const fields = new Map(v.fields);
    if (i === o.path.length - 1) {
      const raw = this.eval(o.value, m, info.type);
      let value: Value;
      if (raw.k === "none" && !info.optional) {
        this.diags.error("E0201", `\`${id.name}\` is required and cannot be \`none\``, o.value.span, {
          notes: [{ message: "the field is declared here", span: info.decl.span }],
        });
        value = { k: "error", span: o.value.span };
      } else value = raw.k === "none" ? raw : this.assign(raw, info.type, info);
      fields.set(id.name, { value, origin: "explicit", at: o.span });
    } else {
      const slot = v.fields.get(id.name);
      if (!slot) {
        this.diags.error("E0703", `\`${where}.${id.name}\` is not set, so it has no fields to set`, id.span, {
          help: `set it whole: \`--set ${where}.${id.name}=<value>\``,
        });
        return v;
      }
      fields.set(id.name, { ...slot, value: this.setField(slot.value, o, i + 1, m) });
    }
    return { ...v, fields };
  }

  isPhaseDecl(d: InstanceDecl): boolean {
    return d.schema.name === PHASE_SCHEMA;
  }

  // ------------------------------------------------------------------ expressions

  /** Evaluation recurses through expressions and the declarations they name; bounded (E0007) so that a
   *  chain of 10,000 `let`s, each naming the next, is a diagnostic rather than a stack overflow. */
  eval(e: Expr, m: SourceModule, expected?: Type): Value {
    return this.deeper(
      e.span,
      () => this.evalExpr(e, m, expected),
      () => ({ k: "error", span: e.span }),
    );
  }

  private depth = 0;
  private tooDeep = false;

  private deeper<R>(at: Span, run: () => R, fallback: () => R): R {
    if (this.depth >= MAX_EVAL_DEPTH) {
      if (!this.tooDeep) {
        this.tooDeep = true;
        this.diags.error(
          "E0007",
          `definitions nest too deeply here: more than ${MAX_EVAL_DEPTH} levels of names and expressions inside each other`,
          at,
          { help: "a chain of declarations that each name the next is limited; shorten the chain" },
        );
      }
      return fallback();
    }
    this.depth++;
    try {
      return run();
    } finally {
      this.depth--;
    }
  }

  private evalExpr(e: Expr, m: SourceModule, expected?: Type): Value {
    switch (e.k) {
      case "int":
        return { k: "int", v: e.value, span: e.span };
      case "float":
        return { k: "float", v: e.value, span: e.span };
      case "percent":
        return { k: "quantity", unit: "percent", v: e.value, span: e.span };
      case "quantity": {
        const unit = UNITS[e.unit.name];
        if (!unit) {
          const hint = didYouMean(e.unit.name, Object.keys(UNITS));
          this.diags.error("E0230", { kind: "unit", unit: e.unit.name }, e.unit.span, {
            help: hint ? `did you mean \`${hint}\`?` : "units are `steps`, `epochs` and `%`",
          });
          return { k: "error", span: e.span };
        }
        return { k: "quantity", unit, v: e.value, span: e.span };
      }
      case "string":
        return { k: "string", v: e.value, span: e.span };
      case "regex": {
        if (!this.compileRegex(e.pattern, e.flags, e.span)) return { k: "error", span: e.span };
        return { k: "regex", source: e.pattern, flags: e.flags, span: e.span };
      }
      case "bool":
        return { k: "bool", v: e.value, span: e.span };
      case "none":
        return { k: "none", span: e.span };
      case "list": {
        const elem = listElem(expected);
        return { k: "list", items: e.items.map((i) => this.eval(i, m, elem)), span: e.span };
      }
      case "tuple": {
        const elems = tupleElems(expected, e.items.length);
        return { k: "tuple", items: e.items.map((i, n) => this.eval(i, m, elems?.[n])), span: e.span };
      }
      case "record": {
        const schemas = expected ? schemasIn(expected) : [];
        if (schemas.length !== 1) {
          this.diags.error(schemas.length === 0 ? "E0215" : "E0216", {}, e.span, {
            help:
              schemas.length > 1
                ? `write one of ${schemas.map((s) => `\`${s.name} { ... }\``).join(", ")}`
                : expected
                  ? `this field expects \`${typeToString(expected)}\``
                  : "write `schema_name { ... }`",
          });
          return { k: "error", span: e.span };
        }
        return this.instantiate(schemas[0]!, e, m, undefined, e.span);
      }
      case "ref":
        return this.evalRef(e.name, e.span, m, expected);
      case "member":
        return this.evalMember(e.object, e.name, m, expected);
      case "override": {
        const base = this.eval(e.base, m);
        if (base.k === "error") return base;
        if (base.k === "schemaRef") return this.instantiate(base.sym, e.record, m, undefined, e.span);
        if (base.k === "record") return this.instantiate(base.schema, e.record, m, base, e.span);
        this.diags.error("E0233", { what: describeValue(base) }, e.base.span, {
          help: "only a schema (`vit { ... }`) or an instance (`clip_vit_l14_336 { ... }`) takes fields",
        });
        return { k: "error", span: e.span };
      }
      case "call":
        return this.evalCall(e.callee, e.args, e.span, m, expected);
      case "binary":
        return this.evalBinary(e.op, e.left, e.right, e.span, m);
      case "neg": {
        const v = this.eval(e.operand, m);
        if (v.k === "int" || v.k === "float") return { ...v, v: -v.v, span: e.span };
        if (v.k === "error") return v;
        this.diags.error("E0217", { what: describeValue(v) }, e.span);
        return { k: "error", span: e.span };
      }
      case "per":
      case "perList":
        return this.evalBatch(e.k === "per" ? [e] : e.items, e.span, m);
      case "error":
        return { k: "error", span: e.span };
    }
  }

  private evalRef(id: Ident, span: Span, m: SourceModule, expected?: Type): Value {
    const name = id.name;
    const enums = expected ? enumsIn(expected) : [];
    for (const en of enums)
      if (en.members.includes(name)) {
        this.opts.onUse?.(id.span, { k: "member", sym: en, member: name });
        return { k: "enum", sym: en, member: name, span };
      }
    const sym = this.lookup(name, m);
    if (sym) this.opts.onUse?.(id.span, { k: "sym", sym });
    if (sym?.k === "value" && sym.decl.kind === "instance" && this.isPhaseDecl(sym.decl) && expected && acceptsPhaseStart(expected)) {
      return this.phaseRef(sym, id, undefined, span, m);
    }
    if (
      expected &&
      acceptsPhaseStart(expected) &&
      (!sym || sym.k !== "value" || sym.decl.kind !== "instance" || !this.isPhaseDecl(sym.decl))
    ) {
      const phases = [...this.localsOf(m).values()]
        .filter((s) => s.k === "value" && s.decl.kind === "instance" && this.isPhaseDecl(s.decl))
        .map((s) => s.name);
      const hint = didYouMean(name, phases);
      this.diags.error("E0406", sym ? `\`${name}\` is not a phase` : `no phase named \`${name}\``, span, {
        help: hint
          ? `did you mean \`${hint}\`?`
          : phases.length
            ? `the phases are ${phases.map((p) => `\`${p}\``).join(", ")}`
            : "declare the phase it starts from in this spec",
      });
      return { k: "error", span };
    }
    if (!sym) {
      if (enums.length > 0) {
        const members = enums.flatMap((en) => en.members);
        const hint = didYouMean(name, members);
        this.diags.error("E0205", { name, enums: enums.map((en) => `\`${en.name}\``).join(" or ") }, span, {
          notes: enums.map((en) => ({ message: `\`${en.name}\` is declared here`, span: en.decl.name.span })),
          help: hint ? `did you mean \`${hint}\`?` : `the members are ${members.map((x) => `\`${x}\``).join(", ")}`,
        });
        return { k: "error", span };
      }
      const hint = didYouMean(name, this.visibleNames(m));
      this.diags.error("E0104", { kind: "name", name }, span, { help: hint ? `did you mean \`${hint}\`?` : importHint(name) });
      return { k: "error", span };
    }
    switch (sym.k) {
      case "value": {
        // A record used by name is located where it is used; its fields keep their own locations.
        const v = this.valueOfSym(sym, span);
        return v.k === "error" ? { k: "error", span } : v.k === "record" ? { ...v, span } : v;
      }
      case "schema":
        return { k: "schemaRef", sym, span };
      case "enum":
        return { k: "enumRef", sym, span };
      case "namespace":
        return { k: "namespace", target: sym.target, span };
      case "builtin":
        return { k: "builtin", name: sym.name, span };
      case "alias":
        this.diags.error("E0218", { name }, span);
        return { k: "error", span };
    }
  }

  private evalMember(objectExpr: Expr, name: Ident, m: SourceModule, expected?: Type): Value {
    const obj = this.eval(objectExpr, m);
    const span = { ...name.span, start: objectExpr.span.start, line: objectExpr.span.line, col: objectExpr.span.col };
    switch (obj.k) {
      case "error":
        return obj;
      case "namespace": {
        const sym = this.localsOf(obj.target).get(name.name);
        if (!sym) {
          const hint = didYouMean(name.name, this.localsOf(obj.target).keys());
          this.diags.error("E0103", { module: obj.target.display, name: name.name }, name.span, {
            help: hint ? `did you mean \`${hint}\`?` : undefined,
          });
          return { k: "error", span };
        }
        this.opts.onUse?.(name.span, { k: "sym", sym });
        if (sym.k === "value") return this.valueOfSym(sym, name.span);
        if (sym.k === "schema") return { k: "schemaRef", sym, span };
        if (sym.k === "enum") return { k: "enumRef", sym, span };
        this.diags.error("E0218", { name: name.name }, name.span);
        return { k: "error", span };
      }
      case "enumRef": {
        if (obj.sym.members.includes(name.name)) {
          this.opts.onUse?.(name.span, { k: "member", sym: obj.sym, member: name.name });
          return { k: "enum", sym: obj.sym, member: name.name, span };
        }
        const hint = didYouMean(name.name, obj.sym.members);
        this.diags.error("E0205", { name: name.name, enums: `\`${obj.sym.name}\`` }, name.span, {
          notes: [{ message: "the enum is declared here", span: obj.sym.decl.name.span }],
          help: hint ? `did you mean \`${hint}\`?` : undefined,
        });
        return { k: "error", span };
      }
      case "record": {
        const slot = obj.fields.get(name.name);
        const info = this.fieldsOf(obj.schema).get(name.name);
        if (info) this.opts.onUse?.(name.span, { k: "field", info });
        if (slot) return slot.value;
        if (info) {
          this.diags.error("E0235", { name: name.name, what: describeValue(obj) }, name.span, {
            notes: [{ message: "the field is declared here", span: info.decl.span }],
          });
        } else {
          const hint = didYouMean(name.name, this.fieldsOf(obj.schema).keys());
          this.diags.error("E0202", { schema: obj.schema.name, name: name.name }, name.span, {
            help: hint ? `did you mean \`${hint}\`?` : undefined,
          });
        }
        return { k: "error", span };
      }
      default:
        void expected;
        this.diags.error("E0219", { what: describeValue(obj) }, name.span);
        return { k: "error", span };
    }
  }

  private evalCall(callee: Expr, args: CallArg[], span: Span, m: SourceModule, expected?: Type): Value {
    if (callee.k === "ref") {
      const sym = this.lookup(callee.name.name, m);
      if (sym) this.opts.onUse?.(callee.name.span, { k: "sym", sym });
      if (sym?.k === "builtin") return this.evalEnv(args, span, m, expected);
      if (sym?.k === "value" && sym.decl.kind === "instance" && this.isPhaseDecl(sym.decl))
        return this.phaseRef(sym, callee.name, args, span, m);
      if (!sym) return this.evalRef(callee.name, callee.span, m, expected);
    }
    const v = this.eval(callee, m);
    if (v.k !== "error")
      this.diags.error("E0209", { what: describeValue(v) }, callee.span, {
        help: 'the callable things are `env("NAME", "default")` and a phase reference such as `pretrain(states: model)`',
      });
    return { k: "error", span };
  }

  private evalEnv(args: CallArg[], span: Span, m: SourceModule, expected?: Type): Value {
    const positional = args.filter((a) => !a.name);
    for (const a of args) if (a.name) this.diags.error("E0226", {}, a.name.span);
    if (positional.length < 1 || positional.length > 2) {
      this.diags.error("E0227", { count: positional.length }, span, { help: 'write env("LLAVA_DATA", "./data")' });
      return { k: "error", span };
    }
    const name = this.assign(this.eval(positional[0]!.value, m, T.string), T.string);
    // The default's type is the variable's: text for a string or path, else a number, bool or quantity.
    let def = positional[1] ? this.eval(positional[1].value, m) : undefined;
    if (def?.k === "path") def = { k: "string", v: def.v, span: def.span };
    // `lr: env("LR", 1)` reads a float, as the field would take `1` as one.
    if (def?.k === "int" && expected) {
      const b = baseOf(expected);
      if (b.k === "prim" && b.name === "float") def = { k: "float", v: def.v, span: def.span };
    }
    if (
      def &&
      def.k !== "error" &&
      def.k !== "string" &&
      def.k !== "int" &&
      def.k !== "float" &&
      def.k !== "bool" &&
      def.k !== "quantity"
    ) {
      this.diags.error("E0237", `env()'s default is a string, a number, a bool or a quantity, not ${describeValue(def)}`, def.span, {
        help: 'write env("LLAVA_DATA", "./data") or env("LR", 2e-5)',
      });
      return { k: "error", span };
    }
    if (name.k !== "string" || def?.k === "error") return { k: "error", span };
    const value = this.opts.env[name.v];
    if (value !== undefined && value !== "")
      return !def || def.k === "string" ? { k: "string", v: value, span } : this.envTyped(name.v, value, def, span);
    if (def) return { ...def, span };
    this.diags.error("E0228", { name: name.v }, span, { help: `set it, or give a default: env("${name.v}", "./data")` });
    return { k: "error", span };
  }

  /** An environment variable's text read as the type of env()'s default, written as in a spec. */
  private envTyped(name: string, text: string, def: Extract<Value, { k: "int" | "float" | "bool" | "quantity" }>, span: Span): Value {
    const parsed = parseValue(text, `env ${name}`);
    const lit = parsed.problems.length === 0 ? literalValue(parsed.value) : undefined;
    let v: Value | undefined;
    if (lit) {
      if (def.k === "int" && lit.k === "int") v = lit;
      else if (def.k === "float" && (lit.k === "int" || lit.k === "float")) v = { k: "float", v: lit.v, span };
      else if (def.k === "bool" && lit.k === "bool") v = lit;
      else if (def.k === "quantity" && lit.k === "quantity" && lit.unit === def.unit && (lit.unit !== "steps" || Number.isInteger(lit.v)))
        v = lit;
    }
    if (v) return { ...v, span };
    const want =
      def.k === "int"
        ? "an integer"
        : def.k === "float"
          ? "a number"
          : def.k === "bool"
            ? "`true` or `false`"
            : def.unit === "percent"
              ? "a percentage (`5%`)"
              : def.unit === "steps"
                ? "a whole number of steps (`100 steps`)"
                : "a number of epochs (`2 epochs`)";
    const shown = JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text);
    const bare =
      lit && (lit.k === "int" || lit.k === "float") && def.k === "quantity"
        ? [`write the unit too: ${name}="${lit.v}${def.unit === "percent" ? "%" : " " + def.unit}"`]
        : [];
    this.diags.error("E0705", `environment variable ${name} is ${shown}, which is not ${want}`, span, {
      label: `${name} is read as ${want}`,
      help: [...bare, `the default ${describeValue(def)} gives ${name} its type; set ${name} to ${want}, or unset it to use the default`],
    });
    return { k: "error", span };
  }

  private phaseRef(sym: ValueSym, id: Ident, args: CallArg[] | undefined, span: Span, m: SourceModule): Value {
    sym.used = true;
    const stateEnum = this.preludeEnum("phase_state");
    const statesType: Type = stateEnum
      ? {
          k: "union",
          options: [
            { k: "enum", sym: stateEnum },
            { k: "list", elem: { k: "enum", sym: stateEnum } },
          ],
        }
      : T.any;
    let states: Value = stateEnum
      ? { k: "list", items: [{ k: "enum", sym: stateEnum, member: "model", span: id.span }], span: id.span }
      : { k: "error", span };
    for (const a of args ?? []) {
      if (a.name && a.name.name !== "states") {
        this.diags.error("E0229", { name: a.name.name }, a.name.span, { help: "write `pretrain(states: model)`" });
        continue;
      }
      const v = this.assign(this.eval(a.value, m, statesType), statesType);
      states = v.k === "enum" ? { k: "list", items: [v], span: v.span } : v;
    }
    return { k: "phaseRef", name: sym.name, decl: sym.decl as InstanceDecl, module: sym.module, states, span, nameSpan: id.span };
  }

  private evalBinary(op: "+" | "-" | "*" | "/", le: Expr, re: Expr, span: Span, m: SourceModule): Value {
    const l = this.eval(le, m);
    const r = this.eval(re, m);
    if (l.k === "error" || r.k === "error") return { k: "error", span };
    const textual = (v: Value): v is Extract<Value, { k: "string" | "path" }> => v.k === "string" || v.k === "path";
    if (op === "/" && textual(l)) {
      if (!textual(r)) {
        this.diags.error("E0220", { what: describeValue(r) }, re.span);
        return { k: "error", span };
      }
      const left = l.v.endsWith("/") ? l.v.slice(0, -1) : l.v;
      const right = r.v.startsWith("/") ? r.v.slice(1) : r.v;
      return { k: "path", v: left === "" ? "/" + right : `${left}/${right}`, span };
    }
    if (op === "+" && textual(l) && textual(r)) return { k: l.k === "path" ? "path" : "string", v: l.v + r.v, span };
    const num = (v: Value): v is Extract<Value, { k: "int" | "float" }> => v.k === "int" || v.k === "float";
    if (!num(l) || !num(r)) {
      this.diags.error("E0221", { op, left: describeValue(l), right: describeValue(r) }, span);
      return { k: "error", span };
    }
    if (op === "/") {
      if (r.v === 0) {
        this.diags.error("E0222", {}, re.span);
        return { k: "error", span };
      }
      return { k: "float", v: l.v / r.v, span };
    }
    const v = op === "+" ? l.v + r.v : op === "-" ? l.v - r.v : l.v * r.v;
    if (l.k === "int" && r.k === "int") {
      if (!Number.isSafeInteger(v)) {
        this.diags.error("E0223", {}, span);
        return { k: "error", span };
      }
      return { k: "int", v, span };
    }
    return { k: "float", v, span };
  }

  private evalBatch(items: Extract<Expr, { k: "per" }>[], span: Span, m: SourceModule): Value {
    let global: { v: number; span: Span } | undefined;
    let micro: { v: number; span: Span } | undefined;
    let ok = true;
    for (const it of items) {
      const count = this.assign(this.eval(it.count, m, T.int), {
        k: "refined",
        base: T.int,
        constraints: [{ op: ">=", value: 1, span: it.count.span }],
      });
      if (count.k !== "int") {
        ok = false;
        continue;
      }
      const unit = it.unit.name;
      const slot = unit === "step" || unit === "steps" ? "global" : unit === "micro-batch" || unit === "micro_batch" ? "micro" : undefined;
      if (!slot) {
        const hint = didYouMean(unit, ["step", "micro-batch"]);
        this.diags.error("E0230", { kind: "batch unit", unit }, it.unit.span, {
          help: hint ? `did you mean \`${hint}\`?` : "write `256 per step, 32 per micro-batch`",
        });
        ok = false;
        continue;
      }
      const target = slot === "global" ? global : micro;
      if (target) {
        this.diags.error("E0210", `the ${slot === "global" ? "per-step" : "micro-batch"} size is given twice`, it.span, {
          notes: [{ message: "first given here", span: target.span }],
        });
        ok = false;
        continue;
      }
      if (slot === "global") global = { v: count.v, span: count.span };
      else micro = { v: count.v, span: count.span };
    }
    if (!ok) return { k: "error", span };
    if (!global) {
      this.diags.error("E0232", {}, span, { help: "write `256 per step, 32 per micro-batch`" });
      return { k: "error", span };
    }
    const b: Value = { k: "batch", global: global.v, span, globalSpan: global.span };
    if (micro) {
      b.micro = micro.v;
      b.microSpan = micro.span;
    }
    return b;
  }

  compileRegex(source: string, flags: string, span: Span): RegExp | undefined {
    const bad = flags.replace(/[ims]/g, "");
    if (bad) {
      this.diags.error("E0234", { plural: bad.length > 1 ? "s" : "", flags: bad }, span, {
        help: "the flags Python's `re` shares with JavaScript are i, m and s",
      });
      return undefined;
    }
    try {
      return new RegExp(source, flags);
    } catch (err) {
      this.diags.error("E0206", { reason: (err as Error).message.replace(/^Invalid regular expression: /, "") }, span);
      return undefined;
    }
  }

  // ------------------------------------------------------------------ records

  instantiate(schema: SchemaSym, rec: RecordExpr | undefined, m: SourceModule, base: RecordValue | undefined, span: Span): RecordValue {
    const infos = this.fieldsOf(schema);
    const fields = new Map<string, FieldSlot>();
    if (base) {
      for (const [k, v] of base.fields) fields.set(k, v);
    } else {
      for (const info of infos.values()) {
        const d = this.defaultOf(info);
        if (d !== undefined) fields.set(info.name, { value: d, origin: "default", at: info.decl.span });
      }
    }
    if (rec) this.opts.onUse?.(rec.span, { k: "record", sym: schema });
    const given = new Map<string, Span>();
    for (const f of rec?.fields ?? []) {
      const name = f.name.name;
      const info = infos.get(name);
      if (info) this.opts.onUse?.(f.name.span, { k: "field", info });
      if (!info) {
        const hint = didYouMean(name, infos.keys());
        this.diags.error("E0202", { schema: schema.name, name }, f.name.span, {
          notes: [{ message: `schema \`${schema.name}\` is declared here`, span: schema.decl.name.span }],
          help: hint ? `did you mean \`${hint}\`?` : `its fields are ${[...infos.keys()].map((x) => `\`${x}\``).join(", ")}`,
        });
        this.eval(f.value, m);
        continue;
      }
      const prev = given.get(name);
      if (prev) {
        this.diags.error("E0210", { name }, f.name.span, { notes: [{ message: "first given here", span: prev }] });
        continue;
      }
      given.set(name, f.name.span);
      const raw = this.eval(f.value, m, info.type);
      if (raw.k === "none") {
        if (!info.optional) {
          this.diags.error("E0224", { name }, f.value.span, { notes: [{ message: "the field is declared here", span: info.decl.span }] });
          fields.set(name, { value: { k: "error", span: f.value.span }, origin: "explicit", at: f.span });
          continue;
        }
        fields.set(name, { value: raw, origin: "explicit", at: f.span });
        continue;
      }
      fields.set(name, { value: this.assign(raw, info.type, info), origin: "explicit", at: f.span });
    }
    return { k: "record", schema, fields, span };
  }

  /** Required fields without a value (checked on what a phase actually uses). */
  missingFields(r: RecordValue): FieldInfo[] {
    const out: FieldInfo[] = [];
    for (const info of this.fieldsOf(r.schema).values()) {
      if (!info.optional && !r.fields.has(info.name)) out.push(info);
    }
    return out;
  }
}

/** A literal number, bool or quantity from a parsed environment value (nothing that needs names). */
export function literalValue(e: Expr): Extract<Value, { k: "int" | "float" | "bool" | "quantity" }> | undefined {
  switch (e.k) {
    case "int":
      return { k: "int", v: e.value, span: e.span };
    case "float":
      return { k: "float", v: e.value, span: e.span };
    case "bool":
      return { k: "bool", v: e.value, span: e.span };
    case "percent":
      return { k: "quantity", unit: "percent", v: e.value, span: e.span };
    case "quantity": {
      const unit = UNITS[e.unit.name];
      return unit ? { k: "quantity", unit, v: e.value, span: e.span } : undefined;
    }
    case "neg": {
      const v = literalValue(e.operand);
      return v && (v.k === "int" || v.k === "float") ? { ...v, v: -v.v, span: e.span } : undefined;
    }
    default:
      return undefined;
  }
}

export function named(v: Value, name: string): Value {
  return v.k === "record" ? { ...v, name } : v;
}
