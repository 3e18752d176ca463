// One tokenizer interface for the compiler (image_start_idx) and the HDF5 writer: the embedded LLaMA-2
// vocabulary by default, or a user's sentencepiece `tokenizer.model`.
import { readFile } from "node:fs/promises";
import { loadLlamaModelSpec } from "./llama-vocab.js";
import { parseModelProto, SentencePieceBPE, type ModelSpec } from "./sentencepiece.js";

export interface Tokenizer {
  /** Ids of `text` without special tokens. */
  encode(text: string): number[];
  decode(ids: number[]): string;
  pieceToId(piece: string): number;
  idToPiece(id: number): string;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly vocabSize: number;
  /** Where the vocabulary came from, for messages and manifests. */
  readonly source: string;
}

export type TokenizerSource = { kind: "llama2" } | { kind: "file"; path: string };

/** The tokenizer family (std/language's `tokenizer_family`) whose vocabulary `{ kind: "llama2" }` embeds. */
export const EMBEDDED_FAMILY = "llama2";

class SpTokenizer implements Tokenizer {
  readonly padId: number;
  constructor(private readonly sp: SentencePieceBPE, readonly source: string, padId?: number) {
    // A model without a pad piece pads with <unk>, as LLaVA and the Cerebras configs do (pad_token_id 0).
    this.padId = padId ?? (sp.padId >= 0 ? sp.padId : sp.unkId);
  }
  encode(text: string): number[] { return this.sp.encode(text); }
  decode(ids: number[]): string { return this.sp.decode(ids); }
  pieceToId(piece: string): number { return this.sp.pieceToId(piece); }
  idToPiece(id: number): string { return this.sp.idToPiece(id); }
  get bosId(): number { return this.sp.bosId; }
  get eosId(): number { return this.sp.eosId; }
  get unkId(): number { return this.sp.unkId; }
  get vocabSize(): number { return this.sp.vocabSize; }
}

/** A tokenizer over a model held in memory (tests, and vocabularies built on the fly). */
export function tokenizerFromSpec(spec: ModelSpec, source: string, padId?: number): Tokenizer {
  return new SpTokenizer(new SentencePieceBPE(spec), source, padId);
}

const cache = new Map<string, Promise<Tokenizer>>();

export function loadTokenizer(source: TokenizerSource, padId?: number): Promise<Tokenizer> {
  const key = (source.kind === "llama2" ? "llama2" : "file:" + source.path) + "|" + (padId ?? "");
  let t = cache.get(key);
  if (!t) {
    t = source.kind === "llama2"
      ? loadLlamaModelSpec().then((spec) => new SpTokenizer(new SentencePieceBPE(spec), "llama-2 (embedded)", padId))
      : readFile(source.path).then((buf) => new SpTokenizer(new SentencePieceBPE(parseModelProto(new Uint8Array(buf))), source.path, padId));
    cache.set(key, t);
    t.catch(() => cache.delete(key));
  }
  return t;
}
