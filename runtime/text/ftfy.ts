// Text normalisation as the Cerebras Model Zoo HDF5 writer does it with `use_ftfy: true`: ftfy's
// `fix_text(text, normalization=ftfy_normalizer)`, re-implemented here from its documented behaviour and
// held to the real library in test/ftfy.test.ts. The writer's release (2.2.1) pins ftfy 6.1.1, the
// default; 6.3.1 (the newest, which the local test oracle has) differs in its mojibake heuristics.
//
// The steps, per line (a line keeps its "\n"), repeated until the line stops changing: HTML entities
// (unless the text holds a "<", which means it is HTML: then never again for the rest of the text),
// mojibake, C1 controls, Latin ligatures, character widths, curly quotes, line breaks, surrogates,
// terminal escapes, control characters, then Unicode normalisation.
import { type FtfyVersion, isBad } from "./ftfy/badness.js";
import { fixC1Controls, fixEncoding } from "./ftfy/encoding.js";
import {
  fixCharacterWidth,
  fixLatinLigatures,
  fixLineBreaks,
  fixSurrogates,
  removeControlChars,
  removeTerminalEscapes,
  uncurlQuotes,
  unescapeHtml,
} from "./ftfy/fixes.js";

export type { FtfyVersion } from "./ftfy/badness.js";
export type FtfyNormalization = "NFC" | "NFD" | "NFKC" | "NFKD" | null;

/** A preprocess config's `ftfy_normalizer` as a normalisation: a Unicode form, or None (Python's, or empty). */
export function ftfyNormalization(name: string | null | undefined): FtfyNormalization {
  if (name === null || name === undefined || name === "" || name === "None" || name === "none") return null;
  if (name === "NFC" || name === "NFD" || name === "NFKC" || name === "NFKD") return name;
  throw new Error(`ftfy_normalizer ${JSON.stringify(name)} is not one of NFC, NFD, NFKC, NFKD or None`);
}

export interface FixTextOptions {
  /** Unicode normalisation at the end of each pass; null for none. Default "NFC" (the writer's `ftfy_normalizer`). */
  normalization?: FtfyNormalization;
  /** Which ftfy release to reproduce. Default "6.1.1", the one Cerebras Model Zoo 2.2.1 pins. */
  version?: FtfyVersion;
}

// Text that no step can change: tab, LF, FF and printable ASCII other than "&" (no entity, no control, no
// escape, no CR; ASCII is never mojibake and is its own normal form).
const CLEAN_ASCII = /^[\t\n\f\x20-\x25\x27-\x7e]*$/;
/** Whether fixText returns `text` at its first test, unchanged: tab, LF, FF and printable ASCII other than "&"
 *  (the tokenizer's counting pass tells the same of the bytes it counts: SentencePieceBPE.countClean). */
export const cleanAscii = (text: string): boolean => CLEAN_ASCII.test(text);
// One code point past the BMP takes two UTF-16 units; ftfy counts code points.
const MAX_SEGMENT = 1_000_000;

// Characters some step other than normalisation acts on (entities, controls, CR, C1, ligatures, widths,
// curly quotes, line separators, surrogates, BOM and other removed format characters).
const TOUCHED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these controls are what it matches
  /[&\x00-\x08\x0b\x0d-\x1f\x7f-\x9f\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\u02bc\u2018-\u201f\u2028\u2029\u206a-\u206f\ud800-\udfff\u3000\ufb00-\ufb06\ufeff\uff01-\uffef\ufff9-\ufffc]/;

function fixSegment(text: string, html: boolean, norm: FtfyNormalization, v: FtfyVersion): string {
  // Already clean: no step would change it, so the first pass is the last.
  if (!TOUCHED.test(text) && (norm === null || text.normalize(norm) === text) && !isBad(text, v)) return text;
  for (;;) {
    const before = text;
    if (html) text = unescapeHtml(text);
    text = fixEncoding(text, v);
    text = fixC1Controls(text);
    text = fixLatinLigatures(text);
    text = fixCharacterWidth(text);
    text = uncurlQuotes(text);
    text = fixLineBreaks(text);
    text = fixSurrogates(text);
    text = removeTerminalEscapes(text);
    text = removeControlChars(text);
    if (norm !== null) text = text.normalize(norm);
    if (text === before) return text;
  }
}

/** End (exclusive, in UTF-16 units) of the segment starting at `pos`: after the next "\n", at most a
 *  million code points on. */
function segmentEnd(text: string, pos: number): number {
  const nl = text.indexOf("\n", pos);
  const end = nl < 0 ? text.length : nl + 1;
  if (end - pos <= MAX_SEGMENT) return end;
  let i = pos;
  for (let n = 0; n < MAX_SEGMENT && i < end; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < end && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return i;
}

/** ftfy's `fix_text` with its default settings (as the Cerebras writer calls it). */
export function fixText(text: string, opts: FixTextOptions = {}): string {
  if (cleanAscii(text)) return text;
  const norm = opts.normalization === undefined ? "NFC" : opts.normalization;
  const v = opts.version ?? "6.1.1";
  let html = true;
  let out = "";
  for (let pos = 0; pos < text.length; ) {
    const end = segmentEnd(text, pos);
    const segment = text.slice(pos, end);
    if (html && segment.includes("<")) html = false;
    out += fixSegment(segment, html, norm, v);
    pos = end;
  }
  return out;
}
