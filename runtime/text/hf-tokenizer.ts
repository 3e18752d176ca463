// A Hugging Face `tokenizer.json` (Llama-3's and Qwen2's byte-level BPE, a converted sentencepiece model) behind
// the one Tokenizer interface, through @huggingface/tokenizers. The library is imported only when a spec names a
// tokenizer.json, so `check` of a sentencepiece or embedded-vocabulary spec never loads it.
//
// Special ids follow transformers' rules for a tokenizer folder: bos/eos/pad/unk are the tokens
// tokenizer_config.json names (else special_tokens_map.json); the padding falls back to eos (the Cerebras
// writer's `pad_token_id or eos_id`); `vocabSize` is len(tokenizer): the model's vocabulary and the added tokens.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { SPECIAL_TOKEN_FILES, specialToken } from "./special-tokens.js";
import type { Tokenizer } from "./tokenizer.js";

type Json = Record<string, unknown>;

async function readJsonIfAny(file: string): Promise<Json | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new Error(`${path.basename(file)} is not JSON: ${(err as Error).message}`);
  }
}

/** The special-token names of a tokenizer folder: tokenizer_config.json first, then special_tokens_map.json. */
export interface SpecialNames {
  bos?: string | null;
  eos?: string | null;
  pad?: string | null;
  unk?: string | null;
}

function namesOf(cfg: Json | undefined, map: Json | undefined): SpecialNames {
  const pick = (key: string) => specialToken([cfg, map], key, true);
  return { bos: pick("bos_token"), eos: pick("eos_token"), pad: pick("pad_token"), unk: pick("unk_token") };
}

class JsonTokenizer implements Tokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly vocabSize: number;
  private readonly specials: Map<string, number>;
  constructor(
    // biome-ignore lint/suspicious/noExplicitAny: the library's Tokenizer class, imported lazily
    private readonly tk: any,
    readonly source: string,
    names: SpecialNames,
    added: { id: number; content: string; special: boolean }[],
    padId: number | undefined,
    byteLevel: boolean,
  ) {
    const id = (name: string | null | undefined, what: string, required: boolean): number => {
      if (name === undefined || name === null) {
        if (required) throw new Error(`${what}: tokenizer_config.json names no ${what}`);
        return -1;
      }
      const i = tk.token_to_id(name) as number | undefined;
      if (i === undefined) throw new Error(`${what} ${JSON.stringify(name)} is not in the vocabulary`);
      return i;
    };
    this.bosId = id(names.bos, "bos_token", false);
    this.eosId = id(names.eos, "eos_token", true);
    this.unkId = id(names.unk ?? (tk.model?.unk_token as string | undefined), "unk_token", false);
    this.padId = padId ?? (names.pad !== undefined && names.pad !== null ? id(names.pad, "pad_token", true) : this.eosId);
    let max = -1;
    for (const v of (tk.get_vocab(true) as Map<string, number>).values()) max = Math.max(max, v);
    this.vocabSize = max + 1;
    this.specials = new Map(added.filter((a) => a.special).map((a) => [a.content, a.id]));
    this.specialIds = new Set(this.specials.values());
    this.byteLevel = byteLevel;
  }
  private readonly specialIds: Set<number>;
  private readonly byteLevel: boolean;
  encode(text: string): number[] {
    return this.tk.encode(text, { add_special_tokens: false }).ids as number[];
  }
  decode(ids: number[]): string {
    return this.tk.decode(ids, { skip_special_tokens: true }) as string;
  }
  decodeLikeHf(ids: ArrayLike<number>): string {
    return this.tk.decode(Array.from(ids), { skip_special_tokens: false }) as string;
  }
  pieceToId(piece: string): number {
    return (this.tk.token_to_id(piece) as number | undefined) ?? this.unkId;
  }
  idToPiece(id: number): string {
    return (this.tk.id_to_token(id) as string | undefined) ?? "";
  }
  specialTokens(): ReadonlyMap<string, number> {
    return this.specials;
  }
  displayPiece(id: number): string | undefined {
    // byte-level pieces are bytes spelt in GPT-2's alphabet: decode them (special tokens stay as written)
    if (this.byteLevel && !this.specialIds.has(id)) return this.tk.decode([id], { skip_special_tokens: false }) as string;
    return undefined;
  }
  /** Ids with the post-processor's special tokens (BOS for Llama-3 and converted sentencepiece models). */
  encodeWithSpecial(text: string): number[] {
    return this.tk.encode(text, { add_special_tokens: true }).ids as number[];
  }
}

/** Loads `tokenizer.json` and the tokenizer_config.json / special_tokens_map.json beside it. */
export async function loadJsonTokenizer(file: string, padId?: number): Promise<Tokenizer & { encodeWithSpecial(text: string): number[] }> {
  const dir = path.dirname(file);
  const [body, cfg, map, lib] = await Promise.all([
    readFile(file, "utf8"),
    readJsonIfAny(path.join(dir, SPECIAL_TOKEN_FILES[0])),
    readJsonIfAny(path.join(dir, SPECIAL_TOKEN_FILES[1])),
    import("@huggingface/tokenizers"),
  ]);
  let json: Json;
  try {
    json = JSON.parse(body) as Json;
  } catch (err) {
    throw new Error(`not a tokenizer.json (not JSON: ${(err as Error).message})`);
  }
  if (!json.model || typeof json.model !== "object") throw new Error("not a tokenizer.json (it has no `model`)");
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as { id: number; content: string; special: boolean }[]) : [];
  let tk: unknown;
  try {
    tk = new lib.Tokenizer(json, cfg ?? {});
  } catch (err) {
    throw new Error(`@huggingface/tokenizers cannot load it: ${(err as Error).message}`);
  }
  const byteLevel = JSON.stringify(json.decoder ?? null).includes('"ByteLevel"');
  return new JsonTokenizer(tk, file, namesOf(cfg, map), added, padId, byteLevel);
}
