// Types and values of the checker. A value remembers the span it was written at, so every later
// diagnostic and every emitted YAML key can point back at the spec.
import type { ConstraintNode, EnumDecl, InstanceDecl, LetDecl, SchemaDecl, SchemaField, Span, TypeDecl } from "../grammar/ast.js";
import type { SourceModule } from "./modules.js";

export type Unit = "steps" | "epochs" | "percent";
export type Prim = "int" | "float" | "bool" | "string" | "path" | "regex" | "any" | "batch" | "phase_start";

export interface FieldInfo {
  name: string;
  type: Type;
  optional: boolean;
  decl: SchemaField;
  schema: SchemaSym;
  /** Memoised default value: undefined = not computed yet, null = no default. */
  defaultValue?: Value | null;
}

export interface SchemaSym {
  k: "schema";
  name: string;
  decl: SchemaDecl;
  module: SourceModule;
  fields?: Map<string, FieldInfo>;
}

export interface EnumSym {
  k: "enum";
  name: string;
  decl: EnumDecl;
  module: SourceModule;
  members: string[];
}

export interface TypeAliasSym {
  k: "alias";
  name: string;
  decl: TypeDecl;
  module: SourceModule;
  resolved?: Type;
  resolving?: boolean;
}

export interface ValueSym {
  k: "value";
  name: string;
  decl: LetDecl | InstanceDecl;
  module: SourceModule;
  state: "pending" | "evaluating" | "done";
  value?: Value;
  used?: boolean;
}

export interface NamespaceSym {
  k: "namespace";
  name: string;
  target: SourceModule;
}

export interface BuiltinSym {
  k: "builtin";
  name: "env";
}

export type Sym = SchemaSym | EnumSym | TypeAliasSym | ValueSym | NamespaceSym | BuiltinSym;

export type Type =
  | { k: "prim"; name: Prim }
  | { k: "quantity"; unit: Unit }
  | { k: "list"; elem: Type }
  | { k: "tuple"; elems: Type[] }
  | { k: "union"; options: Type[] }
  | { k: "refined"; base: Type; constraints: ConstraintNode[] }
  | { k: "enum"; sym: EnumSym }
  | { k: "schema"; sym: SchemaSym }
  | { k: "literal"; value: string }
  | { k: "error" };

export interface FieldSlot {
  value: Value;
  origin: "explicit" | "default";
  /** Where the field got its value: the record field in a spec, or the schema field for a default. */
  at: Span;
}

export type Value =
  | { k: "int"; v: number; span: Span }
  | { k: "float"; v: number; span: Span }
  | { k: "bool"; v: boolean; span: Span }
  | { k: "string"; v: string; span: Span }
  | { k: "path"; v: string; span: Span }
  | { k: "regex"; source: string; flags: string; span: Span }
  | { k: "quantity"; unit: Unit; v: number; span: Span }
  | { k: "list"; items: Value[]; span: Span }
  | { k: "tuple"; items: Value[]; span: Span }
  | { k: "enum"; sym: EnumSym; member: string; span: Span }
  | { k: "record"; schema: SchemaSym; fields: Map<string, FieldSlot>; name?: string; span: Span }
  | { k: "none"; span: Span }
  | { k: "batch"; global: number; micro?: number; span: Span; globalSpan: Span; microSpan?: Span }
  | { k: "phaseRef"; name: string; decl: InstanceDecl; module: SourceModule; states: Value; span: Span; nameSpan: Span }
  | { k: "schemaRef"; sym: SchemaSym; span: Span }
  | { k: "enumRef"; sym: EnumSym; span: Span }
  | { k: "namespace"; target: SourceModule; span: Span }
  | { k: "builtin"; name: "env"; span: Span }
  | { k: "error"; span: Span };

export type RecordValue = Extract<Value, { k: "record" }>;

export const T = {
  int: { k: "prim", name: "int" } as Type,
  float: { k: "prim", name: "float" } as Type,
  bool: { k: "prim", name: "bool" } as Type,
  string: { k: "prim", name: "string" } as Type,
  path: { k: "prim", name: "path" } as Type,
  regex: { k: "prim", name: "regex" } as Type,
  any: { k: "prim", name: "any" } as Type,
  batch: { k: "prim", name: "batch" } as Type,
  phaseStart: { k: "prim", name: "phase_start" } as Type,
  error: { k: "error" } as Type,
};

export const PRIMITIVE_TYPES: Record<string, Type> = {
  int: T.int,
  float: T.float,
  bool: T.bool,
  string: T.string,
  path: T.path,
  regex: T.regex,
  any: T.any,
  batch: T.batch,
  phase_start: T.phaseStart,
  steps: { k: "quantity", unit: "steps" },
  epochs: { k: "quantity", unit: "epochs" },
  percent: { k: "quantity", unit: "percent" },
};

export function typeToString(t: Type): string {
  switch (t.k) {
    case "prim":
      return t.name;
    case "quantity":
      return t.unit;
    case "list":
      return `[${typeToString(t.elem)}]`;
    case "tuple":
      return `(${t.elems.map(typeToString).join(", ")})`;
    case "union":
      return t.options.map(typeToString).join(" | ");
    case "refined":
      return (
        typeToString(t.base) +
        t.constraints.map((c) => ` & ${c.op} ${typeof c.value === "string" ? JSON.stringify(c.value) : c.value}`).join("")
      );
    case "enum":
      return t.sym.name;
    case "schema":
      return t.sym.name;
    case "literal":
      return JSON.stringify(t.value);
    case "error":
      return "?";
  }
}

/** What a value is, in words, for "expected X, found Y". */
export function describeValue(v: Value): string {
  switch (v.k) {
    case "int":
      return `int \`${v.v}\``;
    case "float":
      return `float \`${v.v}\``;
    case "bool":
      return `bool \`${v.v}\``;
    case "string":
      return `string ${JSON.stringify(v.v.length > 40 ? v.v.slice(0, 40) + "…" : v.v)}`;
    case "path":
      return `path ${JSON.stringify(v.v)}`;
    case "regex":
      return `regex /${v.source}/`;
    case "quantity":
      return v.unit === "percent" ? `percentage \`${v.v}%\`` : `\`${v.v} ${v.unit}\``;
    case "list":
      return `a list of ${v.items.length}`;
    case "tuple":
      return `a tuple of ${v.items.length}`;
    case "enum":
      return `\`${v.member}\` (${v.sym.name})`;
    case "record":
      return v.name ? `\`${v.name}\` (${v.schema.name})` : `a ${v.schema.name}`;
    case "none":
      return "`none`";
    case "batch":
      return "a batch";
    case "phaseRef":
      return `phase \`${v.name}\``;
    case "schemaRef":
      return `schema \`${v.sym.name}\``;
    case "enumRef":
      return `enum \`${v.sym.name}\``;
    case "namespace":
      return "a module";
    case "builtin":
      return `function \`${v.name}\``;
    case "error":
      return "an invalid value";
  }
}

/** Strip refinements and look through single-option unions. */
export function baseOf(t: Type): Type {
  return t.k === "refined" ? baseOf(t.base) : t;
}

/** Every schema a type admits (for record literals and overrides). */
export function schemasIn(t: Type): SchemaSym[] {
  const b = baseOf(t);
  if (b.k === "schema") return [b.sym];
  if (b.k === "union") return b.options.flatMap(schemasIn);
  return [];
}

export function enumsIn(t: Type): EnumSym[] {
  const b = baseOf(t);
  if (b.k === "enum") return [b.sym];
  if (b.k === "union") return b.options.flatMap(enumsIn);
  if (b.k === "list") return enumsIn(b.elem);
  return [];
}
