// A STAND-IN for Meta-Llama-3-8B-Instruct's tokenizer folder where the real one (from the Hugging Face hub) is
// not available. It has Llama-3's shape: a byte-level BPE tokenizer.json with Llama-3's pre-tokenizer, a
// vocabulary of 128,000 ordinary tokens and Llama-3's 256 special tokens at their real ids and names (128000
// <|begin_of_text|>, 128001 <|end_of_text|>, 128006 <|start_header_id|>, 128007 <|end_header_id|>, 128009
// <|eot_id|>, the others <|reserved_special_token_N|> in Meta's numbering, to 128,255), and a
// tokenizer_config.json as Meta-Llama-3-8B-Instruct's (bos <|begin_of_text|>, eos <|eot_id|>).
// Real: the special tokens' ids and names, the vocabulary size (128,256), BOS/EOS. NOT real: the merges and the
// ordinary vocabulary, which are test/fixtures/tokjson/llama3's small BPE (3,000 tokens) padded with entries no
// merge produces, so ordinary text tokenises into other (and often more) ids than Llama-3's would. What the
// example takes from the tokenizer is Llama-3's: the vocabulary size, the special-token ids, and image_start_idx 5
// (the llama3 template's prefix is special tokens around "user" and "\n\n", one token each here as in Llama-3).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./helpers.js";

export const LLAMA3_VOCAB = 128_256;
const ORDINARY = 128_000;
const FIXTURE = path.join(ROOT, "test/fixtures/tokjson/llama3");

/** Meta's names of Llama-3's special tokens, by id (128000…128255). */
export function llama3SpecialTokens(): string[] {
  const named: Record<number, string> = {
    0: "<|begin_of_text|>",
    1: "<|end_of_text|>",
    6: "<|start_header_id|>",
    7: "<|end_header_id|>",
    9: "<|eot_id|>",
  };
  const out: string[] = [];
  let reserved = 0;
  for (let i = 0; i < LLAMA3_VOCAB - ORDINARY; i++) out.push(named[i] ?? `<|reserved_special_token_${reserved++}|>`);
  return out;
}

const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** Writes `<dir>/tokenizer.json` and `<dir>/tokenizer_config.json`; returns the environment the example reads them from. */
export function llama3StandIn(dir: string): { LLAMA3_TOKENIZER: string } {
  const fixture = JSON.parse(readFileSync(path.join(FIXTURE, "tokenizer.json"), "utf8"));
  const vocab: Record<string, number> = { ...fixture.model.vocab };
  const used = Object.keys(vocab).length;
  // `<unused_N>` is never the result of a merge (no merge makes `<`+`unused…`), so encoding never yields these ids.
  for (let i = used; i < ORDINARY; i++) vocab[`<unused_${i}>`] = i;
  const names = llama3SpecialTokens();
  const added = names.map((n, i) => special(ORDINARY + i, n));
  const bos = { id: "<|begin_of_text|>", ids: [ORDINARY], tokens: ["<|begin_of_text|>"] };
  const json = {
    ...fixture,
    added_tokens: added,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: bos.id, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos.id, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: bos.id, type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { [bos.id]: bos },
    },
    model: { ...fixture.model, vocab },
  };
  const config = {
    bos_token: "<|begin_of_text|>",
    eos_token: "<|eot_id|>",
    clean_up_tokenization_spaces: true,
    tokenizer_class: "PreTrainedTokenizerFast",
    model_input_names: ["input_ids", "attention_mask"],
    added_tokens_decoder: Object.fromEntries(added.map(({ id, ...t }) => [String(id), t])),
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(json));
  writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(config, null, 2));
  return { LLAMA3_TOKENIZER: dir };
}
