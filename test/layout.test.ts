// Golden rows: small conversations laid out by hand from the Cerebras rules (fidelity-cerebras.md §3.3,
// §3.4), with a tiny vocabulary so every id can be written out:
//   0 <unk> (pad)  1 <s>  2 </s>  3 ▁  4 S  5 ▁S  6 U  7 ▁U  8 :  9 A  10 ▁A  11 \n  12 q  13 a  14 ▁a  15 b  16 ▁b  17 ▁q
// so the system prompt "S" is [5], "U:" is [7, 8], "A:" is [10, 8], "<image>\nq" leaves "\nq" = [3, 11, 12],
// "q" alone is [17], and the answer "a b" is [14, 16].
import { describe, expect, it } from "vitest";
import { imageStartIndex, layoutConversation, type Template, type Turn } from "../runtime/text/layout.js";
import { PieceType, type ModelSpec } from "../runtime/text/sentencepiece.js";
import { tokenizerFromSpec } from "../runtime/text/tokenizer.js";

const PIECES = ["<unk>", "<s>", "</s>", "▁", "S", "▁S", "U", "▁U", ":", "A", "▁A", "\n", "q", "a", "▁a", "b", "▁b", "▁q"];
const spec: ModelSpec = {
  pieces: PIECES.map((piece, id) => ({
    piece,
    score: id < 3 ? 0 : 100 - id,
    type: id === 0 ? PieceType.UNKNOWN : id < 3 ? PieceType.CONTROL : PieceType.NORMAL,
  })),
  modelType: 2,
  byteFallback: false,
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
const tok = tokenizerFromSpec(spec, "test vocabulary");
const chat: Template = { name: "chat", layout: "chat", system: "S", user: "U:", assistant: "A:" };
const plain: Template = { name: "plain", layout: "plain", system: "", user: "", assistant: "" };
const MSL = 20,
  P = 3;

const pad = (xs: number[], fill: number) => [...xs, ...new Array<number>(MSL - xs.length).fill(fill)];
function rows(template: Template, turns: Turn[], hasImage: boolean) {
  const r = layoutConversation(tok, template, turns, hasImage, { numPatches: P, msl: MSL });
  if (!r.ok) throw new Error(r.detail);
  return { input: [...r.rows[0]], loss: [...r.rows[1]], labels: [...r.rows[2]], masked: [...r.rows[3]], imageStart: r.imageStart };
}
const h = (value: string): Turn => ({ from: "human", value });
const g = (value: string): Turn => ({ from: "gpt", value });

describe("golden rows: the vocabulary tokenises as the header says", () => {
  it("encodes the pieces used below", () => {
    expect(tok.encode("S")).toEqual([5]);
    expect(tok.encode("U:")).toEqual([7, 8]);
    expect(tok.encode("A:")).toEqual([10, 8]);
    expect(tok.encode("\nq")).toEqual([3, 11, 12]);
    expect(tok.encode("q")).toEqual([17]);
    expect(tok.encode("a b")).toEqual([14, 16]);
    expect(tok.encode("q\n")).toEqual([17, 11]);
  });
});

describe("golden rows: phase 2 (chat, LlavaPhaseTwo)", () => {
  it("single turn with an image", () => {
    //            <s> S  ▁U :  ▁  [  3 slots  ] ▁  \n q  ▁A :  ▁a ▁b   (</s> is the last label)
    const tokens = [1, 5, 7, 8, 3, 0, 0, 0, 3, 11, 12, 10, 8, 14, 16, 2];
    const r = rows(chat, [h("<image>\nq"), g("a b")], true);
    expect(r.imageStart).toBe(5); // BOS + system + "USER:" + "▁"
    expect(r.input).toEqual(pad(tokens.slice(0, -1), 0));
    expect(r.labels).toEqual(pad(tokens.slice(1), 0));
    // Loss from the last token of "A:" through the answer (its targets are the answer and </s>).
    expect(r.loss).toEqual(pad([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], 0));
    // Everything real is attended, the image slots and the ▁ before them included; padding is not.
    expect(r.masked).toEqual(pad(new Array(15).fill(0), 1));
    expect(imageStartIndex(tok, chat, P)).toBe(5);
  });

  it("text-only: the slots stay, with a blank image, and are not attended", () => {
    const tokens = [1, 5, 7, 8, 3, 0, 0, 0, 17, 10, 8, 14, 16, 2];
    const r = rows(chat, [h("q"), g("a b")], false);
    expect(r.input).toEqual(pad(tokens.slice(0, -1), 0));
    expect(r.labels).toEqual(pad(tokens.slice(1), 0));
    expect(r.loss).toEqual(pad([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], 0));
    expect(r.masked).toEqual(pad([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0], 1));
  });

  it("multi-turn: each answer and its </s> are learned, every human turn is not", () => {
    //              <s> S  ▁U : ▁  [slots] ▁ \n  q ▁A :  ▁a </s> ▁U :  ▁q ▁A :  ▁b </s>
    const tokens = [1, 5, 7, 8, 3, 0, 0, 0, 3, 11, 12, 10, 8, 14, 2, 7, 8, 17, 10, 8, 16, 2];
    const r = layoutConversation(tok, chat, [h("<image>\nq"), g("a"), h("q"), g("b")], true, { numPatches: P, msl: 24 });
    if (!r.ok) throw new Error(r.detail);
    expect([...r.rows[0]]).toEqual([...tokens.slice(0, -1), 0, 0, 0]);
    expect([...r.rows[1]]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect([...r.rows[2]]).toEqual([...tokens.slice(1), 0, 0, 0]);
    expect([...r.rows[3]]).toEqual([...new Array(21).fill(0), 1, 1, 1]);
  });

  it("<image> in a later turn is removed too (as the Cerebras writer does), leaving that turn's tokens alone", () => {
    const withLater = layoutConversation(tok, chat, [h("<image>\nq"), g("a"), h("<image>q"), g("b")], true, { numPatches: P, msl: 24 });
    const without = layoutConversation(tok, chat, [h("<image>\nq"), g("a"), h("q"), g("b")], true, { numPatches: P, msl: 24 });
    if (!withLater.ok || !without.ok) throw new Error("layout failed");
    expect(withLater.rows.map((r) => [...r])).toEqual(without.rows.map((r) => [...r]));
    // A text-only sample keeps the literal text: nothing is removed where there is no image.
    const textOnly = layoutConversation(tok, chat, [h("q"), g("a"), h("<image>q"), g("b")], false, { numPatches: P, msl: 40 });
    expect(textOnly.ok && textOnly.length).toBeGreaterThan(without.length);
  });

  it('<image> after the text: removed from the prompt, the slots still follow "USER:"', () => {
    const tokens = [1, 5, 7, 8, 3, 0, 0, 0, 17, 11, 10, 8, 14, 16, 2];
    const r = rows(chat, [h("q\n<image>"), g("a b")], true);
    expect(r.imageStart).toBe(5);
    expect(r.input).toEqual(pad(tokens.slice(0, -1), 0));
    expect(r.loss).toEqual(pad([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], 0));
  });
});

describe("golden rows: phase 1 (plain, LlavaPhaseOne)", () => {
  it("single turn: the question is dropped; the last slot predicts the caption", () => {
    //            <s> [slots] ▁a ▁b </s>
    const tokens = [1, 0, 0, 0, 14, 16, 2];
    const r = rows(plain, [h("<image>\nq"), g("a b")], true);
    expect(r.imageStart).toBe(1);
    expect(r.input).toEqual(pad(tokens.slice(0, -1), 0));
    expect(r.labels).toEqual(pad(tokens.slice(1), 0));
    expect(r.loss).toEqual(pad([0, 0, 0, 1, 1, 1], 0));
    expect(r.masked).toEqual(pad([0, 0, 0, 0, 0, 0], 1));
  });

  it("text-only: BOS carries loss, the slots carry none and are not attended", () => {
    const r = rows(plain, [h("q"), g("a b")], false);
    expect(r.input).toEqual(pad([1, 0, 0, 0, 14, 16], 0));
    expect(r.loss).toEqual(pad([1, 0, 0, 0, 1, 1], 0));
    expect(r.masked).toEqual(pad([0, 1, 1, 1, 0, 0], 1));
  });

  it("multi-turn: answers are appended, each with </s>; a turn's </s> position carries no loss", () => {
    const tokens = [1, 0, 0, 0, 14, 2, 16, 2];
    const r = rows(plain, [h("<image>\nq"), g("a"), h("q"), g("b")], true);
    expect(r.input).toEqual(pad(tokens.slice(0, -1), 0));
    expect(r.labels).toEqual(pad(tokens.slice(1), 0));
    expect(r.loss).toEqual(pad([0, 0, 0, 1, 1, 0, 1], 0));
    expect(r.masked).toEqual(pad([0, 0, 0, 0, 0, 1, 0], 1));
  });
});

describe("layout: what cannot be laid out is said, not crashed on", () => {
  it("odd turns, no turns, too long, and truncation when asked", () => {
    expect(layoutConversation(tok, chat, [h("q")], true, { numPatches: P, msl: MSL })).toMatchObject({ ok: false, reason: "odd_turns" });
    expect(layoutConversation(tok, chat, [], true, { numPatches: P, msl: MSL })).toMatchObject({ ok: false, reason: "no_turns" });
    const long = [h("<image>\nq"), g("a b a b a b a b a b a b")];
    expect(layoutConversation(tok, chat, long, true, { numPatches: P, msl: MSL })).toMatchObject({ ok: false, reason: "too_long" });
    const cut = layoutConversation(tok, chat, long, true, { numPatches: P, msl: MSL, overLength: "truncate" });
    expect(cut.ok && cut.length).toBe(MSL);
    // A first human turn that is only "<image>" (the Cerebras writer crashes on it) is fine.
    expect(layoutConversation(tok, chat, [h("<image>"), g("a")], true, { numPatches: P, msl: MSL }).ok).toBe(true);
  });
});
