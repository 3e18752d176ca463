// `llavac data prepare <kind>`: one converter per raw dataset format of the seed workflow.
import { ai2d, arxivqa, chartqa, dvqa, infographicsDocvqa, spDocvqa } from "./qa.js";
import { arxivcap, synthdog } from "./parquet.js";
import { json2jsonl } from "./json2jsonl.js";
import { killPoint } from "../../util/kill-point.js";
import { lockFolder } from "../../util/lock.js";
import { PrepareError, removeStaleTemporaries, Sink, type PrepareOptions, type PrepareSummary } from "./sink.js";

/** Every input was skipped: nothing was written. */
export class PrepareEmpty extends PrepareError {
  constructor(readonly summary: PrepareSummary) {
    super(
      `nothing was written: all inputs were skipped (${
        Object.entries(summary.skipped)
          .map(([r, s]) => `${r} ${s.count}`)
          .join(", ") || "no records found"
      })`,
    );
  }
}

export { OutputWriteError } from "../jsonl.js";
export { LockHeld } from "../../util/lock.js";
export { PrepareError, type PrepareOptions, type PrepareSummary } from "./sink.js";

export const CONVERTERS = {
  ai2d: { input: "the AI2D folder (with questions/ and images/)", run: ai2d },
  arxivqa: { input: "arxivqa.jsonl, or the folder holding it", run: arxivqa },
  arxivcap: { input: "a folder of ArxivCap .parquet files", run: arxivcap },
  chartqa: { input: "the ChartQA_Dataset folder (train/, val/, test/)", run: chartqa },
  dvqa: { input: "the DVQA folder (train_qa.json, ...)", run: dvqa },
  sp_docvqa: { input: "the folder with train_v1.0_withQT.json and val_v1.0_withQT.json", run: spDocvqa },
  infographics_docvqa: { input: "the folder with infographicsVQA_{train_v1.0,val_v1.0_withQT}.json", run: infographicsDocvqa },
  synthdog_en: { input: "a folder of Synthdog-EN .parquet files", run: synthdog },
  json2jsonl: { input: "a .json array file, or a folder of them (LCS-558K, LLaVA-665K, ShareGPT4V)", run: json2jsonl },
} as const;

export type ConverterKind = keyof typeof CONVERTERS;

export async function prepare(kind: ConverterKind, opts: PrepareOptions): Promise<PrepareSummary> {
  const lock = lockFolder(opts.out, `llavac data prepare ${kind}`);
  let summary: PrepareSummary;
  killPoint("prepare:locked");
  try {
    if (opts.images) removeStaleTemporaries(opts.images);
    const sink = new Sink(kind, opts.out, opts.onProgress);
    try {
      await CONVERTERS[kind].run(opts, sink);
    } catch (err) {
      await sink.abort();
      throw err;
    }
    summary = await sink.close();
    killPoint("prepare:closed");
  } finally {
    lock.release();
  }
  // A run that wrote nothing is not a success: every input was skipped (the summary says why).
  if (summary.kept === 0) throw new PrepareEmpty(summary);
  return summary;
}
