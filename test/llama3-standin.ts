// A stand-in for Llama-3's tokenizer where the real one (a tokenizer.json from the Hugging Face hub) is not
// available: LLaMA-2's sentencepiece model padded with unused pieces to Llama-3's 128,256 ids. Unused pieces
// are never produced by encoding, so it tokenises as LLaMA-2 does; what it gives examples/llava-llama3-8b
// is a vocabulary of the model's size, so the spec checks, builds and trains here.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadLlamaModelSpec } from "../runtime/text/llama-vocab.js";
import { writeModelProto } from "./sp-model.js";

export const LLAMA3_VOCAB = 128_256;

/** Writes `<dir>/tokenizer.model` and returns the environment the example reads it from. */
export async function llama3StandIn(dir: string): Promise<{ LLAMA3_TOKENIZER: string }> {
  const spec = await loadLlamaModelSpec();
  const pieces = [...spec.pieces];
  for (let i = pieces.length; i < LLAMA3_VOCAB; i++) pieces.push({ piece: `<unused_${i}>`, score: 0, type: 5 });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "tokenizer.model"), writeModelProto({ ...spec, pieces }));
  return { LLAMA3_TOKENIZER: dir };
}
