// Worker-thread entry of `check --data` on large inputs (bundled as dist/check-data-worker.js): classifies
// the batches it is sent, one at a time, and answers each with its outcome (check-data.ts merges them in
// input order). The pass's configuration is the first message, so a worker can be started before the spec
// is compiled (check-data.ts prestartWorkers); `warm` loads sharp meanwhile, for a pass that checks images.
import { parentPort, workerData } from "node:worker_threads";
import { loadTokenizer } from "../text/tokenizer.js";
import type { ImageCheck } from "./classify.js";
import { BatchChecker, type CheckDataConfig } from "./check-data.js";
import type { Batch } from "./jsonl.js";

if ((workerData as { warm?: boolean } | undefined)?.warm) import("sharp").catch(() => undefined);
let checker: Promise<BatchChecker> | undefined;
let queue: Promise<unknown> = Promise.resolve();
parentPort!.on("message", (m: Batch | { cfg: CheckDataConfig; images: ImageCheck }) => {
  if ("cfg" in m) {
    const { cfg, images } = m;
    queue = checker = loadTokenizer(cfg.tokenizer, cfg.padId).then((tok) => new BatchChecker(tok, cfg, images));
    return;
  }
  queue = queue.then(async () => {
    try {
      const outcome = await (await checker!).checkBytes(m);
      parentPort!.postMessage({ index: m.index, outcome });
    } catch (err) {
      parentPort!.postMessage({ index: m.index, error: (err as Error)?.stack ?? String(err) });
    }
  });
});
