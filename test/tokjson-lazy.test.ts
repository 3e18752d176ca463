// `check` of a spec that names no tokenizer.json never loads @huggingface/tokenizers (its start-up stays off the
// hot path): here the module that imports it throws when loaded, and such a check still passes.
import { describe, expect, it, vi } from "vitest";
import { check, TINY, TINY_DIRS } from "./helpers.js";

const seen = vi.hoisted(() => ({ loaded: 0 }));
vi.mock("../runtime/text/hf-tokenizer.js", () => {
  seen.loaded++;
  throw new Error("hf-tokenizer.js was loaded");
});

describe("tokenizer.json support is lazy", () => {
  it("a sentencepiece / embedded-vocabulary spec checks without loading it", async () => {
    const r = await check(TINY, { dirs: TINY_DIRS });
    expect(r.errors).toEqual([]);
    expect(r.result.phases.every((p) => p.derived?.imageStartIdx !== undefined)).toBe(true);
    expect(seen.loaded).toBe(0);
  });

  it("a spec that names a tokenizer.json loads it (here the mocked module throws, which is E0308)", async () => {
    const r = await check(
      TINY.replace("language  = tiny_llama", 'language  = tiny_llama { tokenizer: tokenizer { json: "./tokenizer.json" } }'),
      {
        dirs: TINY_DIRS,
      },
    );
    expect(r.one("E0308").message).toMatch(/^cannot load the tokenizer \.\/tokenizer\.json: .*mock/);
    expect(seen.loaded).toBeGreaterThan(0); // once per phase: a failed load is not cached
  });
});
