// The front end under hostile input: deep nesting, huge literals and files, files that are not files,
// unterminated comments and strings, a missing `}`, and import hints. Each case is one clear diagnostic,
// never a crash, a hang or a cascade.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../compiler/compile.js";
import { STDLIB_DIR } from "../compiler/modules.js";
import { MAX_EXPR_DEPTH, MAX_NESTING } from "../grammar/guard.js";
import { parse } from "../grammar/index.js";
import { check, locate, pos, ROOT, TINY } from "./helpers.js";

const MiB = 1024 * 1024;
/** Diagnostics other than "this spec declares no phase" (the snippets below declare none on purpose). */
const real = (codes: string[]) => codes.filter((c) => c !== "E0409");

describe("deep nesting is one diagnostic at the opening bracket, at any depth", () => {
  const shapes: [string, (n: number) => string, string][] = [
    ["lists", (n) => `let x = ${"[".repeat(n)}1${"]".repeat(n)}\n`, "["],
    ["parentheses", (n) => `let x = ${"(".repeat(n)}1${")".repeat(n)}\n`, "("],
    ["records", (n) => `let x = ${"adamw { lr: ".repeat(n)}1${" }".repeat(n)}\n`, "{"],
    ["list types", (n) => `let x: ${"[".repeat(n)}int${"]".repeat(n)} = 1\n`, "["],
    ["calls", (n) => `let x = env${"(".repeat(n)}"A"${")".repeat(n)}\n`, "("],
    ["unclosed lists", (n) => `let x = ${"[".repeat(n)}\n`, "["],
  ];
  for (const [what, make, bracket] of shapes) {
    for (const n of [300, 10_000]) {
      it(`${n} levels of ${what}`, async () => {
        const text = make(n);
        const c = await check(text);
        const deep = c.errors.filter((d) => d.code === "E0004");
        expect(deep, c.codes.join(" ")).toHaveLength(1);
        // At the first bracket past the limit.
        const first = text.indexOf(bracket);
        let at = first,
          count = 0;
        for (let i = first; i < text.length && count <= MAX_NESTING; i++)
          if (text[i] === bracket) {
            count++;
            at = i;
          }
        expect(deep[0]!.span.start).toBe(at);
        expect(deep[0]!.notes[0]?.span?.start).toBe(first);
      });
    }
  }

  for (const n of [300, 10_000]) {
    it(`chains of ${n}: paths, members, sums, signs`, async () => {
      for (const text of [
        `let x = ${Array(n).fill('"a"').join(" / ")}\n`,
        `let x = a${".b".repeat(n)}\n`,
        `let x = ${Array(n).fill("1").join(" + ")}\n`,
        `let x = ${"-".repeat(n)}1\n`,
      ]) {
        const c = await check(text);
        expect(real(c.codes), text.slice(0, 40)).toEqual(["E0004"]);
        expect(c.one("E0004").span.start).toBe(text.startsWith("let x = -") ? 8 + MAX_NESTING : 8);
      }
    });
  }

  it("a chain just under the limit still evaluates", async () => {
    const c = await check(
      `let x: int = ${Array(MAX_EXPR_DEPTH - 2)
        .fill("1")
        .join(" + ")}\n`,
    );
    expect(real(c.codes)).toEqual([]);
  });

  it("10,000 declarations that each name the next, and aliases of aliases: E0007, once", async () => {
    const n = 10_000;
    const lets = Array.from({ length: n }, (_, i) => `let x${i} = x${i + 1}\n`).join("") + `let x${n} = 1\n`;
    const types = Array.from({ length: n }, (_, i) => `type t${i} = t${i + 1}\n`).join("") + `type t${n} = int\nlet q: t0 = 1\n`;
    for (const text of [lets, types]) {
      const c = await check(text);
      expect(real(c.codes)).toEqual(["E0007"]);
    }
  });
});

describe("long literals and large files", () => {
  it("a 10 MiB string literal and 10 MiB comments are read", async () => {
    for (const text of [
      `let x = "${"a".repeat(10 * MiB)}"\n`,
      `/* ${"a".repeat(10 * MiB)} */\nlet x = 1\n`,
      `// ${"a".repeat(10 * MiB)}\nlet x = 1\n`,
    ]) {
      const c = await check(text);
      expect(real(c.codes)).toEqual([]);
    }
    const escapes = parse(`let x = "${"\\n".repeat(2 * MiB)}"\n`, "x.llava");
    expect(escapes.problems).toEqual([]);
    expect(escapes.module.decls[0]).toMatchObject({ kind: "let", value: { k: "string" } });
  });

  it("a 10 MiB number is E0003, and its message quotes only its first digits", async () => {
    const c = await check(`let x = ${"1".repeat(10 * MiB)}\n`);
    expect(real(c.codes)).toEqual(["E0003"]);
    expect(c.one("E0003").message.length).toBeLessThan(120);
  });

  it("a file of millions of tokens is refused whole (E0008), without a follow-on error", async () => {
    for (const text of [`let x = [${"1,".repeat(5 * MiB)}]\n`, "{".repeat(10 * MiB), `let x = [${"1,".repeat(150_000)}]\n`]) {
      const c = await check(text);
      expect(c.codes).toEqual(["E0008"]);
    }
  });
});

describe("imports of things that are not source files", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "llavac-kinds-"));
  const canFifo = process.platform !== "win32";
  if (canFifo) execFileSync("mkfifo", [path.join(dir, "pipe.llava")]);
  mkdirSync(path.join(dir, "folder.llava"));
  if (canFifo) symlinkSync("/dev/zero", path.join(dir, "zero.llava"));
  writeFileSync(path.join(dir, "huge.llava"), "");
  truncateSync(path.join(dir, "huge.llava"), 17 * MiB);

  it("a FIFO, a folder, a device and a 17 MiB file: E0106 each, at the import's path", async () => {
    const kinds = [
      ...(canFifo
        ? ([
            ["pipe", /named pipe/],
            ["zero", /device/],
          ] as const)
        : []),
      ["folder", /folder/],
      ["huge", /MiB/],
    ] as const;
    const text = kinds.map(([k]) => `import { a } from "./${k}"\n`).join("");
    const root = path.join(dir, "root.llava");
    writeFileSync(root, text);
    const r = await compile(root, { cwd: dir, env: {} });
    const found = r.diags.sorted().filter((d) => d.code !== "E0409");
    expect(found.map((d) => d.code)).toEqual(kinds.map(() => "E0106"));
    kinds.forEach(([k, why], i) => {
      expect(found[i]!.message).toMatch(why);
      expect(pos(found[i]!)).toEqual(locate(text, `"./${k}"`));
    });
  });

  it("the same files as the root spec: unreadable, with the reason", async () => {
    for (const [name, why] of [
      ...(canFifo
        ? ([
            ["pipe.llava", /named pipe/],
            ["zero.llava", /device/],
          ] as const)
        : []),
      ["folder.llava", /folder/],
      ["huge.llava", /MiB/],
    ] as const) {
      const r = await compile(path.join(dir, name), { cwd: dir, env: {} });
      expect(r.readable).toBe(false);
      expect(r.unreadable).toMatch(why);
    }
  });
});

describe("recovery names the mistake once, where it starts", () => {
  it("an unterminated /* is E0005 at the /*, and nothing else", async () => {
    const text = "let x = 1\nlet y = 2 /* the rest\nlet z = 3\n";
    const c = await check(text);
    expect(real(c.codes)).toEqual(["E0005"]);
    expect(pos(c.one("E0005"))).toEqual(locate(text, "/*"));
  });

  it("an unterminated string is E0003 at its opening quote, in any position, without a cascade", async () => {
    for (const text of ['let x = "abc\nlet y = 2\n', 'import { tiny_vit } from "std/vision\nlet y = 2\n']) {
      const c = await check(text);
      expect(real(c.codes), text).toEqual(["E0003"]);
      expect(c.one("E0003").message).toMatch(/unterminated string/);
      expect(pos(c.one("E0003"))).toEqual(locate(text, '"'));
    }
  });

  it("a missing `}` is one E0006 where the `}` is needed, with a note at the `{`", async () => {
    const cases = [
      {
        find: "  schedule  = warmup_cosine { length: 2 epochs, warmup: 10% }\n}\n",
        cut: "}\n",
        open: "phase align {",
        after: "warmup: 10% }",
      },
      { find: "  language  = tiny_llama\n}\n", cut: "}\n", open: "model tiny {", after: "tiny_llama" },
    ];
    for (const k of cases) {
      const text = TINY.replace(k.find, k.find.slice(0, -k.cut.length));
      const c = await check(text, { dirs: ["images", "h5/align", "h5/tune", "jsonl"] });
      expect(c.errors.map((d) => d.code)).toEqual(["E0006"]);
      const d = c.one("E0006");
      const after = locate(text, k.after, k.open);
      expect(pos(d)).toEqual({ line: after.line, col: after.col + k.after.length });
      const brace = locate(text, "{", k.open);
      expect(d.notes.map((n) => n.span && { line: n.span.line, col: n.span.col })).toEqual([brace]);
    }
  });

  it("an unclosed `{` at the end of the file is one E0006", async () => {
    const c = await check("phase p {\n  model = tiny\n");
    expect(c.errors.filter((d) => d.code.startsWith("E000")).map((d) => d.code)).toEqual(["E0006"]);
  });
});

describe("import hints name the module that declares the name", () => {
  const declaredIn = new Map<string, string[]>();
  for (const f of readdirSync(STDLIB_DIR).filter((x) => x.endsWith(".llava"))) {
    const mod = "std/" + f.replace(/\.llava$/, "");
    for (const d of parse(readFileSync(path.join(STDLIB_DIR, f), "utf8"), f).module.decls)
      declaredIn.set(d.name.name, [...(declaredIn.get(d.name.name) ?? []), mod]);
  }

  it("templates come from std/templates, models from std/language, encoders from std/vision", async () => {
    const c = await check("let a = vicuna_v1\nlet b = vicuna_7b_v1_5\nlet c = clip_vit_l14_336\n");
    const helps = c.errors.filter((d) => d.code === "E0104").map((d) => d.help.join(" "));
    expect(helps).toEqual([
      expect.stringContaining('import { vicuna_v1 } from "std/templates"'),
      expect.stringContaining('import { vicuna_7b_v1_5 } from "std/language"'),
      expect.stringContaining('import { clip_vit_l14_336 } from "std/vision"'),
    ]);
  });

  it("a name no standard module declares is never pointed at one", async () => {
    const c = await check("let a = eva_giant_from_mars\nlet b = llama_from_mars\n");
    for (const d of c.errors.filter((x) => x.code === "E0104")) expect(d.help.join(" ")).not.toMatch(/from "std\//);
  });

  it("every hint, for every name the standard library exports (and a typo of each), names a module that declares it", async () => {
    const names = [...declaredIn.keys()].filter((n) => n.length > 3);
    const text = names.map((n, i) => `let v${i} = ${n}\nlet w${i} = ${n.slice(0, -1)}\n`).join("");
    const c = await check(text);
    let hinted = 0;
    for (const d of c.errors.filter((x) => x.code === "E0104")) {
      for (const m of d.help.join(" ").matchAll(/import \{ (\w+) \} from "(std\/\w+)"/g)) {
        hinted++;
        expect(declaredIn.get(m[1]!), m[0]).toContain(m[2]);
      }
    }
    expect(hinted).toBeGreaterThan(names.length / 2);
  });
});

describe("the command line on such inputs: a message and an exit code, never an internal error", () => {
  const BIN = path.join(ROOT, "bin/llavac.js");
  const llavac = (args: string[], cwd: string) => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd,
      encoding: "utf8",
      timeout: 60_000,
      input: "",
      env: { ...process.env, NO_COLOR: "1" },
    });
    return { code: r.status, stderr: r.stderr };
  };
  const dir = mkdtempSync(path.join(tmpdir(), "llavac-cli-kinds-"));
  const canFifo = process.platform !== "win32";
  if (canFifo) execFileSync("mkfifo", [path.join(dir, "pipe.yaml")]);
  mkdirSync(path.join(dir, "folder.llava"));
  writeFileSync(path.join(dir, "gpt2.yaml"), "model: {name: gpt2}\n");

  it("check of a folder and import of a FIFO: exit 2 with the reason", () => {
    const folder = llavac(["check", "folder.llava"], dir);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain("llavac: cannot read folder.llava: it is a folder, not a file");
    if (canFifo) {
      const pipe = llavac(["import", "pipe.yaml"], dir);
      expect(pipe.code).toBe(2);
      expect(pipe.stderr).toContain("llavac: cannot read pipe.yaml: it is a named pipe (FIFO), not a regular file");
    }
  });

  it("import of a non-LLaVA YAML: exit 1, the reason, nothing imported", () => {
    const r = llavac(["import", "gpt2.yaml"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gpt2\.yaml:1:1: model `gpt2` is not LLaVA/);
    expect(r.stderr).toContain("✗ nothing imported");
    expect(r.stderr).not.toContain("internal error");
  });
});
