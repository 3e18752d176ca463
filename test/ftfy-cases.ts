// Deterministic strings for the ftfy differential tests and bench/ftfy.mjs: ordinary text in many scripts,
// and everything ftfy repairs — mojibake through every single-byte encoding it knows (once and twice, whole
// and embedded, with NBSP turned into a space and lost bytes turned into U+FFFD or "?"), HTML entities
// (named, upper-case, numeric, without ";"), curly quotes, ligatures, widths, C0/C1 controls, terminal
// escapes, line breaks, lone surrogates, combining marks. Only characters old enough that Python's
// Unicode tables and Node's agree on them.
import { CHARMAPS } from "../runtime/text/ftfy/tables.js";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = {
  en: "the quick brown fox jumps over a lazy dog while it's raining and we're done at 5 o'clock, isn't it?".split(" "),
  fr: "déjà vu à la carte crème brûlée naïve façade où est l'hôtel très élève garçon Noël cœur".split(" "),
  es: "niño señor año mañana ¿qué tal? ¡olé! corazón canción pingüino".split(" "),
  de: "Straße Größe Übermäßig schön Mädchen Fußgänger Bücher".split(" "),
  pt: "às àquele ação informação coração não São Paulo pão".split(" "),
  pl: "zażółć gęślą jaźń Łódź Kraków źdźbło".split(" "),
  cs: "Příliš žluťoučký kůň úpěl ďábelské ódy".split(" "),
  tr: "İstanbul ığdır şişli güneş çiçek Ağrı".split(" "),
  lv: "Rīga ķēķis ģimene ūdens šķūnis Ļaudis".split(" "),
  el: "Καλημέρα κόσμε ελληνικά αλφάβητο Ωμέγα ψυχή".split(" "),
  ru: "Привет мир Съешь же ещё этих мягких французских булок ёжик".split(" "),
  zh: "中文 汉字 你好 世界 数据 模型 训练 图像".split(" "),
  ja: "日本語 ひらがな カタカナ 東京 こんにちは".split(" "),
  ko: "한국어 안녕하세요 서울 데이터".split(" "),
  ar: "مرحبا بالعالم العربية كتاب".split(" "),
  he: "שלום עולם עברית".split(" "),
  hi: "नमस्ते दुनिया हिन्दी".split(" "),
  th: "สวัสดี ภาษาไทย".split(" "),
  sym: "€ £ ¥ © ® ™ ° ± × ÷ µ ¶ § ¬ ¦ ¤ ¨ ¯ ¸ ª º ¹ ² ³ ¼ ½ ¾ … – — • † ‡ ‰ ′ ″ ← → ↑ ↓ ∞ ≈ ≠ ≤ ≥ √ ∑ ∏ ∂ ∆ ∫ ◊ ♥ ★ ✓ ✔".split(" "),
  emoji: "😀 👍 🎉 🚀 ❤️ 👨‍👩‍👧 🇫🇷 👍🏽 🐍 💩 ✨".split(" "),
  kaomoji: "(╯°□°)╯︵ ┻━┻ ¯\\_(ツ)_/¯ (ಠ_ಠ) ʕ•ᴥ•ʔ (｡◕‿◕｡) ╔═╗ ║█║ ░▒▓".split(" "),
};
type Lang = keyof typeof WORDS;
const LANGS = Object.keys(WORDS) as Lang[];

const QUOTES = "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u02bc\u00ab\u00bb\u2039\u203a";
const LIGATURES =
  "\u0132\u0133\u0149\u01c4\u01c5\u01c6\u01c7\u01c8\u01c9\u01ca\u01cb\u01cc\u01f1\u01f2\u01f3\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06";
const WIDE =
  "\uff21\uff22\uff23\uff41\uff42\uff43\uff10\uff11\uff19\uff01\uff1f\uff08\uff09\uff06\uff1c\u3000\uff76\uff80\uff70\uff9d\uff9e\uff9f\uffa1\uffe0\uffe1\uffe3\uffe5\uffe8\uffed";
const CONTROLS =
  "\x00\x01\x07\x08\x0b\x0c\x0e\x1a\x1b\x1f\x7f\x80\x81\x85\x8d\x90\x93\x94\x9d\x9f\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2060\u206a\u206f\ufeff\ufff9\ufffb\ufffc\ufffd\u00ad";
const BREAKS = ["\r\n", "\r", "\n", "\u2028", "\u2029", "\x85", "\n\n", "\r\r\n"];
const COMBINING = [
  "e\u0301",
  "a\u0300",
  "n\u0303",
  "o\u0308",
  "c\u0327",
  "u\u030a",
  "\u1100\u1161\u11a8",
  "A\u030a",
  "\u0391\u0301",
  "i\u0307\u0301",
];
const SURROGATES = ["\ud83d", "\udca9", "\udca9\ud83d", "\ud800", "\udfff"];
const NAMED = [
  "amp",
  "lt",
  "gt",
  "quot",
  "apos",
  "nbsp",
  "eacute",
  "Eacute",
  "EACUTE",
  "ntilde",
  "NTILDE",
  "nTILDE",
  "szlig",
  "SZLIG",
  "hellip",
  "mdash",
  "ndash",
  "rsquo",
  "ldquo",
  "rdquo",
  "copy",
  "COPY",
  "reg",
  "trade",
  "euro",
  "pound",
  "macr",
  "frac12",
  "sup2",
  "there4",
  "checkmark",
  "Jscr",
  "HilbertSpace",
  "NotNestedGreaterGreater",
  "not",
  "notin",
  "NOT",
  "AMP",
  "Aring",
  "ARING",
  "aring",
  "thorn",
  "THORN",
  "ETH",
  "eth",
  "alpha",
  "ALPHA",
  "Omega",
  "bogus",
  "ampx",
];
const NUMERIC = [
  "#65",
  "#x41",
  "#X41",
  "#0",
  "#13",
  "#128",
  "#x80",
  "#x81",
  "#150",
  "#x9d",
  "#59",
  "#x3b",
  "#xd800",
  "#55296",
  "#1114112",
  "#x110000",
  "#99999999999999999999",
  "#x1F600",
  "#128512",
  "#x2019",
  "#8217",
  "#x7f",
  "#1",
  "#x0b",
  "#xfdd0",
  "#xfffe",
  "#x10ffff",
  "#12ab",
  "#xZZ",
  "#0041",
  "#x00e9",
  "#233",
];
// Encodings as the Python codec names the oracle can also use; lossy 1252 is Windows-1252 with its five holes
// read as U+FFFD, as a strict decoder with errors="replace" would.
const MOJI = [
  "latin-1",
  "sloppy-windows-1252",
  "lossy-windows-1252",
  "sloppy-windows-1251",
  "sloppy-windows-1250",
  "sloppy-windows-1253",
  "sloppy-windows-1254",
  "sloppy-windows-1257",
  "iso-8859-2",
  "macroman",
  "cp437",
];

const utf8 = new TextEncoder();

/** Text as bytes in UTF-8, read back in a single-byte encoding. */
export function mojibake(text: string, enc: string): string {
  const lossy = enc === "lossy-windows-1252";
  const table = CHARMAPS[lossy ? "sloppy-windows-1252" : enc]!;
  let out = "";
  for (const b of utf8.encode(text)) {
    if (b < 0x80) out += String.fromCharCode(b);
    else if (lossy && [0x81, 0x8d, 0x8f, 0x90, 0x9d].includes(b)) out += "\ufffd";
    else out += table[b - 0x80];
  }
  return out;
}

export function ftfyCases(n: number, seed = 20240601): string[] {
  const r = rng(seed);
  const int = (k: number) => Math.floor(r() * k);
  const pick = <T>(a: readonly T[] | string): T => a[int(a.length)] as T;
  const words = (lang: Lang, k: number) => Array.from({ length: k }, () => pick(WORDS[lang])).join(" ");
  const sentence = () => {
    const lang = r() < 0.3 ? "en" : pick(LANGS);
    return words(lang, 1 + int(6));
  };
  const entity = () => {
    const body = r() < 0.7 ? pick(NAMED) : pick(NUMERIC);
    return `&${body}${r() < 0.8 ? ";" : ""}`;
  };
  const junk = (pool: string, k: number) => Array.from({ length: k }, () => pick(pool)).join("");
  // Characters mojibake is made of, for strings that probe the detector's edges.
  const SOUP = `${CHARMAPS["sloppy-windows-1252"]!.slice(0, 128)}${CHARMAPS["sloppy-windows-1251"]!.slice(0, 128)}${CHARMAPS.macroman!.slice(0, 128)}${CHARMAPS.cp437!.slice(0, 128)}${CHARMAPS["sloppy-windows-1253"]!.slice(0, 128)}${CHARMAPS["sloppy-windows-1257"]!.slice(0, 128)}abcxyzABC .,?!'-0123456789  \u00a0`;
  const maker: Array<() => string> = [
    () => words("en", 2 + int(10)) + (r() < 0.3 ? ` & ${words("en", 2)}` : ""),
    () => sentence(),
    () => {
      const enc = pick(MOJI);
      const s = sentence();
      let m = mojibake(s, enc);
      if (r() < 0.25) m = m.replaceAll("\u00a0", " ");
      if (r() < 0.1) m = m.replace(/[\x80-\x9f]/g, "\ufffd");
      if (r() < 0.05) m = m.replace(/[\x80-\x9f]/g, "?");
      return m;
    },
    () => {
      // mojibake embedded in clean text, or two encodings side by side
      const a = mojibake(sentence(), pick(MOJI));
      return r() < 0.5 ? `${sentence()} ${a} ${sentence()}` : `${a} ${mojibake(sentence(), pick(MOJI))}`;
    },
    () => mojibake(mojibake(sentence(), pick(["sloppy-windows-1252", "latin-1", "sloppy-windows-1251"])), pick(MOJI)),
    () => `${sentence()} ${entity()} ${sentence()}${entity()}${r() < 0.2 ? " <b>tag</b>" : ""}`,
    () =>
      Array.from(
        { length: 1 + int(4) },
        () => (r() < 0.3 ? mojibake(sentence(), pick(MOJI)) : sentence()) + (r() < 0.4 ? entity() : "") + (r() < 0.2 ? "<" : ""),
      ).join(pick(BREAKS)),
    () => `${pick(QUOTES)}${sentence()}${pick(QUOTES)} ${junk(QUOTES, 1 + int(3))}${sentence()}`,
    () => `${sentence()} ${junk(LIGATURES, 1 + int(3))}${words("en", 1)} ${junk(WIDE, 1 + int(6))}`,
    () =>
      `${sentence()}${junk(CONTROLS, 1 + int(4))}${sentence()}${r() < 0.3 ? `\x1b[${pick(["31", "1;32", "0", "", "٣"])}${pick("mKHJ")}` : ""}`,
    () => sentence() + pick(BREAKS) + sentence() + pick(BREAKS) + (r() < 0.5 ? sentence() : ""),
    () => `${sentence()}${pick(SURROGATES)}${sentence()}`,
    () => `${pick(COMBINING)}${sentence()}${pick(COMBINING)}`,
    () => junk(SOUP, 2 + int(10)),
    () => `${words("en", 2)} ${junk(SOUP, 2 + int(4))} ${words(pick(LANGS), 2)}`,
    () => `${words("kaomoji", 1 + int(3))} ${words("emoji", 1 + int(3))} ${words("sym", 1 + int(4))}`,
    () => {
      // UTF-8 bent the ways the repair has to cope with: CESU-8 pairs, Java's C0 80, lone surrogates, a
      // byte cut off, A0 as a space, 1A or "?" for a lost byte, a final newline; read in some encoding.
      let b = Array.from(utf8.encode(sentence()));
      const edits = 1 + int(3);
      for (let e = 0; e < edits; e++) {
        const at = int(b.length + 1);
        const ins = pick([
          [0xed, 0xa0 + int(16), 0x80 + int(64), 0xed, 0xb0 + int(16), 0x80 + int(64)],
          [0xed, 0xa0 + int(32), 0x80 + int(64)],
          [0xc0, 0x80],
          [0xc0],
          [0xed, 0xa0 + int(16), 0x80 + int(64), 0xed, 0xb0 + int(16), 0x0a],
          [0xc3, 0x20],
          [0xe2, 0x20, 0x80 + int(64)],
          [0xf0, 0x9f, 0x20, 0x80 + int(64)],
          [0xe2, 0x80, 0x1a],
          [0xc3, 0x3f],
          [0x1a],
          [0xc2 + int(30)],
          [0x80 + int(64)],
          [0x0a],
        ]) as number[];
        b = [...b.slice(0, at), ...ins, ...b.slice(at)];
      }
      const enc = pick(MOJI.filter((m) => m !== "lossy-windows-1252"));
      const table = CHARMAPS[enc]!;
      return b.map((x) => (x < 0x80 ? String.fromCharCode(x) : table[x - 0x80])).join("") + (r() < 0.3 ? "\n" : "");
    },
    () =>
      pick([
        "\u00c3 la mode",
        "fÃ cil",
        "Ã s vezes",
        "Ã quele",
        "voilÃ  ",
        "Ã\n",
        "À\n",
        "Ã©À\n",
        "Ã\xa0 la",
        "Â¡Â¿",
        "&lt;tag&gt; &amp;lt;",
        "&amp;amp;eacute;",
      ]) + (r() < 0.5 ? mojibake(sentence(), pick(MOJI)) : sentence()),
  ];
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(maker)());
  return out;
}
