#!/usr/bin/env node
// The llavac command line. Exit codes: 0 clean (warnings allowed), 1 errors, 2 usage.
import { Command, CommanderError } from "commander";
import pc from "picocolors";
import path from "node:path";
import { BackendFailure, registerBackendCommand } from "./backend-cli.js";
import { CODES, type Code } from "./codes.js";
import { compile, type CompileResult } from "./compile.js";
import { plainPainter, renderDiagnostic, toJson, type Painter } from "./diagnostics.js";
import { DataFailure, DataUsageError, registerDataCommands } from "./data-cli.js";
import { phaseSummary } from "./report.js";
import { registerRunCommand, RunFailure } from "./run-cli.js";
import { VERSION } from "./version.js";

const EXIT_USAGE = 2;

type FullPainter = Painter & { magenta(s: string): string; strikethrough(s: string): string };

function painter(useColor: boolean): FullPainter {
  if (!useColor) return { ...plainPainter, magenta: (s) => s, strikethrough: (s) => s };
  return { red: pc.red, yellow: pc.yellow, blue: pc.blue, cyan: pc.cyan, green: pc.green, bold: pc.bold, dim: pc.dim, magenta: pc.magenta, strikethrough: pc.strikethrough };
}

function colorWanted(flag: boolean | undefined): boolean {
  if (flag === false || process.env.NO_COLOR) return false;
  return process.stdout.isTTY === true || process.env.FORCE_COLOR !== undefined;
}

class UsageError extends Error {}

async function compileOrExit(spec: string, strict: boolean, weights?: string): Promise<CompileResult> {
  const result = await compile(spec, { strict, ...(weights !== undefined ? { weights } : {}) });
  if (!result.readable) throw new UsageError(`cannot read ${spec}`);
  return result;
}

function printDiagnostics(result: CompileResult, paint: Painter): void {
  for (const d of result.diags.sorted()) process.stderr.write(renderDiagnostic(d, result.graph, paint) + "\n\n");
}

function tally(result: CompileResult, paint: Painter, verb: string): string {
  const e = result.diags.errorCount, w = result.diags.warningCount;
  const parts = [`${e} error${e === 1 ? "" : "s"}`, `${w} warning${w === 1 ? "" : "s"}`];
  const phases = result.phases.length;
  const status = e > 0 ? paint.red(paint.bold("✗")) : paint.green(paint.bold("✓"));
  return `${status} ${verb} ${result.graph.display(result.file)}: ${phases} phase${phases === 1 ? "" : "s"}, ${parts.join(", ")}`;
}

function jsonReport(result: CompileResult, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    diagnostics: result.diags.sorted().map((d) => toJson(d, result.graph)),
    phases: result.phases.map((p) => ({
      name: p.unit.ir.$name,
      derived: p.derived ? {
        num_patches: p.derived.numPatches, image_start_idx: p.derived.imageStartIdx ?? null, max_sequence_length: p.derived.msl,
        text_budget: p.derived.textBudget, max_steps: p.derived.schedule.maxSteps ?? null, warmup_steps: p.derived.schedule.warmup ?? null,
        decay_steps: p.derived.schedule.decay ?? null,
      } : null,
      parameters: p.derived ? { total: p.derived.counts.total, trainable: p.derived.counts.trainable, frozen: p.derived.counts.frozen } : null,
    })),
    errors: result.diags.errorCount,
    warnings: result.diags.warningCount,
    ...extra,
  }, null, 2) + "\n";
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command();
  program
    .name("llavac")
    .description("Typed specs for LLaVA training: check them, then build Cerebras configs and TensorFlow.js programs.")
    .version(VERSION, "-v, --version")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();

  program
    .command("check")
    .description("report every mistake in a spec and print its derived values and parameter counts")
    .argument("<spec>", "the .llava file")
    .option("--format <format>", "human or json", "human")
    .option("--strict", "treat missing data folders as errors")
    .option("--weights <dir>", "also check a HuggingFace weights folder (image_model/, text_model/) against the spec")
    .option("--no-color", "no ANSI colours")
    .action(async (spec: string, o: { format: string; strict?: boolean; weights?: string; color?: boolean }) => {
      if (o.format !== "human" && o.format !== "json") throw new UsageError(`unknown format "${o.format}" (use human or json)`);
      const result = await compileOrExit(spec, o.strict ?? false, o.weights);
      if (o.format === "json") process.stdout.write(jsonReport(result));
      else {
        const paint = painter(colorWanted(o.color));
        printDiagnostics(result, paint);
        process.stdout.write(phaseSummary(result, paint));
        process.stdout.write(tally(result, paint, "checked") + "\n");
      }
      exitCode = result.diags.errorCount > 0 ? 1 : 0;
    });

  program
    .command("build")
    .description("compile a spec into Cerebras params.yaml, preprocess.yaml and a TensorFlow.js train.ts per phase, plus manifest.json")
    .argument("<spec>", "the .llava file")
    .requiredOption("-o, --out <dir>", "output folder")
    .option("--strict", "treat missing data folders as errors")
    .option("--target <target>", "also write the job scripts for a target: cerebras")
    .option("--format <format>", "human or json", "human")
    .option("--no-color", "no ANSI colours")
    .action(async (spec: string, o: { out: string; strict?: boolean; target?: string; format: string; color?: boolean }) => {
      if (o.target !== undefined && o.target !== "cerebras") throw new UsageError(`unknown target "${o.target}" (cerebras)`);
      if (o.format !== "human" && o.format !== "json") throw new UsageError(`unknown format "${o.format}" (use human or json)`);
      const result = await compileOrExit(spec, o.strict ?? false);
      let files: { path: string }[] = [];
      if (result.diags.errorCount === 0) {
        // Emission pulls in zod and js-yaml; `check` never loads them.
        const { Builder, writeAtomically } = await import("./build.js");
        const outputs = new Builder(result, o.out).outputs({ cerebras: o.target === "cerebras" });
        if (result.diags.errorCount === 0) {
          writeAtomically(o.out, outputs);
          files = outputs;
        }
      }
      if (o.format === "json") process.stdout.write(jsonReport(result, { written: files.map((f) => path.join(o.out, f.path)) }));
      else {
        const paint = painter(colorWanted(o.color));
        printDiagnostics(result, paint);
        for (const f of files) process.stdout.write(`  wrote ${path.join(o.out, f.path)}\n`);
        process.stdout.write(tally(result, paint, "built") + "\n");
      }
      exitCode = result.diags.errorCount > 0 ? 1 : 0;
    });

  program
    .command("explain")
    .description("explain a diagnostic code, e.g. E0401")
    .argument("<code>")
    .action((code: string) => {
      const c = CODES[code.toUpperCase() as Code];
      if (!c) throw new UsageError(`unknown code ${code}; codes look like E0401 or W0301`);
      process.stdout.write(`${code.toUpperCase()}: ${c.title}\n\n${c.explain}\n`);
    });

  program
    .command("import")
    .description("read Cerebras Model Zoo LLaVA params YAML (2.2.1, 2.3.0 or 2.10; one file per phase) and print a .llava spec")
    .argument("<configs...>", "params_*.yaml files, phase 1 before phase 2")
    .option("-o, --out <file>", "write the spec to a file instead of standard output")
    .action(async (configs: string[], o: { out?: string }) => {
      const { readFileSync, existsSync } = await import("node:fs");
      for (const c of configs) if (!existsSync(c)) throw new UsageError(`not found: ${c}`);
      const { importConfigs } = await import("./import/import.js");
      const r = await importConfigs(configs.map((file) => ({ file, text: readFileSync(file, "utf8") })));
      for (const p of r.problems) process.stderr.write(`${p.file}${p.line ? `:${p.line}:${p.column}` : ""}: ${p.message}\n`);
      if (r.spec) {
        if (o.out) {
          const { writeAtomically } = await import("./build.js");
          writeAtomically(path.dirname(path.resolve(o.out)), [{ path: path.basename(o.out), content: r.spec }]);
          process.stderr.write(`wrote ${o.out}\n`);
        } else process.stdout.write(r.spec);
      }
      process.stderr.write(r.verified ? `✓ the spec rebuilds every key of the input\n` : `✗ ${r.problems.length} problem(s): the spec does not reproduce the input exactly\n`);
      exitCode = r.verified ? 0 : 1;
    });

  registerDataCommands(program, {
    paint: (color) => painter(colorWanted(color)),
    setExit: (code) => { exitCode = code; },
    compileSpec: (spec) => compileOrExit(spec, false),
  });

  registerRunCommand(program, {
    paint: (color) => painter(colorWanted(color)),
    compileSpec: (spec) => compileOrExit(spec, false),
    printDiagnostics,
    setExit: (code) => { exitCode = code; },
  });

  registerBackendCommand(program, { paint: (color) => painter(colorWanted(color)), setExit: (code) => { exitCode = code; } });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
      return EXIT_USAGE;
    }
    if (err instanceof UsageError || err instanceof DataUsageError) {
      process.stderr.write(`llavac: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof DataFailure || err instanceof RunFailure || err instanceof BackendFailure) {
      process.stderr.write(`llavac: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`llavac: internal error: ${(err as Error)?.stack ?? String(err)}\nplease report this with the spec that caused it\n`);
    process.exitCode = 70;
  },
);
