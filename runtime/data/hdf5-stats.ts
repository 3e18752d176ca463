// What the HDF5 job's main thread shares with its workers without loading them: a worker's empty counts and
// where it logs its skipped samples. Importing hdf5-worker-core.ts instantiates h5wasm and loads sharp, which
// a main thread that only dispatches to worker threads does not need.
import path from "node:path";
import type { Stats } from "./hdf5-worker-core.js";

export function emptyStats(): Stats {
  return {
    processed: 0,
    kept: 0,
    withImage: 0,
    textOnly: 0,
    skipped: {},
    numTokens: 0,
    nonPadTokens: 0,
    lossValidTokens: 0,
    rawChars: 0,
    rawBytes: 0,
    detokenizedChars: 0,
    detokenizedBytes: 0,
    imageStart: null,
  };
}

export function skipLogPath(out: string, worker: number): string {
  return path.join(out, `.llavac-skipped-${worker}.jsonl`);
}
