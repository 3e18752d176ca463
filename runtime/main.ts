// The entry point of generated training programs: parse the command line, run the phase, print a
// summary. `node train.mjs --help` lists the options.
import { parseArgs } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BackendError } from "./backend/index.js";
import { LoaderError } from "./data/samples.js";
import type { PhaseRunConfig } from "./train/config.js";
import { runPhase, TrainingError, type RunReport } from "./train/run.js";
import { thousands } from "./util/format.js";

const HELP = `options:
  --backend <name>   tensorflow-gpu, tensorflow, wasm or cpu (default: the fastest that loads)
  --steps <n>        stop after n updates (checkpointed, so a later run continues)
  --fresh            start over, deleting this phase's checkpoints
  --inline-loader    read data in the training thread
  --json             print the run report as JSON
  -h, --help         this help`;

export function summary(r: RunReport): string {
  const first = r.steps[0],
    last = r.steps[r.steps.length - 1];
  const lines = [
    `phase ${r.phase}: ${r.taken} steps on ${r.backend.backend} (${r.start.kind}${r.start.step ? ` at step ${r.start.step}` : ""}), ${r.seconds.toFixed(1)} s`,
    `  parameters: ${thousands(r.params.trainable)} trainable, ${thousands(r.params.frozen)} frozen`,
  ];
  if (first && last)
    lines.push(
      `  loss: ${first.loss.toFixed(4)} (step ${first.step}) → ${last.loss.toFixed(4)} (step ${last.step}) · ${thousands(Math.round(r.tokensPerSecond))} tokens/s`,
    );
  const e0 = r.eval?.[0],
    e1 = r.eval?.[r.eval.length - 1];
  if (e0 && e1)
    lines.push(`  eval loss: ${e0.loss.toFixed(4)} (step ${e0.step}) → ${e1.loss.toFixed(4)} (step ${e1.step}) on the held-out split`);
  if (r.imageFailures.length)
    lines.push(
      `  ${r.imageFailures.length} image(s) failed to load and were replaced by blank images with no loss; first: ${r.imageFailures[0]!.image}: ${r.imageFailures[0]!.error}`,
    );
  if (r.noSupervised.length) lines.push(`  ${r.noSupervised.length} sample(s) had no supervised token`);
  if (r.checkpoint) lines.push(`  checkpoint: ${path.relative(process.cwd(), r.checkpoint) || r.checkpoint}`);
  if (r.lossCurve) lines.push(`  loss curve: ${path.relative(process.cwd(), r.lossCurve.png)}`);
  if (r.metrics)
    lines.push(
      `  metrics: ${path.relative(process.cwd(), r.metrics.jsonl)} and TensorBoard events (tensorboard --logdir ${path.relative(process.cwd(), path.dirname(r.metrics.jsonl)) || "."})`,
    );
  return lines.join("\n");
}

/** Run `config` with options from the command line; `programUrl` is the program's import.meta.url. */
export async function main(config: PhaseRunConfig, programUrl: string, argv: string[] = process.argv.slice(2)): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        backend: { type: "string" },
        steps: { type: "string" },
        fresh: { type: "boolean" },
        "inline-loader": { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${HELP}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${config.spec}, phase ${config.phase}\n${HELP}\n`);
    return;
  }
  const steps = values.steps === undefined ? undefined : Number(values.steps);
  if (steps !== undefined && !(Number.isInteger(steps) && steps > 0)) {
    process.stderr.write(`error: --steps wants a positive integer, not ${values.steps}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const report = await runPhase(config, {
      baseDir: path.dirname(fileURLToPath(programUrl)),
      ...(values.backend ? { backend: values.backend } : {}),
      ...(steps ? { steps } : {}),
      fresh: values.fresh ?? false,
      inlineLoader: values["inline-loader"] ?? false,
    });
    process.stdout.write((values.json ? JSON.stringify(report, null, 1) : summary(report)) + "\n");
  } catch (err) {
    if (err instanceof TrainingError || err instanceof BackendError || err instanceof LoaderError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    if (err instanceof Error && err.name === "RuntimeError" && /Aborted/.test(err.message)) {
      // XNNPACK aborts the module when an allocation fails: the wasm heap is 32-bit.
      process.stderr.write(
        `error: the wasm backend ran out of memory (its heap is limited to 4 GiB). Make the micro-batch smaller (\`batch = ${config.batch.global} per step, ${Math.max(1, Math.floor(config.batch.micro / 2))} per micro-batch\` in the spec), or install @tensorflow/tfjs-node.\n`,
      );
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`internal error: ${(err as Error)?.stack ?? String(err)}\nplease report this with the spec that caused it\n`);
    process.exitCode = 70;
  }
}
