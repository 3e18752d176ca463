// `llavac backend`: which tfjs backends load here (and why the others do not), their versions and
// threads. `llavac backend install`: build the native one from a TensorFlow wheel, offline.
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { packageRoot } from "../../runtime/util/package-root.js";
import type { Painter } from "../diagnostics.js";

export class BackendFailure extends Error {}

interface Io {
  paint: (color?: boolean) => Painter;
  setExit(code: number): void;
}

/** The runtime bundle (dist/runtime.js): the CLI bundle must not carry its own copy of tfjs's engine. */
async function runtime(): Promise<typeof import("../../runtime/index.js")> {
  return import(pathToFileURL(path.join(packageRoot(), "dist", "runtime.js")).href) as Promise<typeof import("../../runtime/index.js")>;
}

export function registerBackendCommand(program: Command, io: Io): void {
  const cmd = program
    .command("backend")
    .description(
      "list the tfjs backends, which load here and why not, their versions and threads; `backend install` builds the native one offline",
    )
    .option("--format <format>", "human or json", "human")
    .option("--no-color", "no ANSI colours")
    .action(async (o: { format: string; color?: boolean }) => {
      if (o.format !== "human" && o.format !== "json") throw new BackendFailure(`unknown format "${o.format}" (use human or json)`);
      const rows = await (await runtime()).probeBackends();
      const { buildTools } = await import("../../runtime/backend/install.js");
      const tools = buildTools();
      if (o.format === "json") {
        process.stdout.write(
          JSON.stringify(
            { backends: rows, chosen: rows.find((r) => r.chosen)?.backend ?? null, env: process.env.LLAVAC_BACKEND ?? null, build: tools },
            null,
            2,
          ) + "\n",
        );
      } else {
        const p = io.paint(o.color);
        for (const r of rows) {
          const mark = r.ok ? p.green("✓") : p.red("✗");
          const head = `${mark} ${p.bold(r.backend.padEnd(14))}`;
          if (r.ok)
            process.stdout.write(`${head} ${r.version}; threads: ${r.threads}${r.chosen ? p.cyan("  ← used by llavac run") : ""}\n`);
          else process.stdout.write(`${head} ${p.dim(r.error ?? "")}${r.hint ? `\n  ${p.dim("→ " + r.hint)}` : ""}\n`);
        }
        if (process.env.LLAVAC_BACKEND)
          process.stdout.write(`LLAVAC_BACKEND=${process.env.LLAVAC_BACKEND} chooses the backend for llavac run and the runtime\n`);
        process.stdout.write(
          p.dim(
            `native build tools: node-gyp ${tools.nodeGyp ?? "missing"}; Node headers ${tools.nodedir ?? "none here (node-gyp would download them)"}; C++ compiler ${tools.compiler ? "found" : "missing"}\n`,
          ),
        );
      }
      io.setExit(rows.some((r) => r.ok) ? 0 : 1);
    });

  cmd
    .command("install")
    .description("build @tensorflow/tfjs-node (or -gpu) from a TensorFlow wheel, without the libtensorflow download")
    .option("--wheel <file>", "a TensorFlow wheel (.whl) to take libtensorflow and its headers from")
    .option("--pip <spec>", "a pip requirement to download the wheel with (default tensorflow-cpu==2.21.0; with --gpu tensorflow==2.21.0)")
    .option("--gpu", "build @tensorflow/tfjs-node-gpu from the CUDA wheel")
    .action(async (o: { wheel?: string; pip?: string; gpu?: boolean }) => {
      const { installNative, InstallError } = await import("../../runtime/backend/install.js");
      const t0 = Date.now();
      try {
        const r = installNative({ ...o, log: (s) => process.stderr.write(`backend install: ${s}\n`) });
        process.stdout.write(
          `✓ built ${r.package} from ${r.wheel} in ${((Date.now() - t0) / 1000).toFixed(0)} s: tfjs backend "${r.check.backend}", TensorFlow ${r.check.tensorflow}; \`llavac backend\` lists it\n`,
        );
        io.setExit(0);
      } catch (err) {
        if (err instanceof InstallError) throw new BackendFailure(err.message);
        throw err;
      }
    });
}
