// One tokenizer interface for the compiler (image_start_idx) and the HDF5 writer: the embedded LLaMA-2
// vocabulary by default, a user's sentencepiece `tokenizer.model`, or a Hugging Face `tokenizer.json`
// (hf-tokenizer.ts, imported only when a spec names one).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { loadLlamaModelSpec } from "./llama-vocab.js";
import { parseModelProto, SentencePieceBPE, type ModelSpec } from "./sentencepiece.js";
import { SPECIAL_TOKEN_FILES, specialToken } from "./special-tokens.js";

export interface Tokenizer {
  /** Ids of `text` without special tokens. */
  encode(text: string): number[];
  /** `encode(text).length`, without building the ids (optional: absent, the length of `encode` is used). */
  count?(text: string): number;
  /**
   * `count(text)` when `text` is clean ASCII as ftfy's fix_text sees it (ftfy.ts CLEAN_ASCII: fix_text
   * leaves it unchanged), else -1 (optional; the layout's counting path, which then cleans the text first).
   */
  countClean?(text: string): number;
  decode(ids: number[]): string;
  /** What Hugging Face's `decode` gives (special tokens as text): the Cerebras writer's detokenized statistics. */
  decodeLikeHf(ids: ArrayLike<number>): string;
  pieceToId(piece: string): number;
  idToPiece(id: number): string;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly vocabSize: number;
  /** Where the vocabulary came from, for messages and manifests. */
  readonly source: string;
  /** Special tokens written as text (`<|eot_id|>`, `</s>`) and their ids: what a template's text may name. */
  specialTokens(): ReadonlyMap<string, number>;
  /** A piece as text for `data inspect` where idToPiece is not readable (byte-level BPE's Ġ and Ċ). */
  displayPiece?(id: number): string | undefined;
}

export type TokenizerSource = { kind: "llama2" } | { kind: "file"; path: string } | { kind: "json"; path: string };

/** The spec's `tokenizer { model | json }` as a source (the one home of this choice); the embedded vocabulary without either. */
export function tokenizerSourceOf(tk: { model?: string; json?: string } | undefined, resolve: (p: string) => string): TokenizerSource {
  if (tk?.json !== undefined) return { kind: "json", path: resolve(tk.json) };
  if (tk?.model !== undefined) return { kind: "file", path: resolve(tk.model) };
  return { kind: "llama2" };
}

/** A tokenizer file recorded by path (an HDF5 file's `llavac_tokenizer`): tokenizer.json by its extension. */
export function tokenizerSourceOfFile(file: string): TokenizerSource {
  return file.endsWith(".json") ? { kind: "json", path: file } : { kind: "file", path: file };
}

/** The tokenizer family (std/language's `tokenizer_family`) whose vocabulary `{ kind: "llama2" }` embeds. */
export const EMBEDDED_FAMILY = "llama2";

/** How the padding id is chosen when the spec does not state one (the one home of this rule). */
export type PadRule =
  /** The embedded LLaMA-2 vocabulary: <unk> (0), LLaVA's pad and the Cerebras configs' pad_token_id. */
  | { kind: "unk" }
  /** A tokenizer folder: the Cerebras writer's rule, the HF tokenizer's pad_token, else eos. */
  | { kind: "token"; token: string | undefined };

class SpTokenizer implements Tokenizer {
  readonly padId: number;
  constructor(
    private readonly sp: SentencePieceBPE,
    readonly source: string,
    padId: number | undefined,
    rule: PadRule,
  ) {
    this.padId =
      padId ??
      (rule.kind === "unk" ? (sp.padId >= 0 ? sp.padId : sp.unkId) : rule.token !== undefined ? sp.pieceToId(rule.token) : sp.eosId);
  }
  encode(text: string): number[] {
    return this.sp.encode(text);
  }
  count(text: string): number {
    return this.sp.count(text);
  }
  countClean(text: string): number {
    return this.sp.countClean(text);
  }
  decode(ids: number[]): string {
    return this.sp.decode(ids);
  }
  decodeLikeHf(ids: ArrayLike<number>): string {
    return this.sp.decodeLikeHf(ids);
  }
  pieceToId(piece: string): number {
    return this.sp.pieceToId(piece);
  }
  idToPiece(id: number): string {
    return this.sp.idToPiece(id);
  }
  get bosId(): number {
    return this.sp.bosId;
  }
  get eosId(): number {
    return this.sp.eosId;
  }
  get unkId(): number {
    return this.sp.unkId;
  }
  get vocabSize(): number {
    return this.sp.vocabSize;
  }
  private specials?: Map<string, number>;
  specialTokens(): ReadonlyMap<string, number> {
    // sentencepiece's control pieces (<s>, </s>) are what HF's LlamaTokenizer treats as special text
    this.specials ??= new Map([this.sp.bosId, this.sp.eosId].filter((i) => i >= 0).map((i) => [this.sp.idToPiece(i), i]));
    return this.specials;
  }
}

/** A tokenizer over a model held in memory (tests, and vocabularies built on the fly). */
export function tokenizerFromSpec(spec: ModelSpec, source: string, padId?: number): Tokenizer {
  return new SpTokenizer(new SentencePieceBPE(spec), source, padId, { kind: "unk" });
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * The pad token of a tokenizer folder as HF's LlamaTokenizer sees it: `pad_token` of tokenizer_config.json,
 * else of special_tokens_map.json. The Cerebras writer pads with it, or with eos when there is none
 * (`pad_id = tokenizer.pad_token_id or eos_id`); a bare tokenizer.model therefore pads with eos.
 */
export async function folderPadRule(modelFile: string): Promise<PadRule> {
  const dir = path.dirname(modelFile);
  const files = await Promise.all(SPECIAL_TOKEN_FILES.map((name) => readJson(path.join(dir, name))));
  return { kind: "token", token: specialToken(files, "pad_token", false) ?? undefined };
}

const cache = new Map<string, Promise<Tokenizer>>();

export function loadTokenizer(source: TokenizerSource, padId?: number): Promise<Tokenizer> {
  const key = (source.kind === "llama2" ? "llama2" : `${source.kind}:${source.path}`) + "|" + (padId ?? "");
  let t = cache.get(key);
  if (!t) {
    t =
      source.kind === "json"
        ? import("./hf-tokenizer.js").then((m) => m.loadJsonTokenizer(source.path, padId))
        : source.kind === "llama2"
          ? loadLlamaModelSpec().then((spec) => new SpTokenizer(new SentencePieceBPE(spec), "llama-2 (embedded)", padId, { kind: "unk" }))
          : Promise.all([readFile(source.path), folderPadRule(source.path)]).then(
              ([buf, rule]) => new SpTokenizer(new SentencePieceBPE(parseModelProto(new Uint8Array(buf))), source.path, padId, rule),
            );
    cache.set(key, t);
    t.catch(() => cache.delete(key));
  }
  return t;
}
