// Worker-thread entry of `check --data` on large inputs (bundled as dist/check-data-worker.js): classifies
// the batches it is sent, one at a time, and answers each with its outcome (check-data.ts merges them in
// input order).
import { parentPort, workerData } from "node:worker_threads";
import { loadTokenizer } from "../text/tokenizer.js";
import type { ImageCheck } from "./classify.js";
import { BatchChecker, type CheckDataConfig } from "./check-data.js";
import type { Batch } from "./jsonl.js";

const { cfg, images } = workerData as { cfg: CheckDataConfig; images: ImageCheck };
const checker = loadTokenizer(cfg.tokenizer, cfg.padId).then((tok) => new BatchChecker(tok, cfg, images));
let queue: Promise<unknown> = checker;
parentPort!.on("message", (batch: Batch) => {
  queue = queue.then(async () => {
    try {
      const outcome = await (await checker).checkBytes(batch);
      parentPort!.postMessage({ index: batch.index, outcome });
    } catch (err) {
      parentPort!.postMessage({ index: batch.index, error: (err as Error)?.stack ?? String(err) });
    }
  });
});
