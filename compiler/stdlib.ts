// The standard library as data: its schemas, enums and declared values, compiled once per process, for
// the parts of llavac that need its facts without a spec (the importer's model bases, enum and pair
// fields and templates; the test that holds the IR types to the schemas). Reading them here keeps
// std/*.llava their one home instead of tables copied into TypeScript.
import { readdirSync } from "node:fs";
import path from "node:path";
import { Checker } from "./checker.js";
import { DiagnosticBag } from "./diagnostics.js";
import { Lowerer } from "./lower.js";
import { ModuleGraph, STDLIB_DIR, type SourceModule } from "./modules.js";
import type { EnumSym, FieldInfo, RecordValue, SchemaSym, Type, Value } from "./types.js";

export interface StdValue {
  /** The declaration's name (`vicuna_7b_v1_5`). */
  name: string;
  /** `std/language`. */
  module: string;
  value: Value;
}

export interface StdInstance extends StdValue {
  value: RecordValue;
  /** The value as IR-shaped plain data (fields left open in the library are absent). */
  plain: Record<string, unknown>;
}

export interface Stdlib {
  checker: Checker;
  /** Every schema, by name (names are unique across the library). */
  schemas: Map<string, SchemaSym>;
  enums: Map<string, EnumSym>;
  /** Every `let` and instance declaration, in module then declaration order. */
  values: StdValue[];
  /** The schema's fields (their types, optionality and defaults through `checker.defaultOf`). */
  fields(schema: string): Map<string, FieldInfo>;
  /** The library's record values of one schema (`llama` → vicuna_7b_v1_5, …), in declaration order. */
  instances(schema: string): StdInstance[];
  /** The type of `schema.field`, or undefined when there is no such field. */
  fieldType(schema: string, field: string): Type | undefined;
}

let cached: Stdlib | undefined;

/** Compile every module of std/ (throws if the library itself has errors: that is a bug in llavac). */
export function stdlib(): Stdlib {
  if (cached) return cached;
  const diags = new DiagnosticBag();
  const graph = new ModuleGraph(diags);
  const files = readdirSync(STDLIB_DIR)
    .filter((f) => f.endsWith(".llava"))
    .sort();
  // std/core first: it imports the others, so their order below follows the prelude's.
  graph.loadPrelude();
  for (const f of files) graph.load(path.join(STDLIB_DIR, f));
  const checker = new Checker(graph, diags, { env: {} });
  checker.bind();
  const schemas = new Map<string, SchemaSym>(),
    enums = new Map<string, EnumSym>();
  const values: StdValue[] = [];
  const byModule = [...graph.modules.values()].filter((m) => m.isStd).sort((a, b) => a.display.localeCompare(b.display));
  for (const m of byModule) {
    for (const sym of checker.localsOf(m).values()) {
      if (sym.k === "schema") {
        schemas.set(sym.name, sym);
        checker.fieldsOf(sym);
      } else if (sym.k === "enum") enums.set(sym.name, sym);
      else if (sym.k === "value")
        values.push({ name: sym.name, module: moduleName(m), value: checker.valueOfSym(sym, sym.decl.name.span) });
    }
  }
  if (diags.errorCount > 0)
    throw new Error(
      `the standard library does not compile: ${diags
        .sorted()
        .map((d) => `${d.code} ${d.message}`)
        .join("; ")}`,
    );
  const lowerer = new Lowerer(checker, new DiagnosticBag());
  const instances = new Map<string, StdInstance[]>();
  for (const v of values) {
    if (v.value.k !== "record") continue;
    const list = instances.get(v.value.schema.name) ?? [];
    list.push({ ...v, value: v.value, plain: lowerer.plain(v.value, "", new Map(), v.value.span, "default") as Record<string, unknown> });
    instances.set(v.value.schema.name, list);
  }
  const fields = (schema: string) => {
    const s = schemas.get(schema);
    if (!s) throw new Error(`the standard library has no schema \`${schema}\``);
    return checker.fieldsOf(s);
  };
  cached = {
    checker,
    schemas,
    enums,
    values,
    fields,
    instances: (schema) => instances.get(schema) ?? [],
    fieldType: (schema, field) => (schemas.has(schema) ? fields(schema).get(field)?.type : undefined),
  };
  return cached;
}

function moduleName(m: SourceModule): string {
  return m.display.replace(/\.llava$/, "");
}
