// The counting scan of SentencePieceBPE.count in WebAssembly (runtime/text/word-counts.ts) against the
// encoder it stands for: over varied Unicode text its count is encode(text).length and the JavaScript
// scan's, whatever the table holds (hits, misses, clears, a grown input).
import { beforeAll, describe, expect, it } from "vitest";
import { loadLlamaModelSpec } from "../runtime/text/llama-vocab.js";
import { type ModelSpec, SentencePieceBPE } from "../runtime/text/sentencepiece.js";
import { WordCounts } from "../runtime/text/word-counts.js";

// Pieces of text the words are made of: ASCII, multi-byte UTF-8 (2, 3 and 4 bytes), combining marks,
// characters outside the vocabulary (byte fallback), and whitespace other than the space.
const PARTS = [
  "the",
  "a",
  "image",
  "background",
  "photograph",
  "antidisestablishmentarianism",
  "x",
  "é",
  "über",
  "naïve",
  "日本語",
  "中文",
  "∑",
  "😀",
  "👩‍👩‍👧",
  "e\u0301",
  "a\u0308\u0323",
  "ꙮ",
  "𓀀",
  "\u{10FFFD}",
  "\t",
  "\n",
  "\u00a0",
  "\u3000",
  "\u2003",
  "\r\n",
  "\u0000",
  "12345",
  "3.14",
  "<s>",
  "ASSISTANT:",
  "'s",
  ",",
  "?",
];
const SPACES = [" ", " ", " ", "  ", "   ", "", "\t "];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 4294967296;
}
function texts(seed: number, n: number): string[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let t = r() < 0.3 ? pick(SPACES) : "";
    const words = 1 + Math.floor(r() * 12);
    for (let w = 0; w < words; w++) {
      t += pick(PARTS);
      if (r() < 0.3) t += pick(PARTS);
      t += pick(SPACES);
    }
    out.push(r() < 0.5 ? t.trimEnd() : t);
  }
  return out;
}

let spec: ModelSpec;
beforeAll(async () => {
  spec = await loadLlamaModelSpec();
});

describe("the WebAssembly counting scan", () => {
  it("is available on this Node (so the tests below exercise it, not the fallback)", () => {
    expect(WordCounts.create()).not.toBeNull();
  });

  for (const dummy of [true, false])
    it(`counts what the encoder gives, over varied Unicode text (dummy prefix ${dummy ? "on" : "off"})`, () => {
      const s = { ...spec, addDummyPrefix: dummy };
      const wasm = new SentencePieceBPE(s);
      const js = new SentencePieceBPE(s, { wasm: false });
      const ref = new SentencePieceBPE(s);
      // Twice over: the first pass fills the table, the second finds every word in it.
      const all = texts(dummy ? 1 : 2, 1500);
      for (const t of [...all, ...all]) {
        const want = ref.encode(t).length;
        expect([wasm.count(t), js.count(t), t]).toEqual([want, want, t]);
      }
    });

  it("gives the same counts while its table is cleared again and again (few entries, few key bytes)", () => {
    const ref = new SentencePieceBPE(spec);
    for (const limits of [{ entries: 7 }, { pool: 40 }]) {
      const sp = new SentencePieceBPE(spec, { limits });
      for (const t of texts(3, 400)) expect([sp.count(t), t]).toEqual([ref.encode(t).length, t]);
    }
  });

  it("tells a word at the start of the text (after the dummy prefix) from the same word later on", () => {
    const sp = new SentencePieceBPE(spec);
    const ref = new SentencePieceBPE(spec);
    for (const t of ["hello hello", "hello", " hello", "x hello", "hello", "  hello  hello"])
      expect(sp.count(t)).toBe(ref.encode(t).length);
  });

  it("tells words apart that share their first and last 8 bytes and their length", () => {
    const sp = new SentencePieceBPE(spec);
    const ref = new SentencePieceBPE(spec);
    const a = "abcdefgh" + "the" + "stuvwxyz",
      b = "abcdefgh" + "日" + "stuvwxyz",
      c = "abcdefgh" + "ijklmnopqrstuvwxy" + "stuvwxyz",
      d = "abcdefgh" + "ijklmnopqrstuvwxz" + "stuvwxyz";
    for (const t of [a, b, `${a} ${b}`, `${b} ${a}`, c, d, `${c} ${d} ${c}`]) expect([sp.count(t), t]).toEqual([ref.encode(t).length, t]);
  });

  it("grows its input for a long text", () => {
    const sp = new SentencePieceBPE(spec);
    const ref = new SentencePieceBPE(spec);
    const long = texts(4, 200).join(" ").repeat(60);
    // (the input area starts at 1 MiB and takes 3 bytes per UTF-16 unit)
    expect(long.length * 3).toBeGreaterThan(1 << 20);
    expect(sp.count(long)).toBe(ref.encode(long).length);
    expect(sp.count("after the long one")).toBe(ref.encode("after the long one").length);
  });

  it("leaves a text with a lone surrogate to the JavaScript scan, and a text with ▁ to the encoder", () => {
    const sp = new SentencePieceBPE(spec);
    const ref = new SentencePieceBPE(spec);
    // U+D800 and U+DFFF alone are both U+FFFD in UTF-8: the bytes would not tell them apart.
    for (const t of ["a \ud800 b", "a \udfff b", "x\ud83d", "\ude00 y", "pre ▁ post", "▁"])
      expect([sp.count(t), t]).toEqual([ref.encode(t).length, t]);
  });
});
