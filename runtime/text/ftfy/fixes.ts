// The character-level fixes of ftfy's `fix_text`, each a pure function of the text.
import { ENTITIES } from "./tables.js";

let entityMap: Map<string, string> | undefined;
function entities(): Map<string, string> {
  if (!entityMap) {
    entityMap = new Map();
    for (const line of ENTITIES.split("\n")) {
      const tab = line.indexOf("\t");
      entityMap.set(`&${line.slice(0, tab)}`, line.slice(tab + 1));
    }
  }
  return entityMap;
}

// Numeric references as Python's html.unescape reads them (the HTML5 rules): C1 numbers are Windows-1252,
// 0 and surrogates and out-of-range numbers are U+FFFD, 13 is CR, other controls and non-characters vanish.
const CP1252_C1 =
  "\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178";
function numericRef(num: bigint): string {
  if (num === 0n) return "\ufffd";
  if (num === 13n) return "\r";
  if (num >= 0x80n && num <= 0x9fn) return CP1252_C1[Number(num) - 0x80]!;
  if ((num >= 0xd800n && num <= 0xdfffn) || num > 0x10ffffn) return "\ufffd";
  const n = Number(num);
  if (n <= 8 || n === 0xb || (n >= 0xe && n <= 0x1f) || n === 0x7f || (n >= 0xfdd0 && n <= 0xfdef) || (n & 0xfffe) === 0xfffe) return "";
  return String.fromCodePoint(n);
}

const NUMERIC_REF = /^&#(?:([0-9]+)|[xX]([0-9a-fA-F]+))(;?)/;

/** What Python's html.unescape makes of an `&#…;` match; null when it leaves the `;` (then ftfy keeps it). */
function unescapeNumeric(ref: string): string | null {
  const m = NUMERIC_REF.exec(ref);
  if (!m) return null;
  const num = m[1] !== undefined ? BigInt(m[1]) : BigInt(`0x${m[2]}`);
  const out = numericRef(num) + ref.slice(m[0].length);
  return out.includes(";") ? null : out;
}

const ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

/** HTML entities that end in ";" (and the all-caps forms of the lower-case ones), and numeric references. */
export function unescapeHtml(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(ENTITY, (ref) => {
    const named = entities().get(ref);
    if (named !== undefined) return named;
    if (ref.startsWith("&#")) return unescapeNumeric(ref) ?? ref;
    return ref;
  });
}

// ANSI terminal escapes; Python's `\d` is any decimal digit.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these bytes and controls are what it matches
const ANSI = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;
export const removeTerminalEscapes = (text: string) => (text.includes("\x1b") ? text.replace(ANSI, "") : text);

const SINGLE_QUOTES = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTES = /[\u201c-\u201f]/g;
export const uncurlQuotes = (text: string) => text.replace(DOUBLE_QUOTES, '"').replace(SINGLE_QUOTES, "'");

const LIGATURES: Record<string, string> = {
  "\u0132": "IJ",
  "\u0133": "ij",
  "\u0149": "\u02bcn",
  "\u01f1": "DZ",
  "\u01f2": "Dz",
  "\u01f3": "dz",
  "\u01c4": "D\u017d",
  "\u01c5": "D\u017e",
  "\u01c6": "d\u017e",
  "\u01c7": "LJ",
  "\u01c8": "Lj",
  "\u01c9": "lj",
  "\u01ca": "NJ",
  "\u01cb": "Nj",
  "\u01cc": "nj",
  "\ufb00": "ff",
  "\ufb01": "fi",
  "\ufb02": "fl",
  "\ufb03": "ffi",
  "\ufb04": "ffl",
  "\ufb05": "\u017ft",
  "\ufb06": "st",
};
const LIGATURE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;
export const fixLatinLigatures = (text: string) => text.replace(LIGATURE, (c) => LIGATURES[c]!);

// Full-width and half-width forms → their NFKC form; U+3000 → space.
let widthMap: Map<string, string> | undefined;
const WIDTH = /[\u3000\uff01-\uffef]/g;
export function fixCharacterWidth(text: string): string {
  if (!widthMap) {
    widthMap = new Map([["\u3000", " "]]);
    for (let c = 0xff01; c < 0xfff0; c++) {
      const ch = String.fromCharCode(c);
      const n = ch.normalize("NFKC");
      if (n !== ch) widthMap.set(ch, n);
    }
  }
  const m = widthMap;
  return text.replace(WIDTH, (c) => m.get(c) ?? c);
}

export const fixLineBreaks = (text: string) => text.replace(/\r\n?|[\u2028\u2029\x85]/g, "\n");

/** Pairs are already characters in a JS string; an unpaired surrogate becomes U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
export const fixSurrogates = (text: string) => text.replace(LONE_SURROGATE, "\ufffd");

// ASCII controls other than \t \n \f \r, deprecated Arabic format controls, the BOM, interlinear
// annotation marks and the object replacement character.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these bytes and controls are what it matches
const CONTROL = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
export const removeControlChars = (text: string) => text.replace(CONTROL, "");
