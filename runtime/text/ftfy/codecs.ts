// The byte-level codecs that ftfy's mojibake repair re-encodes and re-decodes text with. Bytes are held as
// "binary strings" (one char per byte, 0..255) so that the byte patterns of the repair are plain regexes.
import { CHARMAPS } from "./tables.js";

interface Charmap {
  /** Whether every character of a string has a byte in this encoding. */
  possible: RegExp;
  /** char code → byte, for the characters of bytes 0x80..0xFF and 0x1A. */
  encode: Map<number, number>;
  /** byte → char, for bytes 0x80..0xFF. */
  decode: string[];
}

const hex4 = (c: number) => `\\u${c.toString(16).padStart(4, "0")}`;
const cache = new Map<string, Charmap>();

function charmap(name: string): Charmap {
  let m = cache.get(name);
  if (m) return m;
  const chars = CHARMAPS[name];
  if (chars === undefined) throw new Error(`ftfy: no charmap ${name}`);
  const encode = new Map<number, number>();
  const decode: string[] = [];
  let cls = "";
  for (let i = 0; i < chars.length; i++) {
    const c = chars.charCodeAt(i);
    const byte = i < 128 ? 0x80 + i : 0x1a;
    encode.set(c, byte);
    if (i < 128) decode.push(chars[i]!);
    cls += hex4(c);
  }
  // ASCII other than 0x1A is itself in every one of these encodings; 0x1A is whatever the table says.
  m = { possible: new RegExp(`^[\\x00-\\x19\\x1b-\\x7f${cls}]*$`), encode, decode };
  cache.set(name, m);
  return m;
}

export function possibleEncoding(text: string, name: string): boolean {
  return charmap(name).possible.test(text);
}

/** `text` (every char possible in `name`) as a binary string of its bytes. */
export function encodeCharmap(text: string, name: string): string {
  const { encode } = charmap(name);
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80 && c !== 0x1a) out += text[i];
    else {
      const b = encode.get(c);
      if (b === undefined) throw new Error(`ftfy: U+${c.toString(16)} has no byte in ${name}`);
      out += String.fromCharCode(b);
    }
  }
  return out;
}

/** A binary string read in a single-byte encoding (every byte has a character). */
export function decodeCharmap(bytes: string, name: string): string {
  const { decode } = charmap(name);
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes.charCodeAt(i);
    out += b < 0x80 ? bytes[i] : decode[b - 0x80];
  }
  return out;
}

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function toBytes(bin: string): Uint8Array {
  const u = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
  return u;
}

/** Strict UTF-8 (no BOM stripping; surrogates, overlongs and truncation are errors): null on error. */
export function decodeUtf8(bin: string): string | null {
  try {
    return strict.decode(toBytes(bin));
  } catch {
    return null;
  }
}

// The "UTF-8 variants" decoder also reads CESU-8 (a surrogate pair written as two 3-byte sequences) and
// Java's 2-byte NUL (C0 80). Where a special sequence starts it takes over from strict UTF-8; the
// `(?=\n?$)` stands for Python's `$`, which also matches before a final newline.
const END = "(?=\\n?$)";
const CESU = `\\xed(?:[\\xa0-\\xaf]|${END})(?:[\\x80-\\xbf]|${END})(?:\\xed|${END})(?:[\\xb0-\\xbf]|${END})(?:[\\x80-\\xbf]|${END})`;
const SPECIAL = new RegExp(`\\xc0(?:\\x80|${END})|${CESU}|\\xed(?:[\\xa0-\\xbf]|${END})(?:[\\x80-\\xbf]|${END})`);
const CESU_AT_START = new RegExp(`^${CESU}`);

export function decodeUtf8Variants(bin: string): string | null {
  let out = "";
  let rest = bin;
  while (rest.length > 0) {
    const m = SPECIAL.exec(rest);
    if (m === null) {
      const s = decodeUtf8(rest);
      return s === null ? null : out + s;
    }
    if (m.index > 0) {
      const s = decodeUtf8(rest.slice(0, m.index));
      if (s === null) return null;
      out += s;
      rest = rest.slice(m.index);
      continue;
    }
    if (rest.charCodeAt(0) === 0xc0) {
      // C0 and whatever byte follows it is a NUL; a C0 that ends the input is an error.
      if (rest.length < 2) return null;
      out += "\0";
      rest = rest.slice(2);
      continue;
    }
    // ED A0..BF: a surrogate. Six bytes of a CESU-8 pair give one astral character; anything else is an
    // error (the strict decoder rejects ED followed by A0..BF).
    if (rest.length < 6 || !CESU_AT_START.test(rest)) return null;
    const b = (i: number) => rest.charCodeAt(i);
    out += String.fromCodePoint(((b(1) & 0x0f) << 16) + ((b(2) & 0x3f) << 10) + ((b(4) & 0x0f) << 6) + (b(5) & 0x3f) + 0x10000);
    rest = rest.slice(6);
  }
  return out;
}
