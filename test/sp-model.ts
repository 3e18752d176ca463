// Writes sentencepiece ModelProto files for tests (the inverse of runtime/text/sentencepiece.ts's reader).
import type { ModelSpec } from "../runtime/text/sentencepiece.js";

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const bytes = (field: number, data: number[]) => [...key(field, 2), ...varint(data.length), ...data];
const utf8 = (s: string) => [...new TextEncoder().encode(s)];
function float32(field: number, x: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...key(field, 5), ...b];
}

export function writeModelProto(spec: ModelSpec): Uint8Array {
  const out: number[] = [];
  for (const p of spec.pieces) out.push(...bytes(1, [...bytes(1, utf8(p.piece)), ...float32(2, p.score), ...key(3, 0), ...varint(p.type)]));
  const trainer = [
    ...key(3, 0),
    ...varint(spec.modelType),
    ...key(35, 0),
    ...varint(spec.byteFallback ? 1 : 0),
    ...key(40, 0),
    ...varint(spec.unkId),
    ...key(41, 0),
    ...varint(spec.bosId),
    ...key(42, 0),
    ...varint(spec.eosId),
    ...key(43, 0),
    ...varint(spec.padId),
  ];
  out.push(...bytes(2, trainer));
  const normalizer = [
    ...bytes(1, utf8(spec.normalizerName)),
    ...key(3, 0),
    ...varint(spec.addDummyPrefix ? 1 : 0),
    ...key(4, 0),
    ...varint(spec.removeExtraWhitespaces ? 1 : 0),
    ...key(5, 0),
    ...varint(spec.escapeWhitespaces ? 1 : 0),
  ];
  out.push(...bytes(3, normalizer));
  return new Uint8Array(out);
}

/**
 * A small sentencepiece BPE model for training tests whose model size does not matter (the LM head over
 * LLaMA-2's 32,000 pieces is most of a tiny model's compute and checkpoint): the specials, the 256 byte
 * pieces (byte fallback), every printable ASCII character, and each word of `texts` as one piece (with its
 * leading `▁`; its prefixes are the merges that reach it). Any text still tokenises, words outside `texts`
 * letter by letter.
 */
export function smallModelSpec(texts: string[]): ModelSpec {
  const pieces = [
    { piece: "<unk>", score: 0, type: 2 },
    { piece: "<s>", score: 0, type: 3 },
    { piece: "</s>", score: 0, type: 3 },
    ...Array.from({ length: 256 }, (_, b) => ({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, score: 0, type: 6 })),
  ];
  const have = new Set<string>();
  const add = (piece: string, score: number) => {
    if (!have.has(piece)) pieces.push({ piece, score, type: 1 }), have.add(piece);
  };
  for (let c = 0x21; c < 0x7f; c++) add(String.fromCharCode(c), -1e6);
  add("▁", -1e6);
  const words = [...new Set(texts.flatMap((t) => t.split(/\s+/)).filter(Boolean))].sort();
  for (const w of words) for (let n = 1; n <= w.length; n++) add(`▁${w.slice(0, n)}`, n - 1e3);
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
