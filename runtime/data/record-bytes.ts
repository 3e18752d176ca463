// The records of a batch of jsonl lines read straight from its bytes (`check --data`), with what batchLines +
// parseLine give for every line: the same line numbers, blank lines left out, and the same record or problem.
// A line of printable ASCII only in the usual shape, `{"id": string, "image": string, "conversations":
// [{"from": string, "value": string}, ...]}` with any other top-level key holding a string, is read here
// without JSON.parse: one WebAssembly pass over the batch (16 bytes at a time) lists where its quotes,
// backslashes and bytes other than printable ASCII are, and the strings are cut out of the bytes between them
// (a string with an escape is given to JSON.parse alone). Any other line (non-ASCII or control bytes, numbers,
// other keys or shapes, a repeated key, anything malformed) is decoded and parsed as before, so its verdict
// and message are the ones parseRecord gives. JSON.parse and the batch's UTF-8 decode were a quarter of the
// pass's time.

import { get, I32, i32c, MAGIC, op, set, sized, tee, uleb, V128 } from "../util/wasm-encode.js";
import type { InputLine } from "./classify.js";
import { type Batch, batchLines } from "./jsonl.js";
import { type LlavaRecord, parseRecord, type RecordProblem, type Turn } from "./records.js";

// marks(pos, end, out) -> how many indices it wrote as i32 at `out`: in order, every index in [pos, end)
// whose byte is a quote, a backslash or not printable ASCII (0x20..0x7e). 16 bytes at a time; it reads up
// to 15 bytes past `end` (the memory has that room).
const [POS, END, OUT, BITS, IDX, COUNT, V] = [0, 1, 2, 3, 4, 5, 6];
const simd = (o: number) => [0xfd, ...uleb(o)];
const [splat, eq8, ltU8, not128, or128, bitmask, sub8] = [0x0f, 0x23, 0x26, 0x4d, 0x50, 0x64, 0x71].map(simd);
const { block, loop, end, ifThen, ret, br, brIf, eqz, geU, ctz, add, sub, and, shl } = op;
const is = (byte: number) => [...get(V), ...i32c(byte), ...splat!, ...eq8!];
const marksBody = [
  ...loop,
  ...[...get(POS), ...get(END), ...geU, ...ifThen, ...get(COUNT), ...ret, ...end],
  ...[...get(POS), ...simd(0x00), 0, 0, ...tee(V)],
  ...[...i32c(0x20), ...splat!, ...sub8!, ...i32c(0x5f), ...splat!, ...ltU8!, ...not128!, ...is(0x22), ...or128!, ...is(0x5c), ...or128!],
  ...[...bitmask!, ...set(BITS)],
  ...block,
  ...loop,
  ...[...get(BITS), ...eqz, ...brIf(1)],
  ...[...get(POS), ...get(BITS), ...ctz, ...add, ...tee(IDX), ...get(END), ...geU, ...ifThen, ...get(COUNT), ...ret, ...end],
  ...[...get(OUT), ...get(COUNT), ...i32c(2), ...shl, ...add, ...get(IDX), 0x36, 2, 0],
  ...[...get(COUNT), ...i32c(1), ...add, ...set(COUNT)],
  ...[...get(BITS), ...get(BITS), ...i32c(1), ...sub, ...and, ...set(BITS), ...br(0)],
  ...end,
  ...end,
  ...[...get(POS), ...i32c(16), ...add, ...set(POS), ...br(0)],
  ...end,
  ...i32c(0),
  ...end,
];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const moduleBytes = new Uint8Array([
  ...MAGIC,
  ...[0x01, ...sized([1, 0x60, 3, I32, I32, I32, 1, I32])], // type: (i32, i32, i32) -> i32
  ...[0x03, ...sized([1, 0])],
  ...[0x05, ...sized([1, 0, 16])], // memory: 1 MiB, grown on demand
  ...[0x07, ...sized([2, 5, ...ascii("marks"), 0, 0, 3, ...ascii("mem"), 2, 0])],
  ...[0x0a, ...sized([1, ...sized([2, 3, I32, 1, V128, ...marksBody])])],
]);

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const WA = (globalThis as unknown as { WebAssembly?: Record<string, new (...args: unknown[]) => unknown> }).WebAssembly;
type Marks = (pos: number, end: number, out: number) => number;

/** The marks pass; null where WebAssembly is not available (every batch then takes batchLines). */
class MarkScan {
  private constructor(
    private readonly memory: WasmMemory,
    private readonly run: Marks,
  ) {}
  static create(): MarkScan | null {
    try {
      if (!WA) return null;
      const inst = new WA.Instance!(new WA.Module!(moduleBytes), {}) as { exports: { marks: Marks; mem: WasmMemory } };
      return new MarkScan(inst.exports.mem, inst.exports.marks);
    } catch {
      return null;
    }
  }
  /** The marks of `bytes` (a view into the memory, valid until the next call); null when it cannot hold them. */
  marks(bytes: Uint8Array): Int32Array | null {
    const out = (bytes.length + 16 + 3) & ~3;
    const need = out + 4 * (bytes.length + 16);
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      try {
        this.memory.grow(Math.ceil((need - have) / 65536));
      } catch {
        return null;
      }
    }
    new Uint8Array(this.memory.buffer).set(bytes);
    const count = this.run(0, bytes.length, out);
    return new Int32Array(this.memory.buffer, out, count);
  }
}
let scan: MarkScan | null | undefined;

const [QUOTE, BACKSLASH, SPACE, COLON, COMMA, LBRACE, RBRACE, LBRACKET, RBRACKET, CR, LF] = [
  0x22, 0x5c, 0x20, 0x3a, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x0d, 0x0a,
];

/** What batchLines + parseLine give for a batch: the lines with content, each with its record or problem. */
export interface BatchRecords {
  lines: number[];
  parsed: (LlavaRecord | RecordProblem)[];
  /** Lines read from their bytes (the rest went through parseRecord). */
  fast: number;
}

/** The batch's records, as `batchLines(batch).map(parseLine)` gives them (with their line numbers). */
export function batchRecords(batch: Batch): BatchRecords {
  scan ??= MarkScan.create();
  const bytes = batch.bytes;
  const marks = scan?.marks(bytes);
  if (!marks) return viaText(batchLines(batch));
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const size = bytes.length;
  const lines: number[] = [];
  const parsed: (LlavaRecord | RecordProblem)[] = [];
  let fast = 0;
  M = marks;
  mj = 0;
  for (let start = 0, i = 0; start < size; i++) {
    // the line's first byte other than printable ASCII (its LF, if it is all printable)
    let k = mj;
    while (k < M.length && (buf[M[k]!] === QUOTE || buf[M[k]!] === BACKSLASH)) k++;
    let stop = k < M.length ? M[k]! : size;
    let e = stop;
    if (stop < size && buf[stop] !== LF) {
      // Something else: the line is read as text, unless that is only the CR of a CRLF.
      e = buf.indexOf(LF, stop);
      if (e < 0) e = size;
      if (!(stop === e - 1 && buf[stop] === CR)) stop = -1;
    }
    const line = batch.firstLine + i;
    if (stop < 0) {
      const one = viaText(batchLines({ ...batch, firstLine: line, bytes: bytes.subarray(start, e) }));
      for (let q = 0; q < one.lines.length; q++) {
        lines.push(one.lines[q]!);
        parsed.push(one.parsed[q]!);
      }
    } else {
      // printable ASCII in [start, stop): blank when only spaces (trim), else a record
      let p = start;
      while (p < stop && buf[p] === SPACE) p++;
      if (p < stop) {
        lines.push(line);
        const rec = readRecord(buf, start, stop);
        if (rec) fast++;
        parsed.push(rec ?? parseRecord(latin1(buf, start, stop)));
      }
    }
    start = e + 1;
    while (mj < M.length && M[mj]! < start) mj++;
  }
  return { lines, parsed, fast };
}

function viaText(lines: InputLine[]): BatchRecords {
  return {
    lines: lines.map((l) => l.line),
    parsed: lines.map((l) => (l.invalid ? { reason: "invalid_utf8", detail: "the line is not valid UTF-8" } : parseRecord(l.text))),
    fast: 0,
  };
}

// The line being read (readRecord) and the batch's marks, as module state: no closures are built per record.
let L: Buffer = Buffer.alloc(0);
let n = 0;
let p = 0;
let M: Int32Array = new Int32Array(0);
/** The first mark at or after p. */
let mj = 0;
/** Whether the string whose end stringEnd found holds an escape. */
let escaped = false;

// Buffer's own latin1 slice (what toString("latin1", ...) calls after its checks), where it is there.
type Latin1 = { latin1Slice?: (start: number, end: number) => string };
const latin1: (b: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Latin1).latin1Slice === "function"
    ? (b, start, end) => (b as Latin1).latin1Slice!(start, end)
    : (b, start, end) => b.toString("latin1", start, end);

function ws(): void {
  while (p < n && L[p] === SPACE) p++;
}

/**
 * The end (closing quote) of the string starting at p (a quote, the mark mj), or -1; sets `escaped`. A
 * backslash escapes the byte after it, so a quote or backslash right after one is not looked at.
 */
function stringEnd(): number {
  if (M[mj] !== p) return -1;
  escaped = false;
  for (let k = mj + 1; k < M.length; k++) {
    const at = M[k]!;
    if (at >= n) return -1;
    const c = L[at];
    if (c === QUOTE) {
      mj = k + 1;
      return at;
    }
    if (c !== BACKSLASH) return -1;
    escaped = true;
    if (M[k + 1] === at + 1) k++;
  }
  return -1;
}

/** The string value at p, or undefined; p moves past it. */
function str(): string | undefined {
  if (L[p] !== QUOTE) return undefined;
  const q = stringEnd();
  if (q < 0) return undefined;
  let s: string;
  if (!escaped) s = latin1(L, p + 1, q);
  else
    try {
      s = JSON.parse(latin1(L, p, q + 1)) as string;
    } catch {
      return undefined;
    }
  p = q + 1;
  return s;
}

/** A key without escapes at p, then its colon (keyStart, keyLength: its characters); false for anything else. */
let keyStart = 0,
  keyLength = 0;
function key(): boolean {
  if (L[p] !== QUOTE) return false;
  const q = stringEnd();
  if (q < 0 || escaped) return false;
  keyStart = p + 1;
  keyLength = q - p - 1;
  p = q + 1;
  ws();
  if (L[p] !== COLON) return false;
  p++;
  ws();
  return true;
}

/** The key key() just read is `name` (ASCII). */
function keyIs(name: string): boolean {
  if (keyLength !== name.length) return false;
  for (let k = 0; k < keyLength; k++) if (L[keyStart + k] !== name.charCodeAt(k)) return false;
  return true;
}

/** The string at p when it is the role `name` (no escapes): the same string, without a slice. */
function role(name: string): string | undefined {
  const len = name.length;
  if (L[p + len + 1] !== QUOTE || M[mj] !== p || M[mj + 1] !== p + len + 1) return undefined;
  for (let k = 0; k < len; k++) if (L[p + 1 + k] !== name.charCodeAt(k)) return undefined;
  p += len + 2;
  mj += 2;
  return name;
}

/** `{"from": string, "value": string}` at p (the keys in either order, from optional), or undefined. */
function turn(): Turn | undefined {
  if (L[p] !== LBRACE) return undefined;
  p++;
  ws();
  let from: string | undefined, value: string | undefined;
  for (;;) {
    if (!key()) return undefined;
    if (keyIs("from")) {
      if (from !== undefined) return undefined;
      from = role("human") ?? role("gpt") ?? str();
      if (from === undefined) return undefined;
    } else if (keyIs("value")) {
      if (value !== undefined || (value = str()) === undefined) return undefined;
    } else return undefined;
    const more = after(RBRACE);
    if (more === 1) continue;
    return more === 0 && value !== undefined ? { from: from ?? "", value } : undefined;
  }
}

/** After a member or an element: 1 at a comma (another follows), 0 at `close` (now passed), -1 otherwise. */
function after(close: number): number {
  ws();
  if (L[p] === COMMA) {
    p++;
    ws();
    return 1;
  }
  if (L[p] !== close) return -1;
  p++;
  return 0;
}

/**
 * The record on line [start, end) of `buf` (printable ASCII, its marks from mj on) in the usual shape: its
 * id, image and conversations as validateRecord(JSON.parse(line)) gives them (other keys, which `check
 * --data` does not read, are left out); undefined for anything else (the caller parses the line as text).
 */
function readRecord(buf: Buffer, start: number, end: number): LlavaRecord | undefined {
  L = buf;
  n = end;
  p = start;
  return record();
}

function record(): LlavaRecord | undefined {
  ws();
  if (L[p] !== LBRACE) return undefined;
  p++;
  ws();
  let id: string | undefined, image: string | undefined, turns: Turn[] | undefined;
  for (;;) {
    if (!key()) return undefined;
    if (keyIs("conversations")) {
      if (turns !== undefined || L[p] !== LBRACKET) return undefined;
      p++;
      ws();
      turns = [];
      if (L[p] === RBRACKET) p++;
      else
        for (let more = 1; more === 1; ) {
          const t = turn();
          if (!t) return undefined;
          turns.push(t);
          if ((more = after(RBRACKET)) < 0) return undefined;
        }
    } else if (keyIs("id")) {
      if (id !== undefined || (id = str()) === undefined) return undefined;
    } else if (keyIs("image")) {
      if (image !== undefined || (image = str()) === undefined) return undefined;
    } else if (str() === undefined) return undefined; // (another key: a string, not kept)
    const more = after(RBRACE);
    if (more < 0) return undefined;
    if (more === 0) break;
  }
  ws();
  if (p !== n || turns === undefined) return undefined;
  const rec: LlavaRecord = { id: id ?? "", conversations: turns };
  if (image !== undefined) rec.image = image;
  return rec;
}
