// LCS-558K, LLaVA-665K and ShareGPT4V ship one JSON array of LLaVA records; the HDF5 writer reads
// jsonl. This streams the array (hundreds of MB) and writes one record per line.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { jsonArray } from "../json-stream.js";
import { OutputWriteError } from "../jsonl.js";
import { isProblem, validateRecord, type LlavaRecord } from "../records.js";
import { joinImage, PrepareError, type PrepareOptions, type Sink } from "./sink.js";

export async function json2jsonl(opts: PrepareOptions, sink: Sink): Promise<void> {
  if (!existsSync(opts.input)) throw new PrepareError(`not found: ${opts.input}`);
  const files = statSync(opts.input).isDirectory()
    ? readdirSync(opts.input)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => path.join(opts.input, f))
    : [opts.input];
  if (files.length === 0) throw new PrepareError(`no .json files in ${opts.input}`);
  for (const file of files) {
    const out = path.basename(file).replace(/\.json$/, "") + ".jsonl";
    try {
      for await (const { index, value } of jsonArray(file)) {
        const rec = validateRecord(value);
        if (isProblem(rec)) {
          sink.skip(rec.reason, `${file}[${index}]`, rec.detail);
          continue;
        }
        const record = value as LlavaRecord;
        // All datasets of a phase share one image root; a prefix moves this dataset's paths under it.
        if (opts.imagePrefix && typeof record.image === "string") record.image = joinImage(opts.imagePrefix, record.image);
        await sink.add(out, record);
      }
    } catch (err) {
      if (err instanceof OutputWriteError) throw err;
      // A truncated or invalid document: what came before the fault is kept, the rest is reported.
      sink.skip("malformed_json", file, (err as Error).message);
    }
  }
}
