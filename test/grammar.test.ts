// The scanner, parser and CST → AST stage.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prebuiltParse, STDLIB_DIR, STDLIB_PARSES } from "../compiler/modules.js";
import { parse, type Expr } from "../grammar/index.js";
import { locate } from "./helpers.js";

function valueOf(src: string, field = "x"): Expr {
  const m = parse(`let ${field} = ${src}`, "t.llava");
  expect(m.problems).toEqual([]);
  const d = m.module.decls[0]!;
  if (d.kind !== "let") throw new Error("not a let");
  return d.value;
}

describe("grammar: every construct parses to the expected AST", () => {
  it("imports: named, aliased and namespace", () => {
    const r = parse('import { a, b as c, } from "std/vision"\nimport * as lang from "./lang"', "t.llava");
    expect(r.problems).toEqual([]);
    expect(r.module.imports.map((i) => [i.path, i.names.map((n) => [n.name.name, n.alias?.name]), i.namespace?.name])).toEqual([
      [
        "std/vision",
        [
          ["a", undefined],
          ["b", "c"],
        ],
        undefined,
      ],
      ["./lang", [], "lang"],
    ]);
  });

  it("schemas with optional fields, unions, refinements, tuples, lists and defaults", () => {
    const r = parse(
      `schema vit {
  hidden_size: int & >= 1 & <= 8192
  image_size: int | (int, int)
  name?: string & =~ "^[a-z]" = "clip"
  tags: [string] = []
  pattern: regex = /^image_model/
}`,
      "t.llava",
    );
    expect(r.problems).toEqual([]);
    const s = r.module.decls[0]!;
    if (s.kind !== "schema") throw new Error();
    expect(s.fields.map((f) => [f.name.name, f.optional, f.type.k, f.default?.k])).toEqual([
      ["hidden_size", false, "refined", undefined],
      ["image_size", false, "union", undefined],
      ["name", true, "refined", "string"],
      ["tags", false, "list", "list"],
      ["pattern", false, "named", "regex"],
    ]);
  });

  it("enums, type aliases, lets and `<kind> <name> { }` declarations", () => {
    const r = parse("enum mode { patch, cls_patch, }\ntype t = a | b\nlet x = 1\nphase p { model = m }\nvit v = clip { }", "t.llava");
    expect(r.problems).toEqual([]);
    expect(r.module.decls.map((d) => [d.kind, d.name.name])).toEqual([
      ["enum", "mode"],
      ["type", "t"],
      ["let", "x"],
      ["instance", "p"],
      ["instance", "v"],
    ]);
  });

  it("typed literals: int, float, bool, string, regex, percent, none, tuple, list, record", () => {
    expect(valueOf("558_128")).toMatchObject({ k: "int", value: 558128 });
    expect(valueOf("1e-3")).toMatchObject({ k: "float", value: 0.001 });
    expect(valueOf("-2")).toMatchObject({ k: "int", value: -2 });
    expect(valueOf("true")).toMatchObject({ k: "bool", value: true });
    expect(valueOf('"a\\n\\"b\\u{e9}"')).toMatchObject({ k: "string", value: 'a\n"bé' });
    expect(valueOf("/^text_model\\.layers/i")).toMatchObject({ k: "regex", pattern: "^text_model\\.layers", flags: "i" });
    expect(valueOf("3%")).toMatchObject({ k: "percent", value: 3 });
    expect(valueOf("none")).toMatchObject({ k: "none" });
    expect(valueOf("(0.9, 0.999)")).toMatchObject({ k: "tuple", items: [{ value: 0.9 }, { value: 0.999 }] });
    expect(valueOf("(1)")).toMatchObject({ k: "int", value: 1 });
    expect(valueOf("[1, 2,]")).toMatchObject({ k: "list", items: [{ value: 1 }, { value: 2 }] });
    expect(valueOf("{ a: 1, b = 2 }")).toMatchObject({ k: "record", fields: [{ name: { name: "a" } }, { name: { name: "b" } }] });
  });

  it("quantities with units, and batch rates", () => {
    expect(valueOf("66 steps")).toMatchObject({ k: "quantity", value: 66, unit: { name: "steps" } });
    expect(valueOf("1 epoch")).toMatchObject({ k: "quantity", value: 1, unit: { name: "epoch" } });
    expect(valueOf("256 per step, 22 per micro-batch")).toMatchObject({
      k: "perList",
      items: [
        { count: { value: 256 }, unit: { name: "step" } },
        { count: { value: 22 }, unit: { name: "micro-batch" } },
      ],
    });
  });

  it("a unit word only belongs to a number on the same line (the next line's field is not a unit)", () => {
    const r = parse("let x = warmup_cosine {\n  lr: 1e-3\n  epochs: 1\n}", "t.llava");
    const d = r.module.decls[0]!;
    expect(d.kind === "let" && d.value.k === "override" ? d.value.record.fields.map((f) => [f.name.name, f.value.k]) : []).toEqual([
      ["lr", "float"],
      ["epochs", "int"],
    ]);
    expect(r.problems).toEqual([]);
  });

  it("references, members, overrides, calls, path joins and arithmetic", () => {
    expect(valueOf("clip { select: patch }")).toMatchObject({
      k: "override",
      base: { k: "ref" },
      record: { fields: [{ name: { name: "select" } }] },
    });
    expect(valueOf("std.vision.clip")).toMatchObject({
      k: "member",
      name: { name: "clip" },
      object: { k: "member", name: { name: "vision" } },
    });
    expect(valueOf('env("D", "./data") / "images"')).toMatchObject({
      k: "binary",
      op: "/",
      left: { k: "call", args: [{}, {}] },
      right: { k: "string" },
    });
    expect(valueOf("pretrain(states: model)")).toMatchObject({ k: "call", args: [{ name: { name: "states" }, value: { k: "ref" } }] });
    expect(valueOf("2048 - 576 - 1")).toMatchObject({ k: "binary", op: "-", left: { k: "binary", op: "-" } });
    expect(valueOf("1 + 2 * 3")).toMatchObject({ k: "binary", op: "+", right: { k: "binary", op: "*" } });
  });

  it("`/` after an operand divides; in operand position it starts a regex", () => {
    expect(valueOf("a / b")).toMatchObject({ k: "binary", op: "/" });
    expect(valueOf("[/a/, /b\\/c/]")).toMatchObject({
      k: "list",
      items: [
        { k: "regex", pattern: "a" },
        { k: "regex", pattern: "b\\/c" },
      ],
    });
  });

  it("keywords can still name fields", () => {
    const r = parse("phase p { from = a, as = 1, per = 2, type = 3 }", "t.llava");
    expect(r.problems).toEqual([]);
  });

  it("spans are 1-based line/column and cover the token", () => {
    const src = 'let x = 1\nlet y = "hello"';
    const r = parse(src, "t.llava");
    const y = r.module.decls[1]!;
    if (y.kind !== "let") throw new Error();
    expect({ line: y.value.span.line, col: y.value.span.col, end: y.value.span.endCol }).toEqual({ ...locate(src, '"hello"'), end: 16 });
  });
});

describe("grammar: syntax errors are all reported, with their locations", () => {
  it("reports several syntax errors in one run (parser error recovery)", () => {
    const src = `model m {
  vision = clip
  projector = = mlp
}
phase p {
  batch = 256 per step 22
  lr: 1e-3
}
let z = [1, 2
let w = 3
`;
    const r = parse(src, "t.llava");
    const parse_ = r.problems.filter((p) => p.kind === "parse");
    expect(parse_.length).toBeGreaterThanOrEqual(3);
    const lines = new Set(parse_.map((p) => p.span.line));
    expect(lines.has(3)).toBe(true); // `= =`
    expect(lines.has(6)).toBe(true); // `22` with no unit or comma
    expect([...lines].some((l) => l >= 9)).toBe(true); // unclosed list
    // The declaration after the errors is still parsed.
    expect(r.module.decls.map((d) => d.name.name)).toContain("w");
  });

  it("points at the unexpected token with a readable message", () => {
    const src = "let x = 1\nphase p { model = }\n";
    const r = parse(src, "t.llava");
    expect(r.problems[0]).toMatchObject({
      kind: "parse",
      message: "expected a value, found `}`",
      span: { ...locate(src, "}"), file: "t.llava" },
    });
  });

  it("unknown characters are lexing errors at their position", () => {
    const src = "let x = 1\nlet y = @@ 2\n";
    const r = parse(src, "t.llava");
    expect(r.problems.find((p) => p.kind === "lex")).toMatchObject({ message: "unexpected characters `@@`", span: locate(src, "@@") });
  });

  it("an unterminated string is reported where it starts", () => {
    const src = 'let x = "abc\nlet y = 1\n';
    const r = parse(src, "t.llava");
    expect(r.problems.find((p) => /unterminated/.test(p.message))).toMatchObject({ span: locate(src, '"abc') });
  });

  it("an error at the end of the file points just after the last token", () => {
    const src = "model m {\n  vision = clip";
    const r = parse(src, "t.llava");
    expect(r.problems.length).toBeGreaterThan(0);
    const last = r.problems[r.problems.length - 1]!;
    expect(last.span.start).toBeLessThanOrEqual(src.length);
    expect(last.message).toMatch(/end of file|`}`/);
  });
});

describe("the standard library's parses made by the build", () => {
  // npm test builds first; a checkout without dist/ has nothing to compare.
  it.skipIf(!existsSync(STDLIB_PARSES))("are each module's parse, with its real path, and only for the text they were made from", () => {
    const files = readdirSync(STDLIB_DIR).filter((f) => f.endsWith(".llava"));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const file = path.join(STDLIB_DIR, f);
      const text = readFileSync(file, "utf8");
      expect(prebuiltParse(text, file), `${f} (dist/ older than stdlib/? \`npm run build\`)`).toStrictEqual(parse(text, file));
      expect(prebuiltParse(`${text}\n`, file), `${f} edited`).toBeUndefined();
    }
  });
});
