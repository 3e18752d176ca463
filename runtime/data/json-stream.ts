// The elements of a (possibly huge) JSON array, one at a time, in constant memory.
import { createReadStream } from "node:fs";
import chain from "stream-chain";
import { parser } from "stream-json";
import { pick } from "stream-json/filters/pick.js";
import { streamArray } from "stream-json/streamers/stream-array.js";

/** Elements of the top-level array, or of the array at `field` (e.g. DocVQA's `{"data": [...]}`). */
export async function* jsonArray(file: string, field?: string): AsyncGenerator<{ index: number; value: unknown }> {
  const stages: unknown[] = [createReadStream(file, { highWaterMark: 1 << 20 }), parser()];
  if (field) stages.push(pick({ filter: field }));
  stages.push(streamArray());
  const pipeline = chain(stages as never);
  for await (const item of pipeline as AsyncIterable<{ key: number; value: unknown }>) yield { index: item.key, value: item.value };
}
