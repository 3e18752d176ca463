// ftfy's mojibake detector: a text is "bad" when it holds one of the character sequences that are far more
// likely to be UTF-8 read in a single-byte encoding than intended text. The sequences are built from
// classes of the ~400 characters such mojibake is made of. Each ftfy release tuned them; both the release
// the Cerebras 2.2.1 writer pins (6.1.1) and the one the test oracle has (6.3.1) are kept, exactly.
export type FtfyVersion = "6.1.1" | "6.3.1";

/** Character classes (regex class bodies, ranges allowed). */
interface Classes {
  common: string;
  c1: string;
  bad: string;
  /** ¶ §: part of `bad` in 6.1.1, a class of their own from 6.2. */
  law: string;
  currency: string;
  start: string;
  end: string;
  numeric: string;
  kaomoji: string;
  upperAcc: string;
  lowerAcc: string;
  upperCommon: string;
  lowerCommon: string;
  box: string;
}

const shared = {
  common: "\u00a0\u00ad\u00b7\u00b4\u2013\u2014\u2015\u2026\u2019",
  c1: "\u0080-\u009f",
  currency: "\u00a2\u00a3\u00a5\u20a7\u20ac",
  start: "\u00a1\u00ab\u00bf\u00a9\u0384\u0385\u2018\u201a\u201c\u201e\u2022\u2039\uf8ff",
  end: "\u00ae\u00bb\u02dd\u201d\u203a\u2122",
  numeric:
    "\u00b2\u00b3\u00b9\u00b1\u00bc\u00bd\u00be\u00d7\u00b5\u00f7\u2044\u2202\u2206\u220f\u2211\u221a\u221e\u2229\u222b\u2248\u2260\u2261\u2264\u2265\u2116",
  upperCommon: "\u00de\u0391-\u03a9\u0386\u0388\u0389\u038a\u038c\u038e\u038f\u03aa\u03ab\u0401-\u042f",
  lowerCommon: "\u03b1-\u03c9\u03ac\u03ad\u03ae\u03af\u03b0\u0430-\u045f",
  box: "\u2502\u250c\u2510\u2518\u251c\u2524\u252c\u253c\u2550-\u256c\u2580\u2584\u2588\u258c\u2590\u2591\u2592\u2593",
};
const BAD = "\u00a6\u00a4\u00a8\u00ac\u00af\u00b8\u0192\u02c6\u02c7\u02d8\u02db\u02dc\u2020\u2021\u2030\u2310\u25ca\ufffd\u00aa\u00ba";
const LAW = "\u00b6\u00a7";

const CLASSES: Record<FtfyVersion, Classes> = {
  "6.1.1": {
    ...shared,
    bad: BAD + LAW,
    law: "",
    kaomoji: "\u00d2-\u00d6\u00d9-\u00dc\u00f2-\u00f6\u00f8-\u00fc\u0150\u00b0",
    upperAcc:
      "\u00c0-\u00d1\u00d8\u00dc\u00dd\u0102\u0104\u0106\u010c\u010e\u0110\u0118\u011a\u011e\u0130\u0139\u013d\u0141\u0143\u0147\u0152\u0158\u015a\u015e\u0160\u0162\u0164\u016e\u0170\u0178\u0179\u017b\u017d\u0490",
    lowerAcc:
      "\u00df\u00e0-\u00f1\u0103\u0105\u0107\u010d\u010f\u0111\u0119\u011b\u011f\u013a\u013e\u0142\u0153\u0155\u015b\u015f\u0161\u0165\u00fc\u017a\u017c\u017e\u0491\ufb01\ufb02",
  },
  "6.3.1": {
    ...shared,
    bad: BAD,
    law: LAW,
    kaomoji: "\u00d2-\u00d6\u00d9-\u00dc\u00f2-\u00f6\u00f8-\u00fc\u0150\u014c\u016a\u0172\u00b0",
    upperAcc:
      "\u00c0-\u00d1\u00d8\u00dc\u00dd\u0102\u0100\u0104\u0106\u010c\u010e\u0110\u0118\u011a\u0112\u0116\u011e\u0122\u0130\u012a\u0136\u0139\u013d\u0141\u013b\u0143\u0147\u0145\u0152\u0158\u015a\u015e\u0160\u0162\u0164\u016e\u0170\u0178\u0179\u017b\u017d\u0490",
    lowerAcc:
      "\u00df\u00e0-\u00f1\u0103\u0105\u0101\u0107\u010d\u010f\u0111\u0119\u011b\u0113\u0117\u011f\u0123\u012f\u012b\u0137\u013a\u013e\u0142\u013c\u0153\u0155\u015b\u015f\u0161\u0165\u00fc\u017a\u017c\u017e\u0491\ufb01\ufb02",
  },
};

// Python's `\s` and `\w` on str patterns: str.isspace() (which, unlike JS `\s`, has U+1C..1F and U+85 but
// not U+FEFF), and letters, numbers and "_".
const PY_SPACE = "[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_WORD = "[\\p{L}\\p{N}_]";

function detector(v: FtfyVersion): RegExp {
  const { common, c1, bad, law, currency: cur, start, end, numeric: num, kaomoji, upperAcc: ua, lowerAcc: la, box } = CLASSES[v];
  const { upperCommon: uc, lowerCommon: lc } = CLASSES[v];
  const later = v !== "6.1.1";
  const arabic = `[\u00d8\u00d9][${common}${cur}${bad}${num}${start}\u0178\u0160\u00ae\u00b0\u00b5\u00bb]`;
  const seqs = [
    `[${c1}]`,
    // accented letters, symbols and punctuation next to the nearly-always-mojibake characters
    `[${bad}${la}${ua}${box}${start}${end}${cur}${num}${law}][${bad}]`,
    `[a-zA-Z][${lc}${uc}][${bad}]`,
    `[${bad}][${la}${ua}${box}${start}${end}${cur}${num}${law}]`,
    // case and class changes inside what should be one word
    `[${la}${lc}${box}${end}${cur}${num}][${ua}]`,
    `[${box}${end}${cur}${num}][${la}]`,
    `[${la}${box}${end}][${cur}]`,
    `${PY_SPACE}[${ua}][${cur}]`,
    `[${ua}${box}][${num}${law}]`,
    `[${la}${ua}${box}${cur}${end}][${start}][${num}]`,
    `[${la}${ua}${cur}${num}${box}${law}][${end}][${start}]`,
    `[${cur}${num}${box}][${start}]`,
    `[a-z][${ua}][${start}${cur}]`,
    `[${box}][${kaomoji}]`,
    `[${la}${ua}${cur}${num}${start}${end}${law}][${box}]`,
    `[${box}][${end}]`,
    `[${la}${ua}][${later ? start : ""}${end}]${PY_WORD}`,
    // œ not followed by an unaccented Latin letter
    "[\u0152\u0153][^A-Za-z]",
    ...(later ? [`[${ua}]\u00b0`] : []),
    // two-character Windows-1252 mojibake the rules above miss
    `[\u00c2\u00c3\u00ce\u00d0][\u20ac${later ? "\u0153" : ""}\u0160\u0161\u00a2\u00a3\u0178\u017e\u00a0\u00ad\u00ae\u00a9\u00b0\u00b7\u00bb${start}${end}\u2013\u2014\u00b4]`,
    "\u00d7[\u00b2\u00b3]",
    // Windows-1252 mojibake of Arabic, which needs four characters because it uses common ones
    arabic + arabic,
    // starts of South Asian 3-byte sequences in Windows-1252
    "\u00e0[\u00b2\u00b5\u00b9\u00bc\u00bd\u00be]",
    // MacRoman
    "\u221a[\u00b1\u2202\u2020\u2260\u00ae\u2122\u00b4\u2264\u2265\u00a5\u00b5\u00f8]",
    "\u2248[\u00b0\u00a2]",
    "\u201a\u00c4[\u00ec\u00ee\u00ef\u00f2\u00f4\u00fa\u00f9\u00fb\u2020\u00b0\u00a2\u03c0]",
    "\u201a[\u00e2\u00f3][\u00e0\u00e4\u00b0\u00ea]",
    // Windows-1251: the U+2000 block, and Latin-1 or Cyrillic seen through it (three characters)
    "\u0432\u0402",
    `[\u0412\u0413\u0420\u0421][${c1}${bad}${start}${end}${cur}\u00b0\u00b5][\u0412\u0413\u0420\u0421]`,
    // Windows-1251 over Latin-1 over Windows-1252, next to a Latin letter
    "\u0413\u045e\u0412\u0402\u0412[^\\n][A-Za-z ]",
    // à, á and U+A0 in Windows-1252
    "\u00c3[\u00a0\u00a1]",
    `[a-z]${PY_SPACE}?[\u00c3\u00c2] `,
    "^[\u00c3\u00c2] ",
    // Â in front of the very character it encodes
    `[a-z.,?!${end}]\u00c2[ ${start}${end}]`,
    // Windows-1253: the U+2000 block, and Latin-1 or Greek seen through it
    "\u03b2\u20ac[\u2122\u00a0\u0386\u00ad\u00ae\u00b0]",
    `[\u0392\u0393\u039e\u039f][${c1}${bad}${start}${end}${cur}\u00b0][\u0392\u0393\u039e\u039f]`,
    // Windows-1257: the U+2000 block
    ...(later ? ["\u0101\u20ac"] : []),
  ];
  return new RegExp(seqs.join("|"), "u");
}

const DETECTORS = new Map<FtfyVersion, RegExp>();

/** Whether `text` holds a sequence that is very likely mojibake. */
export function isBad(text: string, v: FtfyVersion): boolean {
  let re = DETECTORS.get(v);
  if (!re) DETECTORS.set(v, (re = detector(v)));
  return re.test(text);
}
