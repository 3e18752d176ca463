// SentencePiece BPE, exactly as google/sentencepiece encodes: identity normalisation with the dummy
// prefix and whitespace escaping, symbol-pair merges by piece score (ties to the leftmost pair), unknown
// symbols decomposed into <0xNN> byte pieces when byte_fallback is on, and runs of unknowns merged
// otherwise. It reads a real `tokenizer.model` (a ModelProto) or a piece list built in memory.

import { type WordCountLimits, WordCounts } from "./word-counts.js";

export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface Piece {
  piece: string;
  score: number;
  type: number;
}

export interface ModelSpec {
  pieces: Piece[];
  modelType: number; // 1 unigram, 2 bpe
  byteFallback: boolean;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  normalizerName: string;
  hasCharsmap: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
}

export class TokenizerError extends Error {}

/** The longest text whose count is cached whole (count, countClean). */
const SHORT_TEXT = 64;

// ---- a minimal protobuf reader: varints, 32-bit floats and length-delimited fields ----

class ProtoReader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  varint(): number {
    let result = 0,
      shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new TokenizerError("truncated varint");
      const b = this.buf[this.pos++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 63) throw new TokenizerError("varint too long");
    }
    return shift < 28 ? result >>> 0 : result;
  }
  /** int32 fields are written as 10-byte varints when negative. */
  int32(): number {
    const v = this.varint();
    return v > 0x7fffffff ? v - 2 ** 64 : v;
  }
  float(): number {
    if (this.pos + 4 > this.end) throw new TokenizerError("truncated float");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new TokenizerError("truncated field");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new TokenizerError(`unsupported wire type ${wire}`);
  }
  *fields(): Generator<[number, number]> {
    while (this.pos < this.end) {
      const key = this.varint();
      yield [key >>> 3, key & 7];
    }
  }
}

// ignoreBOM: a piece that is U+FEFF (id 30143 in the LLaMA-2 vocabulary) is text, not a byte-order mark.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const strictUtf8 = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/** Parse a serialized sentencepiece ModelProto (the `tokenizer.model` file). */
export function parseModelProto(buf: Uint8Array): ModelSpec {
  const spec: ModelSpec = {
    pieces: [],
    modelType: 1,
    byteFallback: false,
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
    normalizerName: "",
    hasCharsmap: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
  };
  const r = new ProtoReader(buf);
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 2) {
      const sub = r.bytes();
      const pr = new ProtoReader(sub);
      const p: Piece = { piece: "", score: 0, type: PieceType.NORMAL };
      for (const [f, w] of pr.fields()) {
        if (f === 1 && w === 2) p.piece = utf8.decode(pr.bytes());
        else if (f === 2 && w === 5) p.score = pr.float();
        else if (f === 3 && w === 0) p.type = pr.varint();
        else pr.skip(w);
      }
      spec.pieces.push(p);
    } else if (field === 2 && wire === 2) {
      const t = new ProtoReader(r.bytes());
      for (const [f, w] of t.fields()) {
        if (f === 3 && w === 0) spec.modelType = t.varint();
        else if (f === 35 && w === 0) spec.byteFallback = t.varint() !== 0;
        else if (f === 40 && w === 0) spec.unkId = t.int32();
        else if (f === 41 && w === 0) spec.bosId = t.int32();
        else if (f === 42 && w === 0) spec.eosId = t.int32();
        else if (f === 43 && w === 0) spec.padId = t.int32();
        else t.skip(w);
      }
    } else if (field === 3 && wire === 2) {
      const n = new ProtoReader(r.bytes());
      for (const [f, w] of n.fields()) {
        if (f === 1 && w === 2) spec.normalizerName = utf8.decode(n.bytes());
        else if (f === 2 && w === 2) spec.hasCharsmap = n.bytes().length > 0;
        else if (f === 3 && w === 0) spec.addDummyPrefix = n.varint() !== 0;
        else if (f === 4 && w === 0) spec.removeExtraWhitespaces = n.varint() !== 0;
        else if (f === 5 && w === 0) spec.escapeWhitespaces = n.varint() !== 0;
        else n.skip(w);
      }
    } else r.skip(wire);
  }
  if (spec.pieces.length === 0) throw new TokenizerError("the model has no pieces");
  return spec;
}

// ---- a binary heap of candidate merges: highest score first, then leftmost ----

interface Pair {
  left: number;
  right: number;
  score: number;
  size: number;
}

class MergeHeap {
  private items: Pair[] = [];
  get size(): number {
    return this.items.length;
  }
  private better(a: Pair, b: Pair): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(p: Pair): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): Pair {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let best = i;
        if (l < a.length && this.better(a[l]!, a[best]!)) best = l;
        if (r < a.length && this.better(a[r]!, a[best]!)) best = r;
        if (best === i) break;
        [a[i], a[best]] = [a[best]!, a[i]!];
        i = best;
      }
    }
    return top;
  }
}

const SPACE = "\u2581";
/** The hash seed of a text's first word when the dummy prefix stands before it (count). */
const FIRST_WORD = 0x2581;

export class SentencePieceBPE {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  readonly padId: number;
  private readonly normal = new Map<string, number>();
  private readonly reserved = new Map<string, number>();
  private readonly userDefined: string[];
  private readonly byteIds = new Int32Array(256).fill(-1);
  /**
   * Whether encoding may run word by word. It is exact when no piece has "▁" after another character
   * (then no merge can cross the start of a word), there are no user-defined symbols (matched across
   * words), and unknown characters fall back to bytes (so runs of <unk> never need merging across words).
   */
  private readonly wordwise: boolean;
  private readonly cache = new Map<string, number[]>();
  /**
   * The word cache of the fast path (encodeWords): open addressing on a hash of the word's normalised
   * characters, so a word seen before is found without building its string.
   */
  private slots = new Int32Array(1 << 19);
  private words: { word: string; hash: number; ids: number[] }[] = [];
  /** The word cache of the counting path (count), like the one above but holding counts; and whole short texts. */
  private countSlots = new Int32Array(1 << 19);
  private countWords: { key: string; hash: number; first: boolean; count: number }[] = [];
  private readonly textCounts = new Map<string, number>();
  /** The counting scan in WebAssembly (word-counts.ts): null where it is not available or not wanted. */
  private wordCounts: WordCounts | null | undefined;

  /** `wasm: false` keeps the counting scan in JavaScript (the differential tests compare the two). */
  constructor(
    readonly spec: ModelSpec,
    private readonly opts: { wasm?: boolean; limits?: WordCountLimits } = {},
  ) {
    if (spec.modelType !== 2)
      throw new TokenizerError(
        `only BPE sentencepiece models are supported (this model's type is ${spec.modelType === 1 ? "unigram" : spec.modelType})`,
      );
    if (spec.hasCharsmap)
      throw new TokenizerError(
        `only the identity normalizer is supported (this model uses "${spec.normalizerName || "a precompiled charsmap"}")`,
      );
    this.vocabSize = spec.pieces.length;
    const user: string[] = [];
    spec.pieces.forEach((p, id) => {
      const isNormal = p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED;
      (isNormal ? this.normal : this.reserved).set(p.piece, id);
      if (p.type === PieceType.USER_DEFINED) user.push(p.piece);
      if (p.type === PieceType.BYTE) {
        const m = /^<0x([0-9A-F]{2})>$/.exec(p.piece);
        if (m) this.byteIds[parseInt(m[1]!, 16)] = id;
      }
    });
    this.userDefined = user.sort((a, b) => b.length - a.length);
    this.wordwise = spec.byteFallback && user.length === 0 && !spec.pieces.some((p) => /[^\u2581]\u2581/.test(p.piece));
    this.unkId = spec.unkId;
    this.bosId = spec.bosId;
    this.eosId = spec.eosId;
    this.padId = spec.padId;
  }

  pieceToId(piece: string): number {
    return this.normal.get(piece) ?? this.reserved.get(piece) ?? this.unkId;
  }

  idToPiece(id: number): string {
    return this.spec.pieces[id]?.piece ?? "";
  }

  /** The normalised form sentencepiece encodes: dummy prefix, spaces → ▁ (identity rules only). */
  normalize(text: string): string {
    const s = this.spec;
    let input = text;
    if (s.removeExtraWhitespaces) input = input.replace(/^ +| +$/g, "").replace(/ {2,}/g, " ");
    if (input.length === 0) return "";
    if (s.escapeWhitespaces) input = input.replaceAll(" ", SPACE);
    if (s.addDummyPrefix) input = (s.escapeWhitespaces ? SPACE : " ") + input;
    return input;
  }

  /** Token ids of `text`, without BOS/EOS. */
  encode(text: string): number[] {
    if (this.wordwise && this.spec.escapeWhitespaces && !this.spec.removeExtraWhitespaces) return this.encodeWords(text);
    const normalized = this.normalize(text);
    if (normalized.length === 0) return [];
    if (!this.wordwise) return this.encodeNormalized(normalized);
    const out: number[] = [];
    let start = 0;
    for (let i = 1; i <= normalized.length; i++) {
      if (i < normalized.length && !(normalized.charCodeAt(i) === 0x2581 && normalized.charCodeAt(i - 1) !== 0x2581)) continue;
      const word = normalized.slice(start, i);
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.encodeNormalized(word);
        if (this.cache.size >= 200_000) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
      start = i;
    }
    return out;
  }

  /**
   * `encode(text).length` without building the ids. For the word-by-word models: the words of encodeWords,
   * found in the text itself (a text holding "▁" takes the general path, so a space is the only "▁"): a
   * word starts at a space after a non-space (the dummy prefix is a space before the text), and each word's
   * count, the length of its ids, is cached under the word's own characters, compared in place: in
   * WebAssembly over the text's UTF-8 bytes (word-counts.ts), else over its UTF-16 units here. Whole short
   * texts are cached too (answers and prompts repeat in LLaVA data): up to SHORT_TEXT characters, since a
   * longer one is scanned about as fast as it is hashed, and up to 100,000 of them held (at 256 characters,
   * the held texts kept V8's helper threads busier: ~1.8 → ~1.3 CPU-seconds on 200,000 synthetic records).
   */
  count(text: string): number {
    const s = this.spec;
    if (text.length === 0) return 0;
    if (!(this.wordwise && s.escapeWhitespaces && !s.removeExtraWhitespaces) || text.includes(SPACE)) return this.encode(text).length;
    const short = text.length <= SHORT_TEXT;
    if (short) {
      const c = this.textCounts.get(text);
      if (c !== undefined) return c;
    }
    const dummy = s.addDummyPrefix;
    let total = this.counter()?.count(text, dummy, this.countWord);
    if (total === undefined) {
      // (no WebAssembly, or a lone surrogate in the text) the same scan over the UTF-16 units
      const n = text.length;
      let start = 0,
        h = dummy ? FIRST_WORD : 0,
        prevSpace = true;
      total = 0;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x20) {
          if (!prevSpace) {
            total += this.wordCount(text, start, i, h, start === 0 && dummy);
            start = i;
            h = 0;
          }
          prevSpace = true;
        } else prevSpace = false;
        h = (Math.imul(h, 31) + c) | 0;
      }
      total += this.wordCount(text, start, n, h, start === 0 && dummy);
    }
    if (short) {
      if (this.textCounts.size >= 100_000) this.textCounts.clear();
      this.textCounts.set(text, total);
    }
    return total;
  }

  /**
   * `count(text)` when `text` is clean ASCII in ftfy's sense (what ftfy.ts CLEAN_ASCII matches: tab, LF, FF
   * and printable ASCII but "&", which fix_text returns unchanged), told in the WebAssembly pass that then
   * counts it; -1 when it is not, or where that pass is not used (other models, no WebAssembly).
   */
  countClean(text: string): number {
    const s = this.spec;
    if (!(this.wordwise && s.escapeWhitespaces && !s.removeExtraWhitespaces)) return -1;
    const wc = this.counter();
    if (!wc?.loadClean(text)) return -1;
    if (text.length === 0) return 0;
    const short = text.length <= SHORT_TEXT;
    if (short) {
      const c = this.textCounts.get(text);
      if (c !== undefined) return c;
    }
    const total = wc.countLoaded(text.length, s.addDummyPrefix, this.countWord);
    if (short) {
      if (this.textCounts.size >= 100_000) this.textCounts.clear();
      this.textCounts.set(text, total);
    }
    return total;
  }

  private counter(): WordCounts | null {
    if (this.wordCounts === undefined) this.wordCounts = this.opts.wasm === false ? null : WordCounts.create(this.opts.limits);
    return this.wordCounts;
  }

  /** The token count of one word of `count` (spaces and then other characters), after the dummy prefix when `first`. */
  private readonly countWord = (word: string, first: boolean): number =>
    this.encodeNormalized((first ? SPACE : "") + word.replaceAll(" ", SPACE)).length;

  /** The token count of text[start, end), after the dummy prefix when `first`; `hash` covers its characters. */
  private wordCount(text: string, start: number, end: number, hash: number, first: boolean): number {
    const mask = this.countSlots.length - 1;
    const len = end - start;
    let slot = (hash ^ (hash >>> 15)) & mask;
    for (; ; slot = (slot + 1) & mask) {
      const e = this.countSlots[slot]!;
      if (e === 0) break;
      const w = this.countWords[e - 1]!;
      if (w.hash !== hash || w.key.length !== len || w.first !== first) continue;
      let k = 0;
      while (k < len && w.key.charCodeAt(k) === text.charCodeAt(start + k)) k++;
      if (k === len) return w.count;
    }
    const key = text.slice(start, end);
    const count = this.countWord(key, first);
    if (this.countWords.length >= 200_000) {
      this.countSlots.fill(0);
      this.countWords = [];
      for (slot = (hash ^ (hash >>> 15)) & mask; this.countSlots[slot] !== 0; slot = (slot + 1) & mask);
    }
    this.countWords.push({ key, hash, first, count });
    this.countSlots[slot] = this.countWords.length;
    return count;
  }

  /**
   * `encode` for the common models (LLaMA's): word by word, straight from the text. The normalised text
   * is "▁" (the dummy prefix) + the text with spaces as "▁"; a word starts at a "▁" after another
   * character. The characters are mapped as they are read, each word is hashed while it is scanned, and
   * a cached word is compared in place, so encoding builds no strings except for words not seen before.
   * The words and their ids are those of `normalize` + the split in `encode`.
   */
  private encodeWords(text: string): number[] {
    const out: number[] = [];
    const n = text.length;
    if (n === 0) return out;
    const off = this.spec.addDummyPrefix ? 1 : 0;
    const total = n + off;
    let start = 0,
      h = 0,
      prev = -1;
    for (let i = 0; i < total; i++) {
      let c = i < off ? 0x2581 : text.charCodeAt(i - off);
      if (c === 0x20) c = 0x2581;
      if (i > 0 && c === 0x2581 && prev !== 0x2581) {
        this.pushCached(text, off, start, i, h, out);
        start = i;
        h = 0;
      }
      h = (Math.imul(h, 31) + c) | 0;
      prev = c;
    }
    this.pushCached(text, off, start, total, h, out);
    return out;
  }

  /** The ids of normalised positions [start, end) of `text` (shifted by the prefix `off`). */
  private pushCached(text: string, off: number, start: number, end: number, hash: number, out: number[]): void {
    const mask = this.slots.length - 1;
    const len = end - start;
    for (let slot = (hash ^ (hash >>> 15)) & mask; ; slot = (slot + 1) & mask) {
      const e = this.slots[slot]!;
      if (e === 0) break;
      const entry = this.words[e - 1]!;
      if (entry.hash !== hash || entry.word.length !== len) continue;
      let same = true;
      for (let k = 0; k < len; k++) {
        const i = start + k;
        let c = i < off ? 0x2581 : text.charCodeAt(i - off);
        if (c === 0x20) c = 0x2581;
        if (entry.word.charCodeAt(k) !== c) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      const ids = entry.ids;
      for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
      return;
    }
    const from = Math.max(0, start - off);
    const word = (start < off ? "\u2581" : "") + text.slice(from, end - off).replaceAll(" ", "\u2581");
    const ids = this.encodeNormalized(word);
    if (this.words.length >= 200_000) {
      this.slots.fill(0);
      this.words = [];
    }
    this.words.push({ word, hash, ids });
    for (let slot = (hash ^ (hash >>> 15)) & mask; ; slot = (slot + 1) & mask)
      if (this.slots[slot] === 0) {
        this.slots[slot] = this.words.length;
        break;
      }
    for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
  }

  private encodeNormalized(normalized: string): number[] {
    const pieces = this.bpe(normalized);
    const out: number[] = [];
    let prevUnk = false;
    for (const piece of pieces) {
      const id = this.normal.get(piece);
      if (id !== undefined) {
        out.push(id);
        prevUnk = false;
        continue;
      }
      if (this.spec.byteFallback) {
        for (const b of new TextEncoder().encode(piece)) {
          const bid = this.byteIds[b]!;
          out.push(bid >= 0 ? bid : this.unkId);
        }
        prevUnk = false;
        continue;
      }
      // Without byte fallback sentencepiece merges a run of unknown pieces into one <unk>.
      if (!prevUnk) out.push(this.unkId);
      prevUnk = true;
    }
    return out;
  }

  /** BPE over code points; returns the final pieces as strings. */
  private bpe(normalized: string): string[] {
    const starts: number[] = [];
    const ends: number[] = [];
    const frozen: boolean[] = [];
    for (let i = 0; i < normalized.length; ) {
      let len = 0,
        freeze = false;
      for (const u of this.userDefined) {
        if (normalized.startsWith(u, i)) {
          len = u.length;
          freeze = true;
          break;
        }
      }
      if (len === 0) len = normalized.codePointAt(i)! > 0xffff ? 2 : 1;
      starts.push(i);
      ends.push(i + len);
      frozen.push(freeze);
      i += len;
    }
    const n = starts.length;
    const prev = new Int32Array(n),
      next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const alive = new Uint8Array(n).fill(1);
    const heap = new MergeHeap();
    const scores = this.spec.pieces;
    const tryPair = (l: number, r: number) => {
      if (l < 0 || r < 0 || frozen[l] || frozen[r]) return;
      const id = this.normal.get(normalized.slice(starts[l], ends[r]));
      if (id === undefined) return;
      heap.push({ left: l, right: r, score: scores[id]!.score, size: ends[r]! - starts[l]! });
    };
    for (let i = 1; i < n; i++) tryPair(i - 1, i);
    while (heap.size > 0) {
      const top = heap.pop();
      const { left: l, right: r } = top;
      // Stale entry: one side was merged away or grew since this pair was queued.
      if (!alive[l] || !alive[r] || ends[r]! - starts[l]! !== top.size || next[l] !== r) continue;
      ends[l] = ends[r]!;
      alive[r] = 0;
      next[l] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = l;
      tryPair(prev[l]!, l);
      tryPair(l, next[l]!);
    }
    const out: string[] = [];
    for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]!) out.push(normalized.slice(starts[i], ends[i]));
    return out;
  }

  private hfTexts: (string | null)[] | undefined;

  /**
   * The text Hugging Face's LLaMA tokenizer gives for `ids` (`tokenizer.decode(ids)`: special pieces kept
   * as their text, which the Cerebras writer's detokenized_bytes/chars statistics count): each piece with
   * ▁ as a space; a run of byte pieces as its UTF-8 text, or one U+FFFD per byte when the run is not valid
   * UTF-8 (the ByteFallback decoder); then one leading space of the whole text removed.
   */
  decodeLikeHf(ids: ArrayLike<number>): string {
    const texts = (this.hfTexts ??= this.spec.pieces.map((p) => (p.type === PieceType.BYTE ? null : p.piece.replaceAll(SPACE, " "))));
    let out = "";
    let run: number[] = [];
    const flush = () => {
      try {
        out += strictUtf8.decode(new Uint8Array(run));
      } catch {
        out += "\ufffd".repeat(run.length);
      }
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const t = texts[id];
      if (t === undefined) continue;
      if (t === null) {
        run.push(parseInt(this.spec.pieces[id]!.piece.slice(3, 5), 16));
        continue;
      }
      if (run.length > 0) flush();
      out += t;
    }
    if (run.length > 0) flush();
    return out.startsWith(" ") ? out.slice(1) : out;
  }

  decode(ids: number[]): string {
    const bytes: number[] = [];
    const enc = new TextEncoder();
    for (const id of ids) {
      const p = this.spec.pieces[id];
      if (!p || p.type === PieceType.CONTROL || p.type === PieceType.UNKNOWN) continue;
      if (p.type === PieceType.BYTE) {
        bytes.push(parseInt(p.piece.slice(3, 5), 16));
        continue;
      }
      for (const b of enc.encode(p.piece)) bytes.push(b);
    }
    let text = utf8.decode(new Uint8Array(bytes)).replaceAll(SPACE, " ");
    if (this.spec.addDummyPrefix && text.startsWith(" ")) text = text.slice(1);
    return text;
  }
}
