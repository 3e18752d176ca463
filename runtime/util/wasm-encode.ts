// The WebAssembly binary format, as much of it as llavac's hand-assembled kernels use (resample-simd.ts,
// word-counts.ts): LEB128 integers, vectors and sections, locals, constants, control flow and the i32
// instructions both share. Each kernel keeps its own specialised opcodes (SIMD, i64, memory) beside its code.

/** Unsigned LEB128. */
export const uleb = (n: number | bigint): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if (v === 0n) return [...out, b];
    out.push(b | 0x80);
  }
};
/** Signed LEB128. */
export const sleb = (n: number | bigint): number[] => {
  const out: number[] = [];
  let v = BigInt(n);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && !(b & 0x40)) || (v === -1n && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
/** A byte vector: its length, then its bytes (a function body, a section's contents). */
export const sized = (body: number[]) => [...uleb(body.length), ...body];
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
export const name = (s: string) => vec([...Buffer.from(s)].map((b) => [b]));
export const section = (id: number, body: number[]) => [id, ...sized(body)];
export const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export const I32 = 0x7f,
  I64 = 0x7e,
  V128 = 0x7b;

export const get = (i: number) => [0x20, ...uleb(i)],
  set = (i: number) => [0x21, ...uleb(i)],
  tee = (i: number) => [0x22, ...uleb(i)],
  i32c = (n: number) => [0x41, ...sleb(n)],
  i64c = (n: bigint) => [0x42, ...sleb(BigInt.asIntN(64, n))];

/** Control flow (blocks without a result) and the i32 instructions. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  ifThen: [0x04, 0x40],
  end: [0x0b],
  ret: [0x0f],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  select: [0x1b],
  eqz: [0x45],
  ne: [0x47],
  ltS: [0x48],
  ltU: [0x49],
  gtS: [0x4a],
  gtU: [0x4b],
  geU: [0x4f],
  ctz: [0x68],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  remU: [0x70],
  and: [0x71],
  or: [0x72],
  xor: [0x73],
  shl: [0x74],
  shrS: [0x75],
  shrU: [0x76],
};
