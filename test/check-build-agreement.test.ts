// One pipeline: `check` is `build` without writing. Over every example, the golden-config specs and a fuzz
// corpus, both report the same diagnostics (code, severity, span) and exit the same way; and no user
// input raises an internal error (exit 70, or a code whose explanation says it is a bug in llavac).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filesToWrite } from "../compiler/build.js";
import { CODES, type Code } from "../compiler/codes.js";
import { compile } from "../compiler/compile.js";
import type { Diagnostic } from "../compiler/diagnostics.js";
import { importConfigs } from "../compiler/import/import.js";
import { FUZZ_FILE, mutated, tokenStream } from "./fuzz-support.js";
import { ROOT, TINY, VIRTUAL } from "./helpers.js";
import { llama3StandIn } from "./llama3-standin.js";

const BIN = path.join(ROOT, "bin/llavac.js");
/** The codes that mean "llavac is wrong", read from the catalog's own explanations. */
const INTERNAL = (Object.keys(CODES) as Code[]).filter((c) => /a bug in llavac/i.test(CODES[c].explain));

const EXAMPLES = readdirSync(path.join(ROOT, "examples"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".llava"))
  .map((f) => path.join("examples", f))
  .sort();

interface Outcome {
  exit: number;
  diags: string[];
}

const key = (d: { severity: string; code: string; file: string; line: number; column: number; endLine: number; endColumn: number }) =>
  `${d.severity} ${d.code} ${d.file}:${d.line}:${d.column}-${d.endLine}:${d.endColumn}`;

// examples/llava-llama3-8b reads its tokenizer from LLAMA3_TOKENIZER: a stand-in of Llama-3's vocabulary size.
const LLAMA3 = llama3StandIn(mkdtempSync(path.join(tmpdir(), "llavac-llama3-tok-")));

/** The real CLI in a fresh process (its JSON report: every diagnostic with its span). */
async function cli(args: string[]): Promise<Outcome> {
  const extra = await LLAMA3;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args, "--format", "json"], { cwd: ROOT, env: { ...process.env, ...extra, NO_COLOR: "1" } });
    let out = "",
      err = "";
    p.stdout.on("data", (b) => (out += b));
    p.stderr.on("data", (b) => (err += b));
    p.on("error", reject);
    p.on("close", (code) => {
      let diags: string[] = [`unparsable output: ${out.slice(0, 200)} ${err.slice(0, 2000)}`];
      try {
        diags = (JSON.parse(out).diagnostics as Parameters<typeof key>[0][]).map(key);
      } catch {
        /* kept above */
      }
      resolve({ exit: code ?? -1, diags });
    });
  });
}

const spanKey = (d: Diagnostic, display: (f: string) => string) =>
  key({
    severity: d.severity,
    code: d.code,
    file: display(d.span.file),
    line: d.span.line,
    column: d.span.col,
    endLine: d.span.endLine,
    endColumn: d.span.endCol,
  });

/**
 * In-process, for the corpus: what `check` does (compile) and what `build` does (compile for an output
 * folder, then read every file it would write, job scripts included). A throw is the CLI's exit 70.
 */
async function inProcess(kind: "check" | "build", source: string, file = FUZZ_FILE, cwd = VIRTUAL): Promise<Outcome> {
  try {
    const r = await compile(file, {
      source,
      env: {},
      cwd,
      ...(kind === "build" ? { outDir: path.join(tmpdir(), "llavac-agreement-out") } : {}),
    });
    if (kind === "build" && r.diags.errorCount === 0)
      for (const f of filesToWrite(r.emitted, { cerebras: true })) expect(typeof f.content).toBe("string");
    return { exit: r.diags.errorCount > 0 ? 1 : 0, diags: r.diags.sorted().map((d) => spanKey(d, (f) => r.graph.display(f))) };
  } catch (err) {
    return { exit: 70, diags: [`internal error: ${(err as Error)?.stack ?? String(err)}`] };
  }
}

function noInternalError(o: Outcome, what: string): void {
  expect(o.exit, `${what}: ${o.diags.join("\n")}`).not.toBe(70);
  expect(
    o.diags.filter((d) => INTERNAL.some((c) => d.split(" ")[1] === c)),
    what,
  ).toEqual([]);
}

async function agree(source: string, file?: string, cwd?: string): Promise<Outcome> {
  const check = await inProcess("check", source, file, cwd);
  const build = await inProcess("build", source, file, cwd);
  expect(build, source).toEqual(check);
  noInternalError(check, source);
  return check;
}

/** TINY with a target and emission-specific fields chosen at random (releases, layouts, writer settings, styles). */
const emissionVariants: fc.Arbitrary<string> = fc
  .record({
    release: fc.constantFrom(undefined, "2.2.1", "2.3.0", "2.10"),
    format: fc.constantFrom(undefined, "flat", "trainer"),
    style: fc.constantFrom(undefined, "vicuna_v1", "llava_plain", "llama2", "", "mine"),
    writer: fc.constantFrom(
      'hdf5_writer { output: "./h5/out" }',
      "hdf5_writer { }",
      'hdf5_writer { input: "./jsonl" }',
      "none",
      'hdf5_writer { input: "./jsonl", output: "./h5" }',
    ),
    twoData: fc.boolean(),
  })
  .map(({ release, format, style, writer, twoData }) => {
    let s = TINY.replace(/preprocess\s*=\s*hdf5_writer \{[^}\n]*\}/, `preprocess = ${writer}`);
    if (style !== undefined)
      s = s.replace(/template\s*=\s*vicuna_v1\b/, `template = vicuna_v1 { cerebras_style: ${JSON.stringify(style)} }`);
    if (twoData) s = s.replace(/\n(\s*)data(\s*)=(\s*)(\w+)/, '\n$1data$2=$3[$4, $4 { jsonl: "./other" }]');
    const fields = [release && `release: "${release}"`, format && `format: "${format}"`].filter(Boolean).join(", ");
    return release || format ? `${s}\ncerebras cluster { ${fields} }\n` : s;
  });

describe("check and build agree", () => {
  it("the internal-error codes are known (so the test below can fail)", () => {
    expect(INTERNAL).toEqual(["E0501"]);
  });

  it.each(EXAMPLES)("%s: the same diagnostics and exit status from the CLI's check and build", async (spec) => {
    const out = mkdtempSync(path.join(tmpdir(), "llavac-agree-"));
    try {
      const [check, build] = await Promise.all([
        cli(["check", spec]),
        cli(["build", spec, "-o", path.join(out, "o"), "--target", "cerebras"]),
      ]);
      expect(build).toEqual(check);
      noInternalError(check, spec);
      // Every example builds (the data demo included: its finetune writer reads one folder).
      expect(check.exit, check.diags.join("\n")).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("the specs imported from the golden configs (both phases, and each phase alone)", async () => {
    const golden = (size: string, phase: string) => path.join(ROOT, "test/golden", `llava-v1.5-${size}`, phase, "params.yaml");
    for (const size of ["7b", "13b"]) {
      for (const files of [[golden(size, "pretrain"), golden(size, "finetune")], [golden(size, "pretrain")], [golden(size, "finetune")]]) {
        const r = await importConfigs(
          files.map((file) => ({ file, text: readFileSync(file, "utf8") })),
          ROOT,
        );
        expect(r.spec, files.join(" ")).not.toBe("");
        await agree(r.spec, path.join(ROOT, "imported.llava"), ROOT);
      }
    }
  });

  it("the fuzz corpus: mutated specs, token streams and emission variants", async () => {
    const seven = readFileSync(path.join(ROOT, "examples/llava-v1.5-7b/llava.llava"), "utf8");
    const corpus = [
      ...fc.sample(mutated(TINY), { numRuns: 150, seed: 4242 }),
      ...fc.sample(mutated(seven), { numRuns: 40, seed: 1515 }),
      ...fc.sample(tokenStream, { numRuns: 150, seed: 777 }),
      ...fc.sample(emissionVariants, { numRuns: 120, seed: 505 }),
    ];
    const seen = new Set<string>();
    let clean = 0;
    for (const source of corpus) {
      const o = await agree(source);
      for (const d of o.diags) seen.add(d.split(" ")[1]!);
      if (o.exit === 0) clean++;
    }
    // The corpus reaches emission: specs that build, and each mistake found only there.
    expect(clean).toBeGreaterThan(25);
    for (const code of ["E0502", "E0503", "E0504", "E0505", "E0506"]) expect(seen, code).toContain(code);
  }, 600_000);
});
