// The counting scan of SentencePieceBPE.count in WebAssembly, over the text's UTF-8 bytes: the same words
// (a word starts at a space after a non-space; the first word holds the leading spaces), each looked up in
// an open-addressing table in linear memory under its own bytes, compared byte by byte (UTF-8 is one-to-one
// on well-formed text, so equal bytes are equal words). A word not in the table comes back to JavaScript,
// which counts it with the encoder and stores it; the scan then resumes after it. The module (a few hundred
// bytes) is assembled below from its instructions, so there is no binary or toolchain to keep.

import { get, I32, I64, i32c, i64c, MAGIC, op, set, sized, tee, uleb, V128 } from "../util/wasm-encode.js";

// Memory: the table (16-byte entries: hash, key address, len << 1 | first, count), a 32-byte header where a
// miss is reported, the key bytes, then the input (grown on demand).
const SLOTS = 1 << 18;
const MASK = SLOTS - 1;
const HDR = SLOTS * 16;
const POOL = HDR + 32;
const INPUT = 8 << 20;
/** Entries before the table is cleared (load factor ½), and the longest word kept. */
const MAX_ENTRIES = SLOTS >> 1;
const MAX_KEY = 1 << 16;

// parameters, then the i32 and the i64 locals
const [POS, END, FIRST, TOTAL, Q, BITS, CARRY, M, START, WEND, LEN, H, SLOT, E, OFF, K, KEY] = Array.from({ length: 17 }, (_, i) => i);
const [A, B, MSK, X] = [17, 18, 19, 20];
const num = i32c,
  num64 = i64c,
  load = (offset: number) => [0x28, 0, ...uleb(offset)],
  load64 = (offset: number) => [0x29, 0, ...uleb(offset)],
  store = (offset: number) => [0x36, 0, ...uleb(offset)];
const { block, loop, end, ifThen, ret, br, brIf, eqz, ne, geU, gtU, ctz, add, sub, and, or, xor, shl, shrU, select } = op;
const [ne64, sub64, mul64, and64, xor64, shl64, shrU64, wrap, extend] = [
  [0x52],
  [0x7d],
  [0x7e],
  [0x83],
  [0x85],
  [0x86],
  [0x88],
  [0xa7],
  [0xad],
];
const K1 = 0x9e3779b97f4a7c15n,
  K2 = 0xc2b2ae3d27d4eb4fn;

// The word boundaries (a space after a non-space) among the 16 bytes at Q, as bits; CARRY: the byte before
// Q was a space (or Q starts a word).
const boundaries = [
  ...[...get(Q), 0xfd, 0x00, 0, ...uleb(INPUT), ...num(0x20), 0xfd, 0x0f, 0xfd, 0x23, 0xfd, 0x64, ...tee(M)],
  ...[...get(M), ...num(1), ...shl, ...get(CARRY), ...or, ...num(-1), ...xor, ...and, ...set(BITS)],
  ...[...get(M), ...num(15), ...shrU, ...set(CARRY)],
];
// run(pos, end, first, total) -> total + the counts of the words of input[pos, end), or -1 at the first word
// not in the table, with its start, end, hash, the total before it and its free slot in the header. A word's
// hash covers its first and last 8 bytes, its length and whether it is first; the compare covers all of it.
const body = [
  ...[...get(POS), ...set(Q), ...num(1), ...set(CARRY), ...boundaries],
  ...loop,
  ...[...get(POS), ...set(START)],
  // the word's end: the next boundary, or the end of the text
  ...block,
  ...loop,
  ...[
    ...get(BITS),
    ...ifThen,
    ...get(Q),
    ...get(BITS),
    ...ctz,
    ...add,
    ...set(WEND),
    ...get(BITS),
    ...get(BITS),
    ...num(1),
    ...sub,
    ...and,
  ],
  ...[...set(BITS), ...get(END), ...get(WEND), ...get(WEND), ...get(END), ...geU, ...select, ...set(WEND), ...br(2), ...end],
  ...[...get(Q), ...num(16), ...add, ...tee(Q), ...get(END), ...geU, ...ifThen, ...get(END), ...set(WEND), ...br(2), ...end],
  ...[...boundaries, ...br(0)],
  ...end,
  ...end,
  ...[...get(WEND), ...get(START), ...sub, ...set(LEN), ...get(LEN), ...num(1), ...shl, ...get(FIRST), ...or, ...set(KEY)],
  ...[
    ...num64(-1n),
    ...num64(1n),
    ...get(LEN),
    ...num(3),
    ...shl,
    ...extend,
    ...shl64,
    ...num64(1n),
    ...sub64,
    ...get(LEN),
    ...num(8),
    ...geU,
  ],
  ...[...select, ...set(MSK), ...get(START), ...load64(INPUT), ...get(MSK), ...and64, ...set(A)],
  ...[...get(WEND), ...load64(INPUT - 8), ...num64(0n), ...get(LEN), ...num(8), ...gtU, ...select, ...set(B)],
  ...[...get(A), ...num64(K1), ...mul64, ...get(B), ...num64(K2), ...mul64, ...xor64, ...get(KEY), ...extend, ...xor64, ...set(X)],
  ...[...get(X), ...get(X), ...num64(32n), ...shrU64, ...xor64, ...num64(K1), ...mul64, ...num64(32n), ...shrU64, ...wrap, ...tee(H)],
  ...[...num(MASK), ...and, ...set(SLOT)],
  // its entry
  ...block,
  ...loop,
  ...[...get(SLOT), ...num(4), ...shl, ...tee(E), ...load(4), ...tee(OFF), ...eqz, ...ifThen],
  ...[...num(0), ...get(START), ...store(HDR), ...num(0), ...get(WEND), ...store(HDR + 4), ...num(0), ...get(H), ...store(HDR + 8)],
  ...[...num(0), ...get(TOTAL), ...store(HDR + 12), ...num(0), ...get(SLOT), ...store(HDR + 16), ...num(-1), ...ret, ...end],
  ...block,
  ...[...get(E), ...load(0), ...get(H), ...ne, ...brIf(0), ...get(E), ...load(8), ...get(KEY), ...ne, ...brIf(0)],
  ...[...get(OFF), ...load64(0), ...get(MSK), ...and64, ...get(A), ...ne64, ...brIf(0)],
  ...block,
  ...[...get(LEN), ...num(8), ...gtU, ...eqz, ...brIf(0)],
  ...[...get(OFF), ...get(LEN), ...add, ...num(8), ...sub, ...load64(0), ...get(B), ...ne64, ...brIf(1), ...num(8), ...set(K)],
  ...loop,
  ...[...get(K), ...num(8), ...add, ...get(LEN), ...geU, ...brIf(1)],
  ...[...get(OFF), ...get(K), ...add, ...load64(0), ...get(START), ...get(K), ...add, ...load64(INPUT), ...ne64, ...brIf(2)],
  ...[...get(K), ...num(8), ...add, ...set(K), ...br(0)],
  ...end,
  ...end,
  ...br(2),
  ...end,
  ...[...get(SLOT), ...num(1), ...add, ...num(MASK), ...and, ...set(SLOT), ...br(0)],
  ...end,
  ...end,
  // found: add its count and go on with the next word
  ...[...get(TOTAL), ...get(E), ...load(12), ...add, ...set(TOTAL), ...get(WEND), ...set(POS), ...num(0), ...set(FIRST)],
  ...[...get(POS), ...get(END), ...geU, ...ifThen, ...get(TOTAL), ...ret, ...end, ...br(0)],
  ...end,
  ...num(0),
  ...end,
];

// clean(end) -> 1 when every byte of input[0, end) (padded with spaces to 16) is one that ftfy's fix_text
// leaves as it is in an ASCII text: tab, LF, FF, or printable ASCII other than "&" (ftfy.ts CLEAN_ASCII, its
// first test, which a text of these bytes passes), else 0. 16 bytes at a time.
const [CEND, CQ, CV] = [0, 1, 2];
const simd = (o: number) => [0xfd, ...uleb(o)];
const [splat, eq8, ltU8, andnot, or128, allTrue, sub8] = [0x0f, 0x23, 0x26, 0x4f, 0x50, 0x63, 0x71].map(simd);
const is = (byte: number) => [...get(CV), ...num(byte), ...splat!, ...eq8!];
const cleanBody = [
  ...loop,
  ...[...get(CQ), ...get(CEND), ...geU, ...ifThen, ...num(1), ...ret, ...end],
  ...[...get(CQ), ...simd(0x00), 0, ...uleb(INPUT), ...tee(CV)],
  // printable: byte - 0x20 < 0x5f (unsigned), and not "&"
  ...[...num(0x20), ...splat!, ...sub8!, ...num(0x5f), ...splat!, ...ltU8!, ...is(0x26), ...andnot!],
  ...[...is(0x09), ...or128!, ...is(0x0a), ...or128!, ...is(0x0c), ...or128!],
  ...[...allTrue!, ...eqz, ...ifThen, ...num(0), ...ret, ...end],
  ...[...get(CQ), ...num(16), ...add, ...set(CQ), ...br(0)],
  ...end,
  ...num(0),
  ...end,
];
const ascii = (s: string) => s.split("").map((c) => c.charCodeAt(0));
const moduleBytes = new Uint8Array([
  ...MAGIC,
  ...[0x01, ...sized([2, 0x60, 4, I32, I32, I32, I32, 1, I32, 0x60, 1, I32, 1, I32])], // types: (i32 ×4) -> i32, i32 -> i32
  ...[0x03, ...sized([2, 0, 1])], // run of type 0, clean of type 1
  ...[0x05, ...sized([1, 0, ...uleb((INPUT >> 16) + 16)])], // memory, grown on demand
  ...[0x07, ...sized([3, 3, ...ascii("run"), 0, 0, 5, ...ascii("clean"), 0, 1, 3, ...ascii("mem"), 2, 0])],
  ...[0x0a, ...sized([2, ...sized([2, 13, I32, 4, I64, ...body]), ...sized([2, 1, I32, 1, V128, ...cleanBody])])],
]);

type Run = (pos: number, end: number, first: number, total: number) => number;
// The few WebAssembly JS API members used (the project compiles without the DOM library that declares them).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const WA = (globalThis as unknown as { WebAssembly?: Record<string, new (...args: unknown[]) => unknown> }).WebAssembly;
let compiled: unknown;
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();
// A lone surrogate becomes U+FFFD in UTF-8, so two different texts could share bytes: such texts are not
// scanned here.
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** How full the table may get before it is cleared (smaller than the defaults only in tests). */
export interface WordCountLimits {
  entries?: number;
  /** Bytes of words kept. */
  pool?: number;
}

/** One tokenizer's table of word counts with its scan; null where WebAssembly is not available. */
export class WordCounts {
  private u8: Uint8Array;
  private i32: Int32Array;
  private input: Uint8Array;
  private entries = 0;
  private poolEnd = POOL;
  private constructor(
    private readonly memory: WasmMemory,
    private readonly run: Run,
    private readonly clean: (end: number) => number,
    private readonly limits: Required<WordCountLimits>,
  ) {
    this.u8 = new Uint8Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.input = this.u8.subarray(INPUT);
  }

  static create(limits: WordCountLimits = {}): WordCounts | null {
    try {
      if (!WA || compiled === null) return null;
      compiled ??= new WA.Module!(moduleBytes);
      const inst = new WA.Instance!(compiled, {}) as { exports: { run: Run; clean: (end: number) => number; mem: WasmMemory } };
      const { run, clean, mem } = inst.exports;
      return new WordCounts(mem, run, clean, {
        entries: Math.min(limits.entries ?? MAX_ENTRIES, MAX_ENTRIES),
        pool: Math.min(limits.pool ?? INPUT - POOL, INPUT - POOL),
      });
    } catch {
      compiled = null;
      return null;
    }
  }

  /**
   * The token count of `text` (no "▁" in it), word by word; `countWord(word, first)` counts a word not seen
   * before (after the dummy prefix when `first`). Undefined when the text holds a lone surrogate
   * or is too long for the memory.
   */
  count(text: string, dummy: boolean, countWord: (word: string, first: boolean) => number): number | undefined {
    const n = this.load(text);
    if (n < 0 || (n !== text.length && loneSurrogate.test(text))) return undefined;
    return this.countLoaded(n, dummy, countWord);
  }

  /**
   * Whether `text` is clean ASCII in ftfy's sense (what CLEAN_ASCII in ftfy.ts matches: fix_text returns
   * it unchanged); its bytes stay loaded for `countLoaded`. False also when it does not fit the memory.
   */
  loadClean(text: string): boolean {
    const n = this.load(text);
    if (n !== text.length) return false;
    this.input.fill(0x20, n, n + 16);
    return this.clean(n) === 1;
  }

  /** Writes `text` as UTF-8 to the input: its byte length, or -1 when the memory cannot hold it. */
  private load(text: string): number {
    // (the scans read up to 16 bytes past the text)
    const need = text.length * 3 + 16;
    if (need > this.input.length) {
      // (memory that cannot grow leaves the text to the JavaScript scan)
      try {
        this.memory.grow(Math.ceil((need - this.input.length) / 65536));
      } catch {
        return -1;
      }
      this.u8 = new Uint8Array(this.memory.buffer);
      this.i32 = new Int32Array(this.memory.buffer);
      this.input = this.u8.subarray(INPUT);
    }
    return encoder.encodeInto(text, this.input).written;
  }

  /** The count of the `n` bytes just loaded (well-formed UTF-8: no lone surrogate was in the text). */
  countLoaded(n: number, dummy: boolean, countWord: (word: string, first: boolean) => number): number {
    let r = this.run(0, n, dummy ? 1 : 0, 0);
    while (r < 0) {
      const h = HDR >> 2;
      const [start, end, hash, total, slot] = [this.i32[h]!, this.i32[h + 1]!, this.i32[h + 2]!, this.i32[h + 3]!, this.i32[h + 4]!];
      const first = dummy && start === 0;
      const c = countWord(utf8.decode(this.input.subarray(start, end)), first);
      this.insert(slot, hash, start, end, first, c);
      r = end < n ? this.run(end, n, 0, total + c) : total + c;
    }
    return r;
  }

  private insert(slot: number, hash: number, start: number, end: number, first: boolean, count: number): void {
    const len = end - start;
    if (len > MAX_KEY) return;
    if (this.entries >= this.limits.entries || this.poolEnd + len > POOL + this.limits.pool) {
      this.i32.fill(0, 0, SLOTS * 4);
      this.entries = 0;
      this.poolEnd = POOL;
      slot = hash & MASK;
    }
    this.u8.copyWithin(this.poolEnd, INPUT + start, INPUT + end);
    const e = slot * 4;
    this.i32[e] = hash;
    this.i32[e + 1] = this.poolEnd;
    this.i32[e + 2] = (len << 1) | (first ? 1 : 0);
    this.i32[e + 3] = count;
    this.poolEnd += len;
    this.entries++;
  }
}
