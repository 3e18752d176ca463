#!/usr/bin/env node
// The llavac command line. Exit codes: 0 clean (warnings allowed), 1 errors, 2 usage.
import { Command, CommanderError } from "commander";
import pc from "picocolors";
import path from "node:path";
import { BackendFailure, registerBackendCommand } from "./backend.js";
import { registerCompletionCommands } from "./completion.js";
import { ChatFailure, ChatUsageError, registerChatCommand } from "./chat.js";
import { CODES, defaultLevel, isCode, LevelUsageError, type CodeInfo } from "../codes.js";
import type { OutputFile } from "../build.js";
import { compile, type CompileOptions, type CompileResult } from "../compile.js";
import { plainPainter, renderDiagnostic, toJson, type Painter } from "../diagnostics.js";
import { DataFailure, DataUsageError, registerDataCommands } from "./data.js";
import { registerDiffCommand } from "./diff.js";
import { registerFmtCommand } from "./fmt.js";
import { registerGraphCommand } from "./graph.js";
import { registerWhyCommand } from "./why.js";
import { addLevelOptions, levelsOf, type LevelOptions } from "./level-options.js";
import { registerLspCommand } from "./lsp.js";
import { registerParamsCommand } from "./params.js";
import { phaseSummary } from "../report.js";
import { addSetOption } from "../overrides.js";
import { registerRunCommand, RunFailure } from "./run.js";
import { registerWeightsCommand } from "./weights.js";
import { VERSION } from "../version.js";

const EXIT_USAGE = 2;

type FullPainter = Painter & { magenta(s: string): string; strikethrough(s: string): string };

function painter(useColor: boolean): FullPainter {
  if (!useColor) return { ...plainPainter, magenta: (s) => s, strikethrough: (s) => s };
  return {
    red: pc.red,
    yellow: pc.yellow,
    blue: pc.blue,
    cyan: pc.cyan,
    green: pc.green,
    bold: pc.bold,
    dim: pc.dim,
    magenta: pc.magenta,
    strikethrough: pc.strikethrough,
  };
}

function colorWanted(flag: boolean | undefined): boolean {
  if (flag === false || process.env.NO_COLOR) return false;
  return process.stdout.isTTY === true || process.env.FORCE_COLOR !== undefined;
}

class UsageError extends Error {}

/** `-o` must be a folder llavac may fill: not an existing file, and not inside the standard library. */
async function refuseOutputFolder(out: string): Promise<void> {
  const { realpathSync, statSync } = await import("node:fs");
  const { STDLIB_DIR } = await import("../modules.js");
  const abs = path.resolve(out);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(abs, { throwIfNoEntry: false });
  } catch (err) {
    throw new UsageError(
      (err as NodeJS.ErrnoException).code === "ENOTDIR"
        ? `-o ${out}: a folder on its path is a file`
        : `-o ${out}: ${(err as Error).message}`,
    );
  }
  if (st && !st.isDirectory())
    throw new UsageError(`-o ${out} ${st.isFile() ? "is a file" : "exists and is not a folder"}; give a folder to write the configs into`);
  // Through symbolic links too: compare real paths (of the nearest folder that exists).
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      const up = path.dirname(p);
      return up === p ? p : path.join(real(up), path.basename(p));
    }
  };
  const std = real(STDLIB_DIR),
    rel = path.relative(std, real(abs));
  if (rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel)))
    throw new UsageError(`-o ${out} is inside the standard library (${std}); write the build somewhere else, e.g. -o out`);
}

async function compileOrExit(
  spec: string,
  levels: LevelOptions = {},
  weights?: string,
  overrides: string[] = [],
  more: CompileOptions = {},
): Promise<CompileResult> {
  const result = await compile(spec, { ...levels, overrides, ...(weights !== undefined ? { weights } : {}), ...more });
  if (!result.readable) throw new UsageError(`cannot read ${spec}${result.unreadable ? `: ${result.unreadable}` : ""}`);
  return result;
}

function printDiagnostics(result: CompileResult, paint: Painter): void {
  for (const d of result.diags.sorted()) process.stderr.write(renderDiagnostic(d, result.graph, paint) + "\n\n");
}

function tally(result: CompileResult, paint: Painter, verb: string): string {
  const e = result.diags.errorCount,
    w = result.diags.warningCount;
  const parts = [`${e} error${e === 1 ? "" : "s"}`, `${w} warning${w === 1 ? "" : "s"}`];
  const phases = result.phases.length;
  const status = e > 0 ? paint.red(paint.bold("✗")) : paint.green(paint.bold("✓"));
  return `${status} ${verb} ${result.graph.display(result.file)}: ${phases} phase${phases === 1 ? "" : "s"}, ${parts.join(", ")}`;
}

function jsonReport(result: CompileResult, extra: Record<string, unknown> = {}): string {
  return (
    JSON.stringify(
      {
        diagnostics: result.diags.sorted().map((d) => toJson(d, result.graph)),
        phases: result.phases.map((p) => ({
          name: p.unit.ir.$name,
          derived: p.derived
            ? {
                num_patches: p.derived.numPatches,
                image_start_idx: p.derived.imageStartIdx ?? null,
                max_sequence_length: p.derived.msl,
                text_budget: p.derived.textBudget,
                max_steps: p.derived.schedule.maxSteps ?? null,
                warmup_steps: p.derived.schedule.warmup ?? null,
                decay_steps: p.derived.schedule.decay ?? null,
              }
            : null,
          parameters: p.derived
            ? { total: p.derived.counts.total, trainable: p.derived.counts.trainable, frozen: p.derived.counts.frozen }
            : null,
        })),
        errors: result.diags.errorCount,
        warnings: result.diags.warningCount,
        ...extra,
      },
      null,
      2,
    ) + "\n"
  );
}

function checkFormat(format: string): void {
  if (format !== "human" && format !== "json" && format !== "sarif")
    throw new UsageError(`unknown format "${format}" (use human, json or sarif)`);
}

async function sarifReport(result: CompileResult): Promise<string> {
  const { toSarif } = await import("../sarif.js");
  return JSON.stringify(toSarif(result.diags.sorted(), process.cwd()), null, 2) + "\n";
}

/** `llavac explain`: the catalog entry, with the trigger as an example. */
function explainText(code: keyof typeof CODES): string {
  const c: CodeInfo = CODES[code];
  const out = [`${code}: ${c.title} (${defaultLevel(code)}${c.strict ? ", denied by --strict" : ""})`, "", c.explain];
  if (c.message) out.push("", `message: ${c.message}`);
  const t = c.trigger;
  if (t?.spec)
    out.push(
      "",
      "for example, this spec:",
      "",
      ...t.spec
        .trimEnd()
        .split("\n")
        .map((l) => "    " + l),
    );
  else if (t?.edit || t?.append) {
    out.push("", "for example, in a valid spec:");
    if (t.edit) out.push(...t.edit[0].split("\n").map((l) => "  - " + l), ...t.edit[1].split("\n").map((l) => "  + " + l));
    if (t.append)
      out.push(
        ...t.append
          .trim()
          .split("\n")
          .map((l) => "  + " + l),
      );
  }
  if (t?.noData) out.push("", "for example, a valid spec whose data folders do not exist yet.");
  if (t?.weights) out.push("", `checked with \`--weights ${t.weights}\``);
  if (t?.data) out.push("", "checked with `--data`, these data files beside the spec:");
  for (const f of Object.keys(t?.bytes ?? {})) out.push(`  ${f}: (bytes that are not valid UTF-8)`);
  for (const [f, text] of Object.entries(t?.files ?? {})) out.push(`  ${f}: ${text}`);
  if (t?.build) out.push("", "(raised by `llavac build`)");
  if (t?.internal) out.push("", `only a bug in llavac raises it (${t.internal}): please report it with the spec`);
  if (defaultLevel(code) === "warning") out.push("", `\`--deny ${code}\` makes it an error; \`--allow ${code}\` silences it.`);
  return out.join("\n") + "\n";
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

  addSetOption(
    addLevelOptions(
      program
        .command("check")
        .description("report every mistake in a spec and print its derived values and parameter counts (build without writing)")
        .argument("<spec>", "the .llava file")
        .option("--format <format>", "human, json or sarif", "human")
        .option("--weights <dir>", "also check a HuggingFace weights folder (image_model/, text_model/) against the spec")
        .option("--data", "also read each phase's jsonl as `data hdf5` would: what it would skip or cut, and the token lengths")
        .option("--sample <n>", "with --data: check n records per phase, spread over its files")
        .option("--decode-images", "with --data: decode every image fully, as `data hdf5` does (default: read the headers)")
        .option("--no-color", "no ANSI colours"),
    ),
  ).action(
    async (
      spec: string,
      o: {
        format: string;
        weights?: string;
        data?: boolean;
        sample?: string;
        decodeImages?: boolean;
        color?: boolean;
        set: string[];
      } & LevelOptions,
    ) => {
      checkFormat(o.format);
      if ((o.sample !== undefined || o.decodeImages) && !o.data) throw new UsageError("--sample and --decode-images go with --data");
      const sample = o.sample === undefined ? undefined : Number(o.sample);
      if (sample !== undefined && (!Number.isInteger(sample) || sample < 1)) throw new UsageError("--sample must be a whole number ≥ 1");
      const data = o.data
        ? { images: o.decodeImages ? ("decode" as const) : ("probe" as const), ...(sample !== undefined ? { sample } : {}) }
        : undefined;
      // (a whole pass may use worker threads: they start while the spec compiles)
      if (data && data.sample === undefined) (await import("../../runtime/data/check-data.js")).prestartWorkers(data.images);
      const result = await compileOrExit(spec, levelsOf(o), o.weights, o.set, data ? { data } : {});
      const dataJson = () =>
        result.data
          ? {
              data: result.data.map((r) => ({
                phase: r.phase,
                ...(r.report
                  ? { ...r.report, files: r.report.files.map((f) => path.relative(process.cwd(), f) || f) }
                  : { not_checked: r.notChecked }),
              })),
            }
          : {};
      if (o.format === "json") process.stdout.write(jsonReport(result, dataJson()));
      else if (o.format === "sarif") process.stdout.write(await sarifReport(result));
      else {
        const paint = painter(colorWanted(o.color));
        printDiagnostics(result, paint);
        process.stdout.write(phaseSummary(result, paint));
        if (result.data)
          process.stdout.write((await import("../checks/data-records.js")).renderDataReports(result.data, process.cwd(), paint));
        process.stdout.write(tally(result, paint, "checked") + "\n");
      }
      exitCode = result.diags.errorCount > 0 ? 1 : 0;
    },
  );

  addSetOption(
    addLevelOptions(
      program
        .command("build")
        .description("compile a spec into Cerebras params.yaml, preprocess.yaml and a TensorFlow.js train.ts per phase, plus manifest.json")
        .argument("<spec>", "the .llava file")
        .requiredOption("-o, --out <dir>", "output folder")
        .option("--target <target>", "cerebras: also write the job scripts; llava-repo: write the LLaVA repository's GPU launch instead")
        .option("--annotate", "write each YAML key's origin (spec line, standard-library default or derivation) as a comment")
        .option("--format <format>", "human, json or sarif", "human")
        .option("--no-color", "no ANSI colours"),
    ),
  ).action(async (spec: string, o: { out: string; target?: string; format: string; color?: boolean; set: string[] } & LevelOptions) => {
    if (o.target !== undefined && o.target !== "cerebras" && o.target !== "llava-repo")
      throw new UsageError(`unknown target "${o.target}" (cerebras or llava-repo)`);
    checkFormat(o.format);
    await refuseOutputFolder(o.out);
    const llavaRepo = o.target === "llava-repo";
    // `--annotate`: each YAML key's origin as a comment on its line.
    const annotate = (o as { annotate?: boolean }).annotate === true;
    const result = await compileOrExit(spec, levelsOf(o), undefined, o.set, {
      outDir: o.out,
      annotate,
      ...(llavaRepo ? { llavaRepo } : {}),
    });
    let files: OutputFile[] = [];
    // compile() has emitted and validated everything (as `check` does); build only writes it.
    if (result.diags.errorCount === 0) {
      const { filesToWrite, writeAtomically } = await import("../build.js");
      files = filesToWrite(result.emitted, { cerebras: o.target === "cerebras", llavaRepo });
      try {
        writeAtomically(o.out, files);
      } catch (err) {
        if (!(err as NodeJS.ErrnoException).code) throw err;
        throw new UsageError(`cannot write into ${o.out}: ${(err as Error).message}`);
      }
    }
    if (o.format === "json") process.stdout.write(jsonReport(result, { written: files.map((f) => path.join(o.out, f.path)) }));
    else if (o.format === "sarif") process.stdout.write(await sarifReport(result));
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
    .action((raw: string) => {
      const code = raw.toUpperCase();
      if (!isCode(code)) throw new UsageError(`unknown code ${raw}; codes look like E0401 or W0301`);
      process.stdout.write(explainText(code));
    });

  program
    .command("import")
    .description(
      "read Cerebras Model Zoo LLaVA params YAML (2.2.1, 2.3.0 or 2.10), or the LLaVA repository's launch scripts (*.sh), one file per phase, and print a .llava spec",
    )
    .argument("<configs...>", "params_*.yaml files, or pretrain.sh/finetune.sh-style scripts; phase 1 before phase 2")
    .option("-o, --out <file>", "write the spec to a file instead of standard output")
    .action(async (configs: string[], o: { out?: string }) => {
      const { readSource } = await import("../modules.js");
      const inputs = configs.map((file) => {
        const r = readSource(file);
        if ("problem" in r) throw new UsageError(r.missing ? `not found: ${file}` : `cannot read ${file}: ${r.problem}`);
        return { file, text: r.text };
      });
      // LLaVA repository launch scripts (pretrain.sh, finetune.sh) become a `--target llava-repo` spec.
      const scripts = inputs.every((i) => i.file.endsWith(".sh"));
      const r = scripts
        ? await (await import("../import/llava-script.js")).importLaunchScripts(inputs)
        : await (await import("../import/import.js")).importConfigs(inputs);
      for (const p of r.problems) process.stderr.write(`${p.file}${p.line ? `:${p.line}:${p.column}` : ""}: ${p.message}\n`);
      if (r.spec) {
        if (o.out) {
          const { writeAtomically } = await import("../build.js");
          writeAtomically(path.dirname(path.resolve(o.out)), [{ path: path.basename(o.out), content: r.spec }]);
          process.stderr.write(`wrote ${o.out}\n`);
        } else process.stdout.write(r.spec);
      }
      process.stderr.write(
        r.verified
          ? `✓ the spec rebuilds every ${scripts ? "flag" : "key"} of the input\n`
          : !r.spec
            ? `✗ nothing imported: ${r.problems.length} problem(s)\n`
            : `✗ ${r.problems.length} problem(s): the spec does not reproduce the input exactly\n`,
      );
      exitCode = r.verified ? 0 : 1;
    });

  registerDataCommands(program, {
    paint: (color) => painter(colorWanted(color)),
    setExit: (code) => {
      exitCode = code;
    },
    // Data and training here need the checked phases, not the Cerebras configs (`check` and `build` report those).
    compileSpec: (spec) => compileOrExit(spec, {}, undefined, [], { emit: false }),
  });

  registerWeightsCommand(program, {
    setExit: (code) => {
      exitCode = code;
    },
  });

  registerRunCommand(program, {
    paint: (color) => painter(colorWanted(color)),
    compileSpec: (spec, levels, overrides) => compileOrExit(spec, levels, undefined, overrides, { emit: false }),
    printDiagnostics,
    setExit: (code) => {
      exitCode = code;
    },
  });

  registerChatCommand(program, {
    paint: (color) => painter(colorWanted(color)),
    compileSpec: (spec, overrides) => compileOrExit(spec, {}, undefined, overrides, { emit: false }),
    printDiagnostics,
  });

  registerParamsCommand(program, {
    paint: (color) => painter(colorWanted(color)),
    compileSpec: (spec) => compileOrExit(spec),
    usage: (message) => new UsageError(message),
    setExit: (code) => {
      exitCode = code;
    },
  });
  registerLspCommand(program);
  registerFmtCommand(program, {
    usage: (message) => new UsageError(message),
    setExit: (code) => {
      exitCode = code;
    },
  });
  registerDiffCommand(program, {
    compileSpec: (spec, more = {}) => compileOrExit(spec, {}, undefined, [], more),
    printDiagnostics,
    paint: (color) => painter(colorWanted(color)),
    usage: (message) => new UsageError(message),
    setExit: (code) => {
      exitCode = code;
    },
  });
  registerGraphCommand(program, {
    compileSpec: (spec) => compileOrExit(spec, {}, undefined, [], { emit: false }),
    printDiagnostics,
    paint: (color) => painter(colorWanted(color)),
    usage: (message) => new UsageError(message),
    setExit: (code) => {
      exitCode = code;
    },
  });
  registerCompletionCommands(program, {
    usage: (message) => new UsageError(message),
    // The phases the spec declares, from its syntax alone: completion must answer at once.
    compilePhases: async (spec) => {
      const [{ readSource }, { parse }] = await Promise.all([import("../modules.js"), import("../../grammar/index.js")]);
      const r = readSource(spec);
      if ("problem" in r) return [];
      return parse(r.text, spec).module.decls.flatMap((d) => (d.kind === "instance" && d.schema.name === "phase" ? [d.name.name] : []));
    },
  });
  registerWhyCommand(program, {
    usage: (message) => new UsageError(message),
    setExit: (code) => {
      exitCode = code;
    },
  });
  registerBackendCommand(program, {
    paint: (color) => painter(colorWanted(color)),
    setExit: (code) => {
      exitCode = code;
    },
  });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
      return EXIT_USAGE;
    }
    if (err instanceof UsageError || err instanceof DataUsageError || err instanceof LevelUsageError || err instanceof ChatUsageError) {
      process.stderr.write(`llavac: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof DataFailure || err instanceof RunFailure || err instanceof BackendFailure || err instanceof ChatFailure) {
      process.stderr.write(`llavac: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `llavac: internal error: ${(err as Error)?.stack ?? String(err)}\nplease report this with the spec that caused it\n`,
    );
    process.exitCode = 70;
  },
);
