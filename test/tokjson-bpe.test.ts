// tokenizer.json, byte-level BPE (Llama-3's pre-tokenizer regex and special tokens, trained by
// tools/tokjson/gen_fixtures.py): @huggingface/tokenizers against the Python `tokenizers` package, id for id,
// on every committed string (multilingual, emoji, whitespace runs, digits, code, special-token text, mojibake).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadJsonTokenizer } from "../runtime/text/hf-tokenizer.js";
import { agreement, livePython, strings, TOKJSON, withSpecialAgree } from "./tokjson-data.js";

describe("tokenizer.json: byte-level BPE (Llama-3 style)", () => {
  it("encodes all committed strings exactly as Python `tokenizers` did", async () => {
    const r = await agreement("llama3");
    expect(r.total).toBeGreaterThanOrEqual(10_000);
    console.log(`byte-level BPE: ${r.agree} of ${r.total} strings agree with tokenizers`);
    expect(r.misses).toEqual([]);
    expect(r.agree).toBe(r.total);
  });

  it("adds BOS as the post-processor says, and reads bos/eos/pad from tokenizer_config.json", async () => {
    await withSpecialAgree("llama3");
    const t = await loadJsonTokenizer(path.join(TOKJSON, "llama3", "tokenizer.json"));
    expect([t.bosId, t.eosId, t.padId, t.vocabSize]).toEqual([
      t.pieceToId("<|begin_of_text|>"),
      t.pieceToId("<|eot_id|>"),
      t.pieceToId("<|eot_id|>"), // no pad_token: eos, the Cerebras writer's rule
      3008,
    ]);
    expect(t.specialTokens().get("<|start_header_id|>")).toBe(3002);
    expect(t.encode("a<|eot_id|>b")).toContain(t.eosId); // special-token text is the token, as in HF
    expect(t.decodeLikeHf(t.encode("Hello <|eot_id|>"))).toBe("Hello <|eot_id|>");
    expect(t.decode(t.encode("Hello <|eot_id|>"))).toBe("Hello ");
  });

  it("Qwen2's declaration of the same vocabulary: no BOS, <|im_end|> eos, <|endoftext|> pad", async () => {
    const t = await loadJsonTokenizer(path.join(TOKJSON, "qwen2", "tokenizer.json"));
    expect([t.bosId, t.eosId, t.padId]).toEqual([-1, t.pieceToId("<|im_end|>"), t.pieceToId("<|endoftext|>")]);
    expect(t.encodeWithSpecial("hi")).toEqual(t.encode("hi"));
  });

  it("a file that is not a tokenizer.json is an error naming why", async () => {
    await expect(loadJsonTokenizer(path.join(TOKJSON, "llama3", "tokenizer_config.json"))).rejects.toThrow(/no `model`/);
  });

  it("agrees with the Python package live (skipped where it is absent)", (ctx) => {
    const live = livePython("llama3", 2000);
    if ("skipped" in live) {
      console.log(`skipped: ${live.skipped}`);
      return ctx.skip();
    }
    expect(live.ids).toEqual(strings().ids.llama3!.slice(0, 2000));
  });
});
