// What `llavac backend` lists: each tfjs backend tried in this process, in the runtime's order of
// preference, with its version and threads, or why it does not load.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import * as tf from "./tf.js";
import { BACKENDS, selectBackend } from "./index.js";

export interface BackendRow {
  backend: string;
  ok: boolean;
  /** tfjs package version, and for the node backends the TensorFlow C library's. */
  version?: string;
  threads?: string;
  error?: string;
  chosen?: boolean;
  /** How to get a backend that does not load. */
  hint?: string;
}

const HINT: Record<string, string> = {
  "tensorflow-gpu": "llavac backend install --gpu (needs the CUDA wheel and CUDA libraries)",
  tensorflow: "llavac backend install",
};

/** Try every backend in this process, in the runtime's order of preference. */
export async function probeBackends(): Promise<BackendRow[]> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= "2";
  const rows: BackendRow[] = [];
  for (const b of BACKENDS) {
    // tfjs-node-gpu and tfjs-node both register tfjs backend "tensorflow"; two libtensorflows in one
    // process is not a configuration anyone runs, so the CPU one is only reported as shadowed.
    if (b === "tensorflow" && rows[0]?.ok) {
      rows.push({ backend: b, ok: false, error: "not probed: tensorflow-gpu already provides tfjs backend tensorflow" });
      continue;
    }
    try {
      await selectBackend(b);
      const row: BackendRow = { backend: b, ok: true };
      if (b === "tensorflow" || b === "tensorflow-gpu") {
        const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
        row.version = `tfjs-node ${(createRequire(import.meta.url)(`@tensorflow/tfjs-node${b === "tensorflow-gpu" ? "-gpu" : ""}/package.json`) as { version: string }).version}, TensorFlow ${binding?.TF_Version ?? "?"}`;
        const intra = process.env.TF_NUM_INTRAOP_THREADS,
          inter = process.env.TF_NUM_INTEROP_THREADS;
        row.threads = `${intra ?? availableParallelism()} intra-op${intra ? "" : " (all cores; TF_NUM_INTRAOP_THREADS sets it)"}, ${inter ?? "default"} inter-op`;
      } else if (b === "wasm") {
        const wasm = await import("@tensorflow/tfjs-backend-wasm");
        row.version = `tfjs-backend-wasm ${wasm.version_wasm}`;
        row.threads = `${wasm.getThreadsCount()} (Node runs the single-threaded SIMD build)`;
      } else {
        const cpu = await import("@tensorflow/tfjs-backend-cpu");
        row.version = `tfjs-backend-cpu ${cpu.version_cpu}`;
        row.threads = "1 (JavaScript)";
      }
      rows.push(row);
    } catch (err) {
      const msg = (err as Error).message.replace(/^backend \S+ is not available \(\S+: /, "").replace(/\)$/, "");
      rows.push({ backend: b, ok: false, error: msg, ...(HINT[b] ? { hint: HINT[b] } : {}) });
    }
  }
  const first = rows.find((r) => r.ok);
  if (first) first.chosen = true;
  return rows;
}
