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
