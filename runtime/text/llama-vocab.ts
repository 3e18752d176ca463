// The LLaMA-1/2 (and Vicuna v1.5) vocabulary, rebuilt as a sentencepiece model from the piece list that
// `llama-tokenizer-js` embeds. The scores follow Meta's tokenizer.model exactly: control and byte pieces
// score 0, a normal piece with id i scores −(i − 259), and pieces made only of "▁" score −1e9, so the
// merges come out in the same order as sentencepiece's.
import { readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../util/package-root.js";
import { PieceType, type ModelSpec, type Piece } from "./sentencepiece.js";

const FIRST_NORMAL_ID = 259;

export function llamaModelSpec(vocabById: readonly string[]): ModelSpec {
  const pieces: Piece[] = vocabById.map((piece, id) => {
    if (id === 0) return { piece, score: 0, type: PieceType.UNKNOWN };
    if (id === 1 || id === 2) return { piece, score: 0, type: PieceType.CONTROL };
    if (id < FIRST_NORMAL_ID) return { piece, score: 0, type: PieceType.BYTE };
    const score = /^\u2581+$/.test(piece) ? -1e9 : -(id - FIRST_NORMAL_ID);
    return { piece, score, type: PieceType.NORMAL };
  });
  return {
    pieces,
    modelType: 2,
    byteFallback: true,
    addDummyPrefix: true,
    removeExtraWhitespaces: false,
    escapeWhitespaces: true,
    normalizerName: "identity",
    hasCharsmap: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
  };
}

/** Where the build step leaves the vocabulary as plain text (one piece per line), for a fast start. */
export const VOCAB_CACHE = "dist/llama2-vocab.txt";

/** The 32,000 pieces, straight from llama-tokenizer-js (which also builds merge tables we do not need). */
export async function vocabFromPackage(): Promise<string[]> {
  const m = await import("llama-tokenizer-js");
  return (m.default as unknown as { vocabById: string[] }).vocabById;
}

let cached: Promise<ModelSpec> | undefined;

/** Loads the embedded vocabulary on first use. */
export function loadLlamaModelSpec(): Promise<ModelSpec> {
  cached ??= (async () => {
    let vocab: string[] | undefined;
    try {
      vocab = readFileSync(path.join(packageRoot(), VOCAB_CACHE), "utf8").split("\n");
    } catch {
      vocab = undefined;
    }
    if (vocab?.length !== 32000) vocab = await vocabFromPackage();
    if (!Array.isArray(vocab) || vocab.length !== 32000) throw new Error("llama-tokenizer-js did not provide the 32,000-piece vocabulary");
    return llamaModelSpec(vocab);
  })();
  return cached;
}
