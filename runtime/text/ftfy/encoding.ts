// ftfy's mojibake repair (`fix_encoding`): find a single-byte encoding that the text can be re-encoded in
// and whose bytes read as UTF-8, with repairs for bytes that went missing on the way; else repair the
// UTF-8-looking runs on their own; else take C1 controls as the Windows-1252 characters they stand for.
import { type FtfyVersion, isBad } from "./badness.js";
import { decodeCharmap, decodeUtf8, decodeUtf8Variants, encodeCharmap, possibleEncoding } from "./codecs.js";

/** The encodings tried, in order. */
const ENCODINGS: Record<FtfyVersion, readonly string[]> = {
  "6.1.1": [
    "latin-1",
    "sloppy-windows-1252",
    "sloppy-windows-1251",
    "sloppy-windows-1250",
    "sloppy-windows-1253",
    "sloppy-windows-1254",
    "iso-8859-2",
    "macroman",
    "cp437",
  ],
  "6.3.1": [
    "latin-1",
    "sloppy-windows-1252",
    "sloppy-windows-1251",
    "sloppy-windows-1250",
    "sloppy-windows-1253",
    "sloppy-windows-1254",
    "sloppy-windows-1257",
    "iso-8859-2",
    "macroman",
    "cp437",
  ],
};

// UTF-8 that would be valid had a byte A0 (NBSP in Windows-1252) not been turned into a space: only lead
// bytes whose A0 forms likely characters, and only F0 for 4-byte sequences.
const ALTERED_UTF8 =
  /[\xc2\xc3\xc5\xce\xd0\xd9] |[\xe2\xe3] [\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf] |\xf0 [\x80-\xbf][\x80-\xbf]|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf][\x80-\xbf] /g;
const HAS_ALTERED_UTF8 = new RegExp(ALTERED_UTF8.source);
// "Ã " as a word is "à ", keeping the space, except before the Portuguese contractions às, àquele…
const A_GRAVE_WORD = /\xc3 (?! |quele|quela|quilo|s )/g;
// UTF-8 sequences where a byte was lost: 1A is what a sloppy codec writes for U+FFFD, and "?" stands in at
// most once per sequence.
const LOSSY_UTF8 =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these bytes and controls are what it matches
  /[\xc2-\xdf]\x1a|[\xc2-\xc3]\?|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a\x80-\xbf][\x1a?]|\x1a/g;
const C1 = /[\x80-\x9f]/;
const C1_ALL = /[\x80-\x9f]/g;
// Characters of bytes 80..9F in strict Windows-1252 are all but these five, which it leaves unassigned.
const CP1252_UNASSIGNED = /[\x81\x8d\x8f\x90\x9d]/;

export function restoreByteA0(bytes: string): string {
  return bytes.replace(A_GRAVE_WORD, "\xc3\xa0 ").replace(ALTERED_UTF8, (m) => m.replaceAll(" ", "\xa0"));
}

export function replaceLossySequences(bytes: string): string {
  return bytes.replace(LOSSY_UTF8, "\xef\xbf\xbd");
}

export function fixC1Controls(text: string): string {
  return C1.test(text) ? text.replace(C1_ALL, (c) => decodeCharmap(c, "sloppy-windows-1252")) : text;
}

// Runs of characters that look like UTF-8 read as a single-byte encoding, not preceded by a character
// that is itself such a continuation (so a few characters in a long garble are not "fixed" alone).
const CLUES: Record<FtfyVersion, { first2: string; first3: string; first4: string; cont: string; strict: string }> = {
  "6.1.1": {
    first2:
      "\u00c2-\u00df\u0102\u0106\u010c\u010e\u0110\u0118\u011a\u011e\u0130\u0139\u0143\u0147\u0150\u0158\u015e\u0162\u016e\u0170\u0392-\u03a1\u03a3-\u03af\u0412-\u042f",
    first3: "\u00e0-\u00ef\u0103\u0107\u010d\u010f\u0119\u011b\u013a\u0155\u03b0-\u03bf\u0430-\u043f",
    first4: "\u00f0\u00f3\u0111\u011f\u03c0\u03c3\u0440\u0443",
    cont: "\u0080-\u00bf\u0104\u0105\u013d\u013e\u0141\u0142\u0152\u0153\u015a\u015b\u015e-\u0161\u0164\u0165\u0178-\u017e\u0192\u02c6\u02c7\u02d8\u02db\u02dc\u02dd\u0384-\u0386\u0388-\u038a\u038c\u038e\u038f\u0401-\u040c\u040e\u040f\u0451-\u045c\u045e\u045f\u0490\u0491\u2013-\u2015\u2018\u2019\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2116\u2122 ",
    strict:
      "\u0080-\u00bf\u0104\u0105\u013d\u013e\u0141\u0142\u0152\u0153\u015a\u015b\u015e-\u0161\u0164\u0165\u0178-\u017e\u0192\u02c6\u02c7\u02d8\u02db\u02dc\u02dd\u0384-\u0386\u0388-\u038a\u038c\u038e\u038f\u0401-\u040c\u040e\u040f\u0451-\u045c\u045e\u045f\u0490\u0491\u2020-\u2022\u2030\u2039\u203a\u20ac\u2116\u2122",
  },
  "6.3.1": {
    first2:
      "\u0102\u00c2\u00c4\u0100\u00c5\u00c3\u00c6\u0106\u010c\u00c7\u010e\u0110\u00c9\u011a\u00ca\u00cb\u0116\u00c8\u0112\u0118\u00d0\u011e\u0122\u00cd\u00ce\u00cf\u0130\u00cc\u012a\u0136\u0139\u013b\u0141\u0143\u0147\u0145\u00d1\u00d3\u00d4\u00d6\u0150\u00d2\u014c\u00d8\u00d5\u0158\u015a\u0160\u015e\u0162\u00de\u00da\u00db\u00dc\u0170\u00d9\u016a\u0172\u016e\u00dd\u0179\u017d\u017b\u00df\u00d7\u0392-\u03a1\u03a3-\u03af\u0412-\u042f",
    first3:
      "\u00e1\u0103\u00e2\u00e4\u00e0\u0101\u0105\u00e5\u00e3\u00e6\u0107\u010d\u00e7\u010f\u00e9\u011b\u00ea\u00eb\u0117\u00e8\u0113\u0119\u0123\u00ed\u00ee\u00ef\u00ec\u012b\u012f\u0137\u013a\u013c\u0155\u017a\u03b0-\u03bf\u0430-\u043f",
    first4: "\u0111\u00f0\u011f\u00f3\u0161\u03c0\u03c3\u0440\u0443",
    cont: "\u0080-\u00bf \u0104\u00c6\u013d\u0141\u00d8\u0156\u015a\u0160\u015e\u0164\u0178\u0179\u017d\u017b\u0152\u0105\u00e6\u0192\u013e\u0142\u00f8\u0157\u015b\u0161\u015f\u0165\u017a\u017e\u017c\u0153\u02c6\u02c7\u02d8\u02db\u02dc\u02dd\u0384-\u0386\u0388-\u038a\u038c\u038e\u038f\u0401-\u040c\u040e\u040f\u0451-\u045c\u045e\u045f\u0490\u0491\u2013-\u2015\u2018\u2019\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2116\u2122",
    strict:
      "\u0080-\u00bf\u0104\u00c6\u013d\u0141\u00d8\u0156\u015a\u0160\u015e\u0164\u0178\u0179\u017d\u017b\u0152\u0105\u00e6\u0192\u013e\u0142\u00f8\u0157\u015b\u0161\u015f\u0165\u017a\u017e\u017c\u0153\u02c6\u02c7\u02d8\u02db\u02dc\u02dd\u0384-\u0386\u0388-\u038a\u038c\u038e\u038f\u0401-\u040c\u040e\u040f\u0451-\u045c\u045e\u045f\u0490\u0491\u2020\u2021\u2030\u2039\u203a\u20ac\u2116\u2122",
  },
};

const UTF8_RUNS = new Map<FtfyVersion, { any: RegExp; all: RegExp }>();
function utf8Runs(v: FtfyVersion) {
  let r = UTF8_RUNS.get(v);
  if (!r) {
    const c = CLUES[v];
    const src = `(?<![${c.strict}])(?:[${c.first2}][${c.cont}]|[${c.first3}][${c.cont}]{2}|[${c.first4}][${c.cont}]{3})+`;
    r = { any: new RegExp(src, "u"), all: new RegExp(src, "gu") };
    UTF8_RUNS.set(v, r);
  }
  return r;
}

function decodeInconsistentUtf8(text: string, v: FtfyVersion): string {
  return text.replace(utf8Runs(v).all, (run) => (run.length < text.length && isBad(run, v) ? fixEncoding(run, v) : run));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: these bytes and controls are what it matches
const ASCII = /^[\x00-\x7f]*$/;

/** One step of the repair; returns `text` itself when there is nothing (more) to do. */
function fixEncodingStep(text: string, v: FtfyVersion): string {
  if (text.length === 0 || ASCII.test(text) || !isBad(text, v)) return text;
  let latin1 = false;
  for (const enc of ENCODINGS[v]) {
    if (!possibleEncoding(text, enc)) continue;
    if (enc === "latin-1") latin1 = true;
    let bytes = encodeCharmap(text, enc);
    if ((v === "6.1.1" || enc !== "macroman") && HAS_ALTERED_UTF8.test(bytes)) bytes = restoreByteA0(bytes);
    if (enc.startsWith("sloppy")) bytes = replaceLossySequences(bytes);
    const fixed = bytes.includes("\xed") || bytes.includes("\xc0") ? decodeUtf8Variants(bytes) : decodeUtf8(bytes);
    if (fixed !== null) return fixed;
  }
  if (utf8Runs(v).any.test(text)) {
    const fixed = decodeInconsistentUtf8(text, v);
    if (fixed !== text) return fixed;
  }
  // Latin-1 that is not Windows-1252 holds C1 controls, which nobody means: read it as Windows-1252.
  if (latin1 && !CP1252_UNASSIGNED.test(text)) return decodeCharmap(encodeCharmap(text, "latin-1"), "sloppy-windows-1252");
  return fixC1Controls(text);
}

/** ftfy's `fix_encoding`: repeat the repair until it changes nothing. */
export function fixEncoding(text: string, v: FtfyVersion): string {
  for (;;) {
    const next = fixEncodingStep(text, v);
    if (next === text) return text;
    text = next;
  }
}
