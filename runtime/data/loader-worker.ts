// Worker-thread entry of the training data loader (bundled as dist/loader-worker.js): reads samples
// and prepares images while the training thread computes.
import { parentPort, workerData } from "node:worker_threads";
import { SampleReader, type LoaderSource } from "./loader-core.js";

type Request = { type: "read"; id: number; indices: number[] } | { type: "close" };

const reader = new SampleReader(workerData as LoaderSource);
const opened = reader.open();
opened.then(
  (info) => parentPort!.postMessage({ type: "open", info }),
  (err: Error) => parentPort!.postMessage({ type: "error", id: -1, message: err.message }),
);

let queue: Promise<unknown> = opened;
parentPort!.on("message", (m: Request) => {
  if (m.type === "close") {
    queue.finally(() => {
      reader.close();
      process.exit(0);
    });
    return;
  }
  queue = queue.then(async () => {
    try {
      const s = await reader.read(m.indices);
      parentPort!.postMessage({ type: "samples", id: m.id, samples: s }, [s.rows.buffer as ArrayBuffer, s.images.buffer as ArrayBuffer]);
    } catch (err) {
      parentPort!.postMessage({ type: "error", id: m.id, message: (err as Error).message });
    }
  });
});
