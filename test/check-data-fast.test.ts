// The fast paths of `check --data` against the plain ones they stand in for: the tokenizer's counting path
// (words split natively, counts cached by word and by whole short text) against `encode(text).length`, and
// the layout measured without ids (measureRecord) against the writer's full plan (classifyRecord): the same
// verdicts, lengths and supervised counts, over-MSL, truncated and failing records included; and the pass on
// worker threads against the pass in this thread: the same report.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkData, prestartWorkers } from "../runtime/data/check-data.js";
import { lineBatches } from "../runtime/data/jsonl.js";
import { classifyRecord, ImageChecker, measureRecord, type ClassifyConfig } from "../runtime/data/classify.js";
import { parseRecord } from "../runtime/data/records.js";
import type { Template } from "../runtime/text/layout.js";
import { loadTokenizer, tokenizerFromSpec } from "../runtime/text/tokenizer.js";
import { PieceType, type ModelSpec } from "../runtime/text/sentencepiece.js";
import { cleanAscii, fixText } from "../runtime/text/ftfy.js";

const vicuna: Template = {
  name: "vicuna_v1",
  layout: "chat",
  system:
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.",
  user: "USER:",
  assistant: "ASSISTANT:",
};
const plain: Template = { name: "plain", layout: "plain", system: "", user: "", assistant: "" };

// Strings that stress the word split: runs of spaces at either end and inside, tabs and newlines (not
// spaces to sentencepiece), a literal "▁", byte-fallback characters, astral characters, empties.
const TRICKY = [
  "",
  " ",
  "   ",
  "a",
  " a",
  "a ",
  "  a  b   c ",
  "hello world",
  "hello  world",
  "tab\there\nnew line",
  "▁already▁escaped",
  "mixed ▁ spaces▁ ",
  "日本語のテキスト と 空白",
  "emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢  ",
  "\u0000\u0001 controls \u007f",
  "Ünïcödé café naïve",
  "x".repeat(300),
  `${"word ".repeat(80)}end`,
];

function words(seed: number, n: number): string {
  const W = ["the", "a", "dog", "cat's", "photo,", "shows", "", " ", "ÉTÉ", "✓", "1234", "(x)", "\n", "what?"];
  let s = seed >>> 0;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(W[s % W.length]!);
  }
  return out.join(" ");
}

describe("check --data fast paths equal the plain ones", () => {
  it("count(text) is encode(text).length on the LLaMA-2 vocabulary, also when the same text comes again", async () => {
    const tok = await loadTokenizer({ kind: "llama2" });
    const texts = [...TRICKY, ...Array.from({ length: 400 }, (_, i) => words(i, 1 + (i % 60)))];
    for (const round of [1, 2]) for (const t of texts) expect([round, t, tok.count!(t)]).toEqual([round, t, tok.encode(t).length]);
  });

  it("countClean(text) is count(text) exactly when fixText leaves the text as it is (clean ASCII), else -1", async () => {
    const tok = await loadTokenizer({ kind: "llama2" });
    const js = await loadTokenizer({ kind: "llama2" });
    // Every UTF-16 unit below 0x100 and some above, alone and at each place around the 16-byte steps of the
    // scan (the failing cases: "&", CR, other controls, DEL, non-ASCII, at any position), and clean texts.
    const units = [...Array.from({ length: 0x100 }, (_, c) => c), 0x2019, 0x2581, 0xfb01, 0xd800, 0x1f600];
    const texts = [
      "",
      "plain words, (and) \"quotes\" 'too'?!",
      "tab\there\nnewline\fform feed",
      "x".repeat(300),
      ...units.map((c) => String.fromCodePoint(c)),
      ...[0, 1, 15, 16, 17, 31, 32, 33, 47].flatMap((at) =>
        ["&", "\r", "\x00", "\x0b", "\x1b", "\x7f", "\x80", "é", "’", "\ud800", "!"].map(
          (bad) => `${"abcd efgh ".repeat(5).slice(0, at)}${bad}${" tail words".repeat(3)}`,
        ),
      ),
    ];
    for (const round of [1, 2])
      for (const t of texts) {
        const want = cleanAscii(t) ? js.count!(fixText(t)) : -1;
        expect([round, t, tok.countClean!(t)]).toEqual([round, t, want]);
      }
    // Both verdicts occur, and a clean text is one fixText returns unchanged.
    expect(texts.filter(cleanAscii).length).toBeGreaterThan(90);
    expect(texts.filter((t) => !cleanAscii(t)).length).toBeGreaterThan(90);
    for (const t of texts.filter(cleanAscii)) expect(fixText(t)).toBe(t);
  });

  it("count(text) is encode(text).length on a vocabulary without the dummy prefix and without byte fallback", () => {
    const pieces = ["<unk>", "<s>", "</s>", "▁", "a", "▁a", "b", "▁b", "ab", "▁ab", "▁▁"];
    for (const [addDummyPrefix, byteFallback] of [
      [false, true],
      [true, false],
    ] as const) {
      const spec: ModelSpec = {
        pieces: pieces.map((piece, id) => ({
          piece,
          score: id < 3 ? 0 : 100 - id,
          type: id === 0 ? PieceType.UNKNOWN : id < 3 ? PieceType.CONTROL : PieceType.NORMAL,
        })),
        modelType: 2,
        byteFallback,
        addDummyPrefix,
        removeExtraWhitespaces: false,
        escapeWhitespaces: true,
        normalizerName: "identity",
        hasCharsmap: false,
        unkId: 0,
        bosId: 1,
        eosId: 2,
        padId: -1,
      };
      const tok = tokenizerFromSpec(spec, "test vocabulary");
      for (const t of [...TRICKY, "ab ab  a b", " ab", "ab  ", "ba ab"])
        expect([addDummyPrefix, t, tok.count!(t)]).toEqual([addDummyPrefix, t, tok.encode(t).length]);
    }
  });

  it("measureRecord gives classifyRecord's verdict, lengths and supervised count (over-MSL, cut, failing, repeated prompts)", async () => {
    const tok = await loadTokenizer({ kind: "llama2" });
    const images = new ImageChecker("/nonexistent", "none");
    const long = words(7, 900);
    const records = [
      {
        id: 1,
        image: "a.jpg",
        conversations: [
          { from: "human", value: "<image>\nWhat is it?" },
          { from: "gpt", value: "A cat." },
        ],
      },
      // The same prompt twice, then a copy that only ftfy's cleaning tells apart (curly quotes, a ligature).
      {
        id: 2,
        conversations: [
          { from: "human", value: "What is it?" },
          { from: "gpt", value: "A dog." },
        ],
      },
      {
        id: 3,
        conversations: [
          { from: "human", value: "What is it?" },
          { from: "gpt", value: "A dog." },
        ],
      },
      {
        id: 4,
        conversations: [
          { from: "human", value: "What is \u201cit\u201d? \ufb01ne" },
          { from: "gpt", value: "A dog." },
        ],
      },
      {
        id: 5,
        conversations: [
          { from: "human", value: 'What is "it"? fine' },
          { from: "gpt", value: "A dog." },
        ],
      },
      // Over the MSL: dropped, or cut with `truncate`.
      {
        id: 6,
        image: "b.jpg",
        conversations: [
          { from: "human", value: `<image>\n${long}` },
          { from: "gpt", value: long },
        ],
      },
      {
        id: 7,
        conversations: [
          { from: "human", value: "q" },
          { from: "gpt", value: long },
          { from: "human", value: "again" },
          { from: "gpt", value: "" },
        ],
      },
      // No supervised token survives the cut (the answer starts past the MSL).
      {
        id: 8,
        conversations: [
          { from: "human", value: long + long },
          { from: "gpt", value: "yes" },
        ],
      },
      { id: 9, conversations: [] },
      { id: 10, conversations: [{ from: "human", value: "odd" }] },
      {
        id: 11,
        conversations: [
          { from: "gpt", value: "wrong order" },
          { from: "human", value: "x" },
        ],
      },
      {
        id: 12,
        image: "c.jpg",
        conversations: [
          { from: "human", value: "no placeholder" },
          { from: "gpt", value: "x" },
        ],
      },
      {
        id: 13,
        conversations: [
          { from: "human", value: "  spaced   out  " },
          { from: "gpt", value: " tab\tand\nnewline " },
        ],
      },
      // Texts that ftfy changes, and clean ones beside them (the counting path tells them apart itself).
      {
        id: 14,
        conversations: [
          { from: "human", value: "fish &amp; chips &lt;3, a line\r\nbreak" },
          { from: "gpt", value: "the \ufb01sh\u2019s \u201cquote\u201d and \u00c3\u00a9 mojibake, form\ffeed" },
          { from: "human", value: "a clean follow-up question?" },
          { from: "gpt", value: "control\x1b[31m escape and DEL\x7f, then clean words" },
        ],
      },
      ...Array.from({ length: 60 }, (_, i) => ({
        id: 100 + i,
        ...(i % 3 ? { image: "d.jpg" } : {}),
        conversations: Array.from({ length: 2 + 2 * (i % 3) }, (_, t) => ({
          from: t % 2 ? "gpt" : "human",
          value: (t === 0 && i % 3 ? "<image>\n" : "") + words(i * 10 + t, 5 + ((i * 37 + t * 11) % 200)),
        })),
      })),
    ].map((r) => parseRecord(JSON.stringify(r)));
    const seen = new Set<string>();
    for (const template of [vicuna, plain])
      for (const overLength of ["drop", "truncate"] as const)
        for (const useFtfy of [true, false]) {
          const c: ClassifyConfig = { template, msl: 1024, numPatches: 576, overLength, useFtfy };
          for (const r of records) {
            const full = classifyRecord(tok, c, r, null, images);
            const fast = measureRecord(tok, c, r, null, images);
            const want = full.ok
              ? {
                  ok: true,
                  fullLength: full.plan.fullLength,
                  length: full.plan.length,
                  supervised: full.plan.supervised,
                  imageStart: full.plan.imageStart,
                }
              : full;
            const got = fast.ok
              ? {
                  ok: true,
                  fullLength: fast.plan.fullLength,
                  length: fast.plan.length,
                  supervised: fast.plan.supervised,
                  imageStart: fast.plan.imageStart,
                }
              : fast;
            expect(got).toEqual(want);
            seen.add(full.ok ? (full.plan.fullLength > full.plan.length ? "cut" : "kept") : full.reason);
          }
        }
    // The cases the records are there for were all met.
    expect([...seen].sort()).toEqual([
      "cut",
      "image_token_count",
      "kept",
      "no_supervised_tokens",
      "no_turns",
      "odd_turns",
      "role_order",
      "too_long",
    ]);
    // Cleaning reaches the count: with ftfy the curly-quoted copy is the straight one; without it, it is not.
    const len = (id: number, useFtfy: boolean) => {
      const v = measureRecord(
        tok,
        { template: vicuna, msl: 1024, numPatches: 576, overLength: "drop", useFtfy },
        records[id - 1]!,
        null,
        images,
      );
      return v.ok ? v.plan.fullLength : -1;
    };
    expect(len(4, true)).toBe(len(5, true));
    expect(len(4, false)).not.toBe(len(5, false));
  });
});

const WORKER = path.join(import.meta.dirname, "..", "dist", "check-data-worker.js");

describe("check --data on worker threads", () => {
  it.skipIf(!existsSync(WORKER))(
    "gives the one-thread report: counts, first examples in input order, lengths, longest sample",
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "llavac-check-data-threads-"));
      try {
        mkdirSync(path.join(dir, "jsonl"));
        mkdirSync(path.join(dir, "images"));
        writeFileSync(path.join(dir, "images", "a.jpg"), "not a jpeg, but only the path is checked here");
        const lines: (string | Buffer)[] = [];
        for (let i = 0; i < 3000; i++) {
          const k = i % 97;
          const conv = [
            { from: "human", value: (i % 4 ? "<image>\n" : "") + words(i, 3 + (i % 40)) },
            { from: "gpt", value: words(i + 1, k === 5 ? 900 : 2 + (i % 50)) },
          ];
          if (k === 11) conv[0]!.from = "gpt";
          const rec = { id: `r${i}`, ...(i % 4 ? { image: k === 13 ? "missing.jpg" : "a.jpg" } : {}), conversations: conv };
          lines.push(
            k === 17 ? `{"id": "r${i}", "conversations": [` : k === 19 ? Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) : JSON.stringify(rec),
          );
        }
        writeFileSync(
          path.join(dir, "jsonl", "a.jsonl"),
          Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l), Buffer.from("\n")]))),
        );
        const cfg = {
          inputs: [path.join(dir, "jsonl")],
          imageRoot: path.join(dir, "images"),
          tokenizer: { kind: "llama2" as const },
          template: vicuna,
          msl: 1024,
          numPatches: 576,
          overLength: "drop" as const,
        };
        const strip = ({ seconds: _s, cpu_seconds: _c, threads: _t, ...r }: Awaited<ReturnType<typeof checkData>>) => r;
        const oneRun = await checkData(cfg, { images: "none", workers: 0 });
        const twoRun = await checkData(cfg, { images: "none", workers: 2 });
        const one = strip(oneRun);
        const two = strip(twoRun);
        expect(two).toEqual(one);
        // Every batch is checked once, by one of the threads (3,000 lines in batches of 256: 12).
        expect(oneRun.threads).toEqual([12]);
        expect(twoRun.threads).toHaveLength(3);
        expect(twoRun.threads.reduce((a, b) => a + b)).toBe(12);
        // Workers started before the pass (as the CLI starts them while it compiles the spec) are taken by
        // it and get its configuration then: the same report again.
        prestartWorkers("none");
        const aheadRun = await checkData(cfg, { images: "none", workers: 1 });
        expect(strip(aheadRun)).toEqual(one);
        expect(aheadRun.threads.reduce((a, b) => a + b)).toBe(12);
        // The failing cases are in it, counted and with their first examples.
        expect(Object.keys(one.skipped).sort()).toEqual(["invalid_utf8", "malformed_json", "role_order", "too_long"]);
        expect(one.checked).toBe(3000);
        expect(one.skipped.too_long!.examples.map((e) => e.line)).toEqual([6, 103, 200]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe("lineBatches", () => {
  it("cuts a file into batches of whole lines that add up to the file, across its 4 MiB reads", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-line-batches-"));
    try {
      // ~10 MiB: lines of 1 MiB that straddle the reads, blank and CRLF lines, no final newline.
      const lines = Array.from({ length: 1200 }, (_, i) =>
        i % 97 === 0 ? "" : i % 120 === 1 ? `${"x".repeat(1 << 20)}\r` : `line ${i} ${"y".repeat((i * 37) % 5000)}`,
      );
      const file = path.join(dir, "a.jsonl");
      const text = lines.join("\n");
      writeFileSync(file, text);
      for (const per of [3, 256]) {
        const batches = [...lineBatches(file, per)];
        expect(Buffer.concat(batches.map((b) => b.bytes)).toString() === text).toBe(true);
        let next = 1;
        for (const b of batches) {
          expect(b.firstLine).toBe(next);
          const want = lines.slice(next - 1, next - 1 + b.lines).join("\n");
          const got = Buffer.from(b.bytes).toString();
          expect(got === want || got === `${want}\n`).toBe(true);
          next += b.lines;
        }
        expect(next - 1).toBe(lines.length);
        expect(batches.slice(0, -1).every((b) => b.lines === per)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
