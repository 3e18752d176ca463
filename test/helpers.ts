// Shared by the tests: compile specs held in memory, and find diagnostics by code.
import path from "node:path";
import { compile, type CompileResult } from "../compiler/compile.js";
import type { Diagnostic } from "../compiler/diagnostics.js";
import { nodeFs, type FileSystem } from "../compiler/modules.js";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const VIRTUAL = path.join(ROOT, "test", "virtual");

export interface Checked {
  result: CompileResult;
  diags: Diagnostic[];
  codes: string[];
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** The first diagnostic with this code; fails the test if there is none. */
  one(code: string): Diagnostic;
}

/**
 * Compile `files` (name → text, the first one is the root) as if they were in test/virtual/.
 * `dirs` lists folders that exist (relative to the working directory) for data-folder checks.
 */
export async function check(
  files: Record<string, string> | string,
  opts: { strict?: boolean; env?: Record<string, string>; dirs?: string[]; overrides?: string[] } = {},
): Promise<Checked> {
  const map = typeof files === "string" ? { "spec.llava": files } : files;
  const abs = new Map(Object.entries(map).map(([k, v]) => [path.join(VIRTUAL, k), v]));
  const dirs = new Set((opts.dirs ?? []).map((d) => path.resolve(VIRTUAL, d)));
  const fs: FileSystem = {
    read: (f) => abs.get(f) ?? (f.startsWith(VIRTUAL) ? undefined : nodeFs.read(f)),
    exists: (f) => abs.has(f) || dirs.has(f),
  };
  const rootName = Object.keys(map)[0]!;
  const result = await compile(path.join(VIRTUAL, rootName), {
    fs,
    cwd: VIRTUAL,
    env: opts.env ?? {},
    strict: opts.strict ?? false,
    overrides: opts.overrides ?? [],
  });
  const diags = result.diags.sorted();
  return {
    result,
    diags,
    codes: diags.map((d) => d.code),
    errors: diags.filter((d) => d.severity === "error"),
    warnings: diags.filter((d) => d.severity === "warning"),
    one(code: string): Diagnostic {
      const d = diags.find((x) => x.code === code);
      if (!d) throw new Error(`no ${code} among: ${diags.map((x) => `${x.code} ${x.message}`).join("; ") || "(none)"}`);
      return d;
    },
  };
}

/** 1-based line and column of the first occurrence of `needle` (after `from`) in `text`. */
export function locate(text: string, needle: string, from?: string): { line: number; col: number } {
  const start = from ? text.indexOf(from) : 0;
  if (start < 0) throw new Error(`anchor not found: ${from}`);
  const at = text.indexOf(needle, start);
  if (at < 0) throw new Error(`not found: ${needle}`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

/** Where a diagnostic points, for comparison with `locate`. */
export function pos(d: Diagnostic): { line: number; col: number } {
  return { line: d.span.line, col: d.span.col };
}

/** A small, valid spec (tiny models) that tests mutate one line at a time. */
export const TINY = `import { tiny_vit } from "std/vision"
import { tiny_llama } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { plain, vicuna_v1 } from "std/templates"

dataset shapes { format: llava_jsonl, samples: 1000, jsonl: "./jsonl" }

model tiny {
  vision    = tiny_vit
  projector = mlp2x_gelu
  language  = tiny_llama
}

phase align {
  model     = tiny
  data      = shapes
  template  = plain
  images    = "./images"
  hdf5      = "./h5/align"
  preprocess = hdf5_writer { output: "./h5/align_raw" }
  freeze    = [/^image_model/, /^text_model/]
  batch     = 32 per step, 8 per micro-batch
  optimizer = adamw { lr: 1e-3 }
  schedule  = warmup_cosine { length: 2 epochs, warmup: 10% }
}

phase tune {
  from      = align(states: model)
  model     = tiny
  data      = shapes
  template  = vicuna_v1
  images    = "./images"
  hdf5      = "./h5/tune"
  preprocess = hdf5_writer { output: "./h5/tune_raw" }
  freeze    = [/^image_model/]
  batch     = 32 per step
  optimizer = adamw { lr: 2e-4 }
  schedule  = warmup_cosine { length: 3 epochs }
}
`;

export const TINY_DIRS = ["images", "h5/align", "h5/tune"];

/** TINY with one piece of text replaced (the replacement must happen exactly once). */
export function tinyWith(find: string, replace: string): string {
  const i = TINY.indexOf(find);
  if (i < 0 || TINY.indexOf(find, i + 1) >= 0) throw new Error(`"${find}" must occur exactly once in TINY`);
  return TINY.slice(0, i) + replace + TINY.slice(i + find.length);
}

/**
 * Run a command without blocking the test worker's event loop (vitest's RPC times out when a
 * synchronous child process holds it for minutes).
 */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string | undefined> },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    let stdout = "",
      stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
