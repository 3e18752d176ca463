// The README stays true: its language tour compiles, and the diagnostic it shows is what llavac prints.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderDiagnostic } from "../compiler/diagnostics.js";
import { check, ROOT, TINY } from "./helpers.js";

const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");

/** Fenced code blocks of the README, in order, with their info strings. */
function blocks(): { lang: string; body: string }[] {
  const out: { lang: string; body: string }[] = [];
  let current: { lang: string; lines: string[] } | undefined;
  for (const line of readme.split("\n")) {
    if (line.startsWith("```")) {
      if (current) {
        out.push({ lang: current.lang, body: current.lines.join("\n") + "\n" });
        current = undefined;
      } else current = { lang: line.slice(3).trim(), lines: [] };
    } else current?.lines.push(line);
  }
  return out;
}

function block(lang: string, containing: string): string {
  const b = blocks().find((x) => x.lang === lang && x.body.includes(containing));
  if (!b) throw new Error(`no ${lang || "plain"} block containing ${containing}`);
  return b.body;
}

describe("README", () => {
  it("the tokenizer-family example: without a tokenizer.model it is E0311, with one it is not", async () => {
    const [bare, fixed] = block("llava", "tokenizer_family: mistral")
      .trim()
      .split("\n")
      .map((l) => l.replace(/\s*\/\/.*$/, "").replace(/^language = /, "language  = "));
    const spec = (line: string) => TINY.replace("language  = tiny_llama", line!);
    const withoutModel = await check(spec(bare!));
    expect(withoutModel.one("E0311").message).toMatch(/mistral-family model/);
    const withModel = await check(spec(fixed!));
    expect(withModel.codes).not.toContain("E0311");
    expect(withModel.one("E0308").message).toMatch(/mistral\/tokenizer\.model/);
  });

  it("the language tour compiles with no errors", async () => {
    const source = block("llava", "import * as shared");
    const r = await check({ "tour.llava": source, "shared.llava": "let name = 1\n" });
    expect(r.errors.map((d) => `${d.code} ${d.message} @${d.span.line}:${d.span.col}`)).toEqual([]);
    expect(r.result.phases.map((p) => p.unit.ir.$name)).toEqual(["pretrain", "finetune"]);
    expect(r.result.phases.every((p) => p.derived)).toBe(true);
  });

  it("the diagnostic shown is the one llavac prints", async () => {
    const shown = block("", "error[E0204]");
    const src = TINY.replace("optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: 1e-3, betas: (0.9, 1.5) }");
    const r = await check(src);
    const d = r.one("E0204");
    const rendered = renderDiagnostic(d, {
      text: (f) => r.result.graph.text(f),
      display: (f) => (f.endsWith("spec.llava") ? "spec.llava" : r.result.graph.display(f)),
    });
    expect(rendered.trim()).toBe(shown.trim());
  });
});

describe("README: overrides", () => {
  it("the bad --set shown is what llavac prints for it", async () => {
    const shown = block("", "error[E0703]");
    const { compile } = await import("../compiler/compile.js");
    const r = await compile(path.join(ROOT, "examples/llava-v1.5-7b/llava.llava"), {
      cwd: ROOT,
      env: {},
      overrides: ["finetune.optimizer.lrr=2e-5"],
    });
    const d = r.diags.sorted().find((x) => x.code === "E0703")!;
    expect(renderDiagnostic(d, r.graph).trim()).toBe(shown.trim());
    const good = blocks()
      .filter((b) => b.lang === "sh")
      .map((b) => b.body)
      .join("")
      .split("\n")
      .find((l) => l.includes(" --set "))!;
    const args = [...good.matchAll(/--set (?:'([^']*)'|(\S+))/g)].map((m) => m[1] ?? m[2]!);
    expect(args).toEqual(["finetune.optimizer.lr=2e-5", "pretrain.batch=128 per step"]);
    const ok = await compile(path.join(ROOT, "examples/llava-v1.5-7b/llava.llava"), { cwd: ROOT, env: {}, overrides: args });
    expect(ok.diags.errorCount).toBe(0);
    expect(ok.phases.find((p) => p.unit.ir.$name === "pretrain")!.unit.ir.batch.global).toBe(128);
  });
});

describe("README: training commands", () => {
  it("shows `llavac run` on the tiny example and the smoke run that the program and smoke tests run", () => {
    const sh = blocks()
      .filter((b) => b.lang === "sh")
      .map((b) => b.body)
      .join("");
    // test/program.test.ts runs the first; test/smoke.test.ts runs the last two (with fewer steps).
    expect(sh).toContain("npx llavac run examples/tiny-shapes/tiny.llava\n");
    expect(sh).toContain(
      "npx llavac data prepare json2jsonl --input examples/data-fixtures/root/llava/blip_laion_cc_sbu_sample.json --out out/jsonl/captions --image-prefix llava\nnpx llavac run examples/data-demo/demo.llava --phase pretrain --smoke\n",
    );
    const program = readFileSync(path.join(ROOT, "test/program.test.ts"), "utf8");
    expect(program).toContain('"run", "examples/tiny-shapes/tiny.llava"');
    const smoke = readFileSync(path.join(ROOT, "test/smoke.test.ts"), "utf8");
    expect(smoke).toContain('"run", "examples/data-demo/demo.llava", "--phase", "pretrain", "--smoke"');
  });

  it("shows `llavac chat` on the tiny example as the program test runs it, with the held-out image `llavac run` draws", () => {
    const sh = blocks()
      .filter((b) => b.lang === "sh")
      .map((b) => b.body)
      .join("");
    const line = sh.split("\n").find((l) => l.startsWith("npx llavac chat "))!;
    expect(line).toBe(
      'npx llavac chat examples/tiny-shapes/tiny.llava --image out/tiny-shapes/data/images/heldout/heldout-00000.png --prompt "What colour is the shape?"',
    );
    // The spec draws its data in out/tiny-shapes/data (held-out images under images/heldout/), and run trains into out/tiny.
    expect(readFileSync(path.join(ROOT, "examples/tiny-shapes/tiny.llava"), "utf8")).toContain(
      'env("LLAVAC_TINY_DATA", "out/tiny-shapes/data")',
    );
    // test/program.test.ts trains the example and runs this command on held-out images (in its own folders).
    const program = readFileSync(path.join(ROOT, "test/program.test.ts"), "utf8");
    expect(program).toMatch(/"chat",\s*"examples\/tiny-shapes\/tiny\.llava",[\s\S]*"--prompt",\s*"What colour is the shape\?"/);
    expect(block("", "chat: phase finetune")).toMatch(
      /^chat: phase finetune \(vicuna_v1 template\) from out\/tiny\/finetune\/checkpoints\/checkpoint_150\.safetensors on tensorflow\n\w+\.\n$/,
    );
  });
});

describe("README: the Cerebras workflow commands", () => {
  it("`llavac import` as shown writes a spec that rebuilds its inputs, and `build --target cerebras` writes the scripts", async () => {
    const { spawnSync } = await import("node:child_process");
    const { mkdtempSync, cpSync, existsSync: exists } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const sh = blocks()
      .filter((b) => b.lang === "sh")
      .map((b) => b.body)
      .join("");
    const importLine = sh.split("\n").find((l) => l.startsWith("npx llavac import "))!;
    const buildLine = sh
      .split("\n")
      .find((l) => l.includes("--target cerebras"))!
      .replace(/\s+#.*$/, "");
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-readme-cerebras-"));
    cpSync(path.join(ROOT, "test/golden"), path.join(dir, "test/golden"), { recursive: true });
    cpSync(path.join(ROOT, "examples"), path.join(dir, "examples"), { recursive: true });
    for (const line of [importLine, buildLine]) {
      const args = line.replace(/^npx llavac /, "").split(/\s+/);
      const r = spawnSync(process.execPath, [path.join(ROOT, "bin/llavac.js"), ...args], { cwd: dir, encoding: "utf8" });
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
    }
    expect(exists(path.join(dir, "out/imported.llava"))).toBe(true);
    for (const f of ["convert-in.sh", "pretrain/run.sh", "finetune/run.sh", "pipeline.sh", "convert-out.sh"])
      expect(exists(path.join(dir, "out", f)), f).toBe(true);
  });
});

describe("README: the command table", () => {
  it("every flag a row of the table shows is one its command accepts (--help lists it)", () => {
    const rows = readme.split("\n").filter((l) => l.startsWith("| `llavac "));
    expect(rows.length).toBeGreaterThan(5);
    for (const row of rows) {
      const usage = row.split(/(?<!\\)\|/)[1]!.replace(/`/g, ""); // cells split at unescaped pipes
      // The command, and a subcommand where one follows (`backend install`).
      const command = usage
        .match(/^\s*llavac (\w+)((?: [a-z]\w*)?)/)!
        .slice(1, 3)
        .join("")
        .trim()
        .split(" ");
      if (command[0] === "data") continue; // a family of subcommands, documented in its own section
      const flags = [...usage.matchAll(/(?<![\w-])--?[a-z][\w-]*/g)].map((m) => m[0]);
      const help = spawnSync(process.execPath, [path.join(ROOT, "bin/llavac.js"), ...command, "--help"], { encoding: "utf8" }).stdout;
      for (const f of flags) expect(help, `${command} ${f}`).toMatch(new RegExp(`(^|[\\s,])${f}[\\s,]`, "m"));
    }
  });
});

describe("README: working with specs", () => {
  const bin = path.join(ROOT, "bin/llavac.js");
  const run = (args: string[], cwd = ROOT) =>
    spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const commands = block("sh", "llavac fmt examples stdlib")
    .trim()
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim());
  const args = (start: string) => {
    const line = commands.find((c) => c.includes(`llavac ${start}`));
    if (!line) throw new Error(`no \`llavac ${start}\` in the README's block`);
    return line
      .replace(/^.*?llavac /, "")
      .replace(/\)$/, "")
      .split(/\s+/);
  };

  it("fmt, graph and completion run as shown (fmt as --check, graph into a temporary file equal to the picture)", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-readme-"));
    expect(args("fmt")).toEqual(["fmt", "examples", "stdlib"]);
    expect(run(["fmt", "--check", "examples", "stdlib"]).status).toBe(0);
    const g = args("graph");
    const svg = path.join(dir, "g.svg");
    expect(run([...g.slice(0, -1), svg]).status).toBe(0);
    expect(readFileSync(svg, "utf8")).toBe(readFileSync(path.join(ROOT, g[g.length - 1]!), "utf8"));
    expect(readme).toContain(`](${g[g.length - 1]})`);
    const c = run(args("completion"));
    expect(spawnSync("bash", ["-n"], { input: c.stdout }).status).toBe(0);
  });

  it("the diff and why outputs shown are what llavac prints", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const d = run(args("diff"));
    expect(d.status).toBe(0);
    expect(d.stdout).toBe(block("", "+++ examples/llava-v1.5-7b/release-2.3.0.llava"));
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-readme-"));
    const b = args("build").map((a) => (a === "examples/llava-v1.5-7b/llava.llava" ? path.join(ROOT, a) : a));
    expect(run(b, dir).status).toBe(0);
    const w = args("why").map((a) => (a.endsWith(".llava") ? path.join(ROOT, a) : a));
    const shown = block("", "runconfig.max_steps = 2180");
    expect(run(w, dir).stdout).toBe(shown);
  });
});
