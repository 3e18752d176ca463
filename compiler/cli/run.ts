// `llavac run`: build a spec, make sure each phase's HDF5 data exists (drawing synthetic data, writing
// HDF5, shuffling), then run each phase's generated train.ts with Node. `--smoke` runs the same spec
// with a shrunken model on the first samples of the real files and reports what a cluster job would
// trip over.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import type { RunReport } from "../../runtime/train/run.js";
import { writeFileAtomic } from "../../runtime/util/atomic.js";
import { packageRoot } from "../../runtime/util/package-root.js";
import { thousands } from "../../runtime/util/format.js";
import type { CompileResult, PhaseResult } from "../compile.js";
import type { Derived } from "../derive.js";
import type { Painter } from "../diagnostics.js";
import { SHAPES_DEFAULTS, synthesizeShapes } from "./data.js";
import { generatedBy } from "../version.js";
import { addLevelOptions, levelsOf, type LevelOptions } from "./level-options.js";
import { smokeConfig, smokeReport, type SmokeSettings } from "../smoke.js";
import { addSetOption } from "../overrides.js";

export class RunFailure extends Error {}

interface Io {
  paint: (color?: boolean) => Painter;
  compileSpec(spec: string, levels?: LevelOptions, overrides?: string[]): Promise<CompileResult>;
  printDiagnostics(result: CompileResult, paint: Painter): void;
  setExit(code: number): void;
}

type Phase = PhaseResult & { derived: Derived };

const hasH5 = (dir: string) => existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir).some((f) => f.endsWith(".h5"));

/** The held-out split's HDF5 folder, when the phase evaluates one and the folder has no HDF5 files yet. */
async function ensureEvalData(result: CompileResult, p: Phase, workers: number): Promise<void> {
  const ev = p.unit.ir.eval;
  if (!p.unit.ir.eval_every || ev?.hdf5 === undefined || hasH5(path.resolve(result.ctx.cwd, ev.hdf5))) return;
  const { DataJobError, heldOutPhase } = await import("../data-job.js");
  let heldOut: Phase;
  try {
    heldOut = heldOutPhase(p);
  } catch (err) {
    if (err instanceof DataJobError)
      throw new RunFailure(`phase ${p.unit.ir.$name} has no held-out HDF5 data in ${ev.hdf5}: ${err.message}`);
    throw err;
  }
  await ensureData(result, heldOut, workers, `${p.unit.ir.$name} eval`);
}

/** Make the phase's HDF5 folder: draw synthetic datasets that are missing, write HDF5, shuffle if the spec reads another folder. */
async function ensureData(result: CompileResult, p: Phase, workers: number, label = p.unit.ir.$name): Promise<void> {
  const ir = p.unit.ir;
  const at = (f: string) => path.resolve(result.ctx.cwd, f);
  if (hasH5(at(ir.hdf5))) return;
  for (const d of ir.data) {
    if (d.format === "synthetic_shapes" && d.jsonl && !existsSync(at(d.jsonl))) {
      if (!d.root) throw new RunFailure(`dataset ${d.$name ?? "?"}: a synthetic_shapes dataset needs \`root\`, the folder to draw it in`);
      process.stderr.write(`drawing the shapes dataset in ${d.root}\n`);
      await synthesizeShapes(at(d.root), SHAPES_DEFAULTS);
    }
  }
  const { DataJobError, hdf5JobConfig } = await import("../data-job.js");
  const { runHdf5Job, Hdf5JobError } = await import("../../runtime/data/hdf5-job.js");
  const { progress } = await import("../../runtime/util/progress.js");
  let bar: ReturnType<typeof progress> | undefined;
  try {
    const cfg = hdf5JobConfig(result, p, { workers, force: false, checkImages: true });
    const r = await runHdf5Job(cfg, {
      onStart: ({ totalBytes }) => {
        bar = progress(`hdf5 ${label}`, totalBytes, "samples");
      },
      onProgress: ({ bytes, processed }) => bar?.update(bytes, { items: processed }),
    });
    bar?.stop();
    const skipped = Object.values(r.stats.skipped).reduce((a, b) => a + b, 0);
    process.stderr.write(
      `hdf5 ${label}: ${thousands(r.stats.kept)} samples in ${r.files.length} file(s)${skipped ? `, ${thousands(skipped)} skipped (see ${path.relative(process.cwd(), cfg.out) || "."})` : ""}\n`,
    );
    if (path.resolve(cfg.out) !== at(ir.hdf5)) {
      const { shuffle } = await import("../../runtime/data/shuffle.js");
      const s = await shuffle({
        input: cfg.out,
        out: at(ir.hdf5),
        chunks: Math.max(1, Math.min(16, r.files.length)),
        seed: ir.preprocess?.seed ?? 0,
      });
      process.stderr.write(`shuffle ${label}: ${thousands(s.samples)} samples into ${ir.hdf5}\n`);
    }
  } catch (err) {
    bar?.stop();
    if (err instanceof DataJobError || err instanceof Hdf5JobError) {
      const fix = /--force/.test(err.message)
        ? ` (\`llavac data hdf5 ${path.relative(process.cwd(), result.file)} --phase ${ir.$name} --force\` rewrites them)`
        : "";
      throw new RunFailure(
        `phase ${label} has no HDF5 data in ${ir.hdf5} and llavac cannot make it: ${err.message.replace(/; pass --force to replace them$/, "")}${fix}`,
      );
    }
    throw err;
  }
}

function runProgram(mjs: string, args: string[]): Promise<number> {
  const register = path.join(packageRoot(), "dist", "register.mjs");
  if (!existsSync(register)) throw new RunFailure(`${register} is missing: run \`npm run build\` in the llavac package`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", pathToFileURL(register).href, mjs, ...args], { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

interface RunOpts {
  phase?: string;
  weights?: string[];
  out?: string;
  set: string[];
  smoke?: boolean;
  steps?: string;
  backend?: string;
  fresh?: boolean;
  workers?: string;
}

/** Where `llavac run` writes when no `-o` is given: a folder per spec, so two specs never share checkpoints. */
export function defaultRunDir(spec: string): string {
  return path.join("out", path.parse(spec).name);
}

export function registerRunCommand(program: Command, io: Io): void {
  addSetOption(
    addLevelOptions(
      program
        .command("run")
        .description("train a spec's phases on this machine with TensorFlow.js (building the program and HDF5 data first)")
        .argument("<spec>", "the .llava file"),
    ),
  )
    .option("--phase <name>", "run only this phase (default: every phase, in order)")
    .option("-o, --out <dir>", "output folder for programs, checkpoints and loss curves (default: out/<spec name>)")
    .option("--smoke", "shrink the model and run a few steps on the first samples of the real data, then report")
    .option("--steps <n>", "stop each phase after n updates (smoke runs: default 50)")
    .option("--backend <name>", "tensorflow-gpu, tensorflow, wasm or cpu (default: the fastest available)")
    .option("--fresh", "start over instead of resuming from checkpoints")
    .option(
      "--weights <paths...>",
      "start phases that do not start from another phase from these safetensors files or folders (HF or Cerebras names)",
    )
    .option("--workers <n>", "HDF5 writer threads when data must be made (default: the number of cores)")
    .action(async (spec: string, o: RunOpts & LevelOptions) => {
      const result = await io.compileSpec(spec, levelsOf(o), o.set);
      const paint = io.paint();
      if (result.diags.errorCount > 0) {
        io.printDiagnostics(result, paint);
        throw new RunFailure(`${spec} has ${result.diags.errorCount} error(s)`);
      }
      const all = result.phases.filter((p): p is Phase => p.derived !== undefined);
      const phases = o.phase === undefined ? all : all.filter((p) => p.unit.ir.$name === o.phase);
      if (phases.length === 0) throw new RunFailure(`no phase \`${o.phase}\` (the spec has ${all.map((p) => p.unit.ir.$name).join(", ")})`);
      const steps = o.steps === undefined ? undefined : Number(o.steps);
      if (steps !== undefined && !(Number.isInteger(steps) && steps > 0)) throw new RunFailure("--steps wants a positive integer");
      const workers = o.workers === undefined ? availableParallelism() : Number(o.workers);
      for (const w of o.weights ?? []) if (!existsSync(w)) throw new RunFailure(`--weights: not found: ${w}`);

      // Only the programs: a phase trains here even when its Cerebras YAML cannot be emitted
      // (`llavac build` reports that).
      const { writeAtomically } = await import("../build.js");
      const { trainProgram } = await import("../emit/train-program.js");
      const { runConfig } = await import("../run-config.js");
      const out = o.out ?? defaultRunDir(spec);
      const outDir = o.smoke ? path.join(out, "smoke") : out;
      const smoke: SmokeSettings | undefined = o.smoke ? { steps: steps ?? 50, batch: 4, micro: 2, lr: 1e-3 } : undefined;
      const header = (name: string) => [
        generatedBy(
          path.basename(result.file),
          `, phase ${name}${smoke ? `, shrunk for a smoke run (${smoke.steps} steps on the first samples)` : ""}`,
        ),
      ];
      // Each phase's program twice: train.ts to read, and train.mjs, the same program as JavaScript, to run
      // (emitted as such: transpiling train.ts meant loading the TypeScript compiler, a second per phase).
      const programs = phases.map((p) => {
        const base = runConfig(result, p, outDir);
        if (o.weights?.length && !base.init.from_phase) {
          const here = path.resolve(outDir, p.unit.ir.$name);
          base.init = { weights: o.weights.map((w) => path.relative(here, path.resolve(w)).split(path.sep).join("/")) };
        }
        // A smoke run checks the training path only: no held-out evaluation.
        if (smoke) delete base.eval;
        const cfg = smoke ? smokeConfig(base, smoke) : base;
        const notes: Record<string, string> = smoke
          ? {
              model:
                "Shrunk for a smoke run: the spec's modules and names with small widths and depths; image size, patches,\nvocabulary and sequence length as the spec says.",
            }
          : {};
        const extra = {
          header: header(p.unit.ir.$name),
          notes,
          specPath: path.relative(result.ctx.cwd, result.file).split(path.sep).join("/"),
        };
        return {
          ts: { path: `${p.unit.ir.$name}/train.ts`, content: trainProgram(cfg, p.unit.ir.model, extra) },
          mjs: trainProgram(cfg, p.unit.ir.model, { ...extra, javascript: true }),
        };
      });
      writeAtomically(
        outDir,
        programs.map((x) => x.ts),
      );

      let failed = false;
      for (const [i, p] of phases.entries()) {
        const name = p.unit.ir.$name;
        await ensureData(result, p, workers);
        if (!smoke) await ensureEvalData(result, p, workers);
        const mjs = path.join(outDir, name, "train.mjs");
        writeFileAtomic(mjs, programs[i]!.mjs);
        process.stderr.write(`${paint.bold(`── ${o.smoke ? "smoke " : ""}${name}`)} (${path.relative(process.cwd(), mjs)})\n`);
        const args = [
          ...(steps && !o.smoke ? ["--steps", String(steps)] : []),
          ...(o.backend ? ["--backend", o.backend] : []),
          ...(o.fresh || o.smoke ? ["--fresh"] : []),
        ];
        const code = await runProgram(mjs, args);
        if (code !== 0) throw new RunFailure(`phase ${name} failed (exit code ${code})`);
        if (smoke) {
          const report = JSON.parse(readFileSync(path.join(outDir, name, "run.json"), "utf8")) as RunReport;
          const r = smokeReport(p, report, smoke, paint);
          process.stdout.write(r.text + "\n");
          failed ||= !r.ok;
        }
      }
      if (failed) io.setExit(1);
    });
}
