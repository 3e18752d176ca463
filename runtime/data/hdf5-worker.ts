// Worker-thread entry of the HDF5 job (bundled as dist/hdf5-worker.js).
import { parentPort, workerData } from "node:worker_threads";
import { OutputWriteError } from "../util/atomic.js";
import { Hdf5Worker, type WorkerConfig, type WorkerState } from "./hdf5-worker-core.js";
import type { Batch } from "./jsonl.js";

type Message = { type: "batch"; batch: Batch } | { type: "end" };

const { id, config, resume } = workerData as { id: number; config: WorkerConfig; resume?: WorkerState };
const worker = new Hdf5Worker(id, config, resume, (e) => parentPort!.postMessage(e));

// Batches are handled strictly in order, one at a time.
let queue = worker.init().then(() => parentPort!.postMessage({ type: "ready", worker: id }));
parentPort!.on("message", (m: Message) => {
  queue = queue
    .then(async () => {
      if (m.type === "batch") await worker.process(m.batch);
      else worker.finish();
    })
    .catch((err: unknown) => {
      worker.abort();
      // A failed write is the user's situation (a full disk), told as is; anything else is a fault, with its stack.
      const write = err instanceof OutputWriteError;
      parentPort!.postMessage({ type: "error", worker: id, write, message: write ? err.message : ((err as Error)?.stack ?? String(err)) });
    });
});
