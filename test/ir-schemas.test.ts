// The IR's TypeScript types (compiler/ir.ts) and the standard library's schemas (stdlib/*.llava) say the
// same thing: every schema maps to one IR type, every schema field is a property of it with a compatible
// type and the same optionality, and every IR property comes from a schema field. The TypeScript side is
// read with the TypeScript compiler itself, so a field added on one side only fails here.
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { stdlib } from "../compiler/stdlib.js";
import { baseOf, typeToString, type Type } from "../compiler/types.js";
import { ROOT } from "./helpers.js";

/** Each stdlib schema → the IR type lowering turns its records into. */
const IR_OF: Record<string, string> = {
  vit: "VitIR",
  tokenizer: "TokenizerIR",
  llama: "LlamaIR",
  model: "ModelIR",
  linear_projector: 'Extract<ProjectorIR, { $schema: "linear_projector" }>',
  mlp_projector: 'Extract<ProjectorIR, { $schema: "mlp_projector" }>',
  template: "TemplateIR",
  dataset: "DatasetIR",
  hdf5_writer: "HdfWriterIR",
  phase: "PhaseIR",
  cerebras: "CerebrasTargetIR",
  gpus: "GpusTargetIR",
  gpu_phase: "GpuPhaseIR",
  warmup_cosine: 'Extract<ScheduleIR, { $schema: "warmup_cosine" }>',
  constant_lr: 'Extract<ScheduleIR, { $schema: "constant_lr" }>',
  adamw: 'PhaseIR["optimizer"]',
  loader: 'PhaseIR["loader"]',
  run: 'PhaseIR["run"]',
  eval_input: 'NonNullable<PhaseIR["eval"]>',
  expand_to_square: 'Extract<TransformIR, { $schema: "expand_to_square" }>',
  resize: 'Extract<TransformIR, { $schema: "resize" }>',
  center_crop: 'Extract<TransformIR, { $schema: "center_crop" }>',
  to_tensor: 'Extract<TransformIR, { $schema: "to_tensor" }>',
  normalize: 'Extract<TransformIR, { $schema: "normalize" }>',
  llama3_rope_scaling: 'NonNullable<LlamaIR["rope_scaling"]>',
};

/** A program over compiler/ir.ts plus one file naming each mapped type, read with the type checker. */
function irTypes(): { checker: ts.TypeChecker; types: Map<string, ts.Type> } {
  const probe = path.join(ROOT, "compiler", "__ir_probe.ts");
  const names = Object.keys(IR_OF);
  const text =
    `import type { CerebrasTargetIR, GpuPhaseIR, GpusTargetIR, DatasetIR, HdfWriterIR, LlamaIR, ModelIR, PhaseIR, ProjectorIR, ScheduleIR, TemplateIR, TokenizerIR, TransformIR, VitIR } from "./ir.js";\n` +
    names.map((n) => `export type T_${n} = ${IR_OF[n]};`).join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, lang, ...rest) =>
    path.resolve(file) === probe ? ts.createSourceFile(file, text, lang) : getSourceFile(file, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => path.resolve(file) === probe || fileExists(file);
  const program = ts.createProgram([probe], options, host);
  const errors = ts.getPreEmitDiagnostics(program, program.getSourceFile(probe));
  if (errors.length) throw new Error(errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, "\n")).join("\n"));
  const checker = program.getTypeChecker();
  const types = new Map<string, ts.Type>();
  const file = program.getSourceFile(probe)!;
  for (const sym of checker.getExportsOfModule(checker.getSymbolAtLocation(file)!))
    types.set(sym.name.slice(2), checker.getDeclaredTypeOfSymbol(sym));
  return { checker, types };
}

describe("the IR types and the stdlib schemas have one shape", () => {
  const lib = stdlib();
  const { checker, types } = irTypes();
  const irOfSchema = (name: string) => types.get(name);
  const options = (t: ts.Type): ts.Type[] => (t.isUnion() ? t.types : [t]);
  const stringLiterals = (t: ts.Type): string[] | undefined => {
    const opts = options(t).filter((o) => !(o.flags & ts.TypeFlags.Undefined));
    return opts.every((o) => o.isStringLiteral()) ? opts.map((o) => (o as ts.StringLiteralType).value).sort() : undefined;
  };
  const prop = (t: ts.Type, name: string) => t.getProperty(name);
  const propType = (t: ts.Type, name: string) => {
    const p = prop(t, name);
    return p ? checker.getNonNullableType(checker.getTypeOfSymbol(p)) : undefined;
  };

  /** Whether a TypeScript type can hold every value lowering produces for a schema type; why not, if not. */
  function compatible(t: Type, x: ts.Type): string | undefined {
    const b = baseOf(t);
    const is = (flag: ts.TypeFlags) => options(x).every((o) => (o.flags & flag) !== 0);
    switch (b.k) {
      case "prim":
        switch (b.name) {
          case "int":
          case "float":
            return is(ts.TypeFlags.NumberLike) ? undefined : "not a number";
          case "bool":
            return is(ts.TypeFlags.BooleanLike) ? undefined : "not a boolean";
          case "string":
          case "path":
            return is(ts.TypeFlags.StringLike) ? undefined : "not a string";
          case "regex":
            return prop(x, "source") && prop(x, "flags") ? undefined : "not a RegexIR";
          case "batch":
            return prop(x, "global") ? undefined : "not a batch";
          case "phase_start":
            return prop(x, "phase") && prop(x, "states") ? undefined : "not a phase start";
          case "any":
            return undefined;
        }
        return "unknown primitive";
      case "quantity":
        return prop(x, "unit") && prop(x, "value") ? undefined : "not a Quantity";
      case "enum": {
        if (!is(ts.TypeFlags.StringLike)) return "not a string";
        const lits = stringLiterals(x);
        return !lits || JSON.stringify(lits) === JSON.stringify([...b.sym.members].sort())
          ? undefined
          : `members ${lits.join("|")} ≠ enum ${b.sym.name} { ${b.sym.members.join(", ")} }`;
      }
      case "literal":
        return options(x).some((o) => (o.isStringLiteral() ? o.value === b.value : (o.flags & ts.TypeFlags.String) !== 0))
          ? undefined
          : `no "${b.value}"`;
      case "list":
        if (!checker.isArrayType(x)) return "not an array";
        return compatible(b.elem, checker.getTypeArguments(x as ts.TypeReference)[0]!);
      case "tuple": {
        const tuple = options(x).find((o) => checker.isTupleType(o));
        if (!tuple) return "not a tuple";
        const elems = checker.getTypeArguments(tuple as ts.TypeReference);
        if (elems.length !== b.elems.length) return `a ${elems.length}-tuple, not a ${b.elems.length}-tuple`;
        return b.elems.map((e, i) => compatible(e, elems[i]!)).find((r) => r !== undefined);
      }
      case "schema": {
        const ir = irOfSchema(b.sym.name);
        if (!ir) return `schema ${b.sym.name} has no IR type`;
        return checker.isTypeAssignableTo(ir, x) ? undefined : `${checker.typeToString(ir)} is not assignable to it`;
      }
      case "union": {
        // Each option must fit the whole type or one of its members (`int | (int, int)` → number | [number, number]).
        // The one normalisation lowering does: `dataset | [dataset]` becomes a list.
        for (const o of b.options) {
          const fits =
            compatible(o, x) === undefined ||
            options(x).some((m) => compatible(o, m) === undefined) ||
            (checker.isArrayType(x) && compatible(o, checker.getTypeArguments(x as ts.TypeReference)[0]!) === undefined);
          if (!fits) return `option ${typeToString(o)} does not fit`;
        }
        return undefined;
      }
      default:
        return `cannot compare ${typeToString(t)}`;
    }
  }

  it("every stdlib schema has an IR type, and every mapped name is a stdlib schema", () => {
    expect([...lib.schemas.keys()].sort()).toEqual(Object.keys(IR_OF).sort());
  });

  it.each(Object.keys(IR_OF))("%s: fields ↔ IR properties, types and optionality", (name) => {
    const ir = types.get(name)!;
    const fields = lib.fields(name);
    const problems: string[] = [];
    for (const [field, info] of fields) {
      const p = prop(ir, field);
      if (!p) {
        problems.push(`${name}.${field} is not in ${IR_OF[name]}`);
        continue;
      }
      const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
      if (optional !== info.optional)
        problems.push(
          `${name}.${field}: ${info.optional ? "optional" : "required"} in the schema, ${optional ? "optional" : "required"} in the IR`,
        );
      const why = compatible(info.type, propType(ir, field)!);
      if (why) problems.push(`${name}.${field}: ${typeToString(info.type)} vs ${checker.typeToString(checker.getTypeOfSymbol(p))}: ${why}`);
    }
    for (const p of ir.getProperties()) {
      if (p.name === "$name") continue;
      if (p.name === "$schema") {
        const lits = stringLiterals(propType(ir, "$schema")!);
        if (JSON.stringify(lits) !== JSON.stringify([name])) problems.push(`${IR_OF[name]}.$schema is ${lits?.join("|")}, not "${name}"`);
        continue;
      }
      if (!fields.has(p.name)) problems.push(`${IR_OF[name]}.${p.name} comes from no field of schema ${name}`);
    }
    expect(problems).toEqual([]);
  });

  it("the comparison fails on a mismatch (a field the IR lacks, a wrong type, wrong optionality)", () => {
    const vit = types.get("vit")!;
    const f = lib.fields("vit");
    expect(compatible(f.get("hidden_size")!.type, propType(vit, "select")!)).toBe("not a number");
    expect(compatible(f.get("select")!.type, propType(types.get("llama")!, "norm_type")!)).toMatch(/≠ enum select_mode/);
    expect(compatible(f.get("image_size")!.type, propType(vit, "hidden_size")!)).toMatch(/does not fit/);
    expect(prop(vit, "tokenizer")).toBeUndefined();
  });

  it("stdlib defaults that TypeScript relies on are the stdlib's (the default cerebras target comes from std/core)", async () => {
    // The lowerer builds the target of a spec without `cerebras` from std/core's schema, not a copy.
    const { check } = await import("./helpers.js");
    const { TINY } = await import("./helpers.js");
    const r = await check(TINY);
    const t = r.result.program!.target as unknown as Record<string, unknown>;
    for (const [field, info] of lib.fields("cerebras")) {
      const d = lib.checker.defaultOf(info);
      if (d === undefined || d.k === "none") expect(t[field], field).toBeUndefined();
      else expect(t[field], field).toEqual(d.k === "list" ? d.items.map((i) => (i as { v: unknown }).v) : (d as { v: unknown }).v);
    }
  });
});
