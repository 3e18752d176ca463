// tokenizer.json converted from sentencepiece (a BPE with byte fallback trained by tools/tokjson/gen_fixtures.py,
// converted by transformers): @huggingface/tokenizers against the Python `tokenizers` package, id for id.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadJsonTokenizer } from "../runtime/text/hf-tokenizer.js";
import { agreement, livePython, strings, TOKJSON, withSpecialAgree } from "./tokjson-data.js";

describe("tokenizer.json: converted sentencepiece (Mistral / LLaMA-2 style)", () => {
  it("encodes all committed strings exactly as Python `tokenizers` did", async () => {
    const r = await agreement("mistral");
    expect(r.total).toBeGreaterThanOrEqual(10_000);
    console.log(`converted sentencepiece: ${r.agree} of ${r.total} strings agree with tokenizers`);
    expect(r.misses).toEqual([]);
    expect(r.agree).toBe(r.total);
  });

  it("adds <s> as the post-processor says; bos/eos/unk from tokenizer_config.json, pad falls back to eos", async () => {
    await withSpecialAgree("mistral");
    const t = await loadJsonTokenizer(path.join(TOKJSON, "mistral", "tokenizer.json"));
    expect([t.bosId, t.eosId, t.unkId, t.padId, t.vocabSize]).toEqual([1, 2, 0, 2, 2000]);
    expect(t.padId).not.toBe((await loadJsonTokenizer(path.join(TOKJSON, "mistral", "tokenizer.json"), 0)).padId);
  });

  it("agrees with the Python package live (skipped where it is absent)", (ctx) => {
    const live = livePython("mistral", 2000);
    if ("skipped" in live) {
      console.log(`skipped: ${live.skipped}`);
      return ctx.skip();
    }
    expect(live.ids).toEqual(strings().ids.mistral!.slice(0, 2000));
  });
});
