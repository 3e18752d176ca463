// llavac's ftfy against the real one. (a) ftfy 6.1.1, the release the Cerebras 2.2.1 writer pins: its
// outputs for 24,000 generated strings were made once (tools/oracles/ftfy-fixture.ts) and are committed.
// (b) the pip store's ftfy (6.3.1) live, through the interpreter test/oracle-python.ts picks; skipped,
// saying so, where no Python has ftfy. Both must agree on every string.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { runHdf5Job } from "../runtime/data/hdf5-job.js";
import { cleaningOf } from "../runtime/data/hdf5-worker-core.js";
import { type FtfyNormalization, type FtfyVersion, fixText, ftfyNormalization } from "../runtime/text/ftfy.js";
import { cleanText, DEFAULT_CLEANING, layoutConversation, type Template, type TextCleaning, type Turn } from "../runtime/text/layout.js";
import type { Tokenizer } from "../runtime/text/tokenizer.js";
import { ftfyCases, mojibake } from "./ftfy-cases.js";
import { jobConfig, sample, tempDir, writeLines } from "./data-helpers.js";
import { ROOT } from "./helpers.js";
import { oraclePython } from "./oracle-python.js";

const FIXTURE = path.join(ROOT, "test/fixtures/ftfy/ftfy-6.1.1.jsonl.gz");

/** The mismatches of fixText against expected outputs, shown so a failure says what differs. */
function differences(
  inputs: readonly string[],
  expected: readonly string[],
  opts: { version: FtfyVersion; normalization?: FtfyNormalization },
) {
  const diffs: string[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const got = fixText(inputs[i]!, opts);
    if (got !== expected[i])
      diffs.push(`${JSON.stringify(inputs[i])}\n  ftfy:   ${JSON.stringify(expected[i])}\n  llavac: ${JSON.stringify(got)}`);
  }
  return diffs;
}

describe("ftfy fix_text, exactly", () => {
  const lines = gunzipSync(readFileSync(FIXTURE)).toString("utf8").trimEnd().split("\n");
  const head = JSON.parse(lines[0]!) as { ftfy: string; count: number };
  const pairs = lines.slice(1).map((l) => JSON.parse(l) as [string, string]);

  it(`equals ftfy 6.1.1 (the Cerebras 2.2.1 pin) on ${pairs.length.toLocaleString("en-US")}/${pairs.length.toLocaleString("en-US")} committed strings`, () => {
    expect(head.ftfy).toBe("6.1.1");
    expect(pairs.length).toBe(head.count);
    expect(pairs.length).toBeGreaterThanOrEqual(20_000);
    // The strings are worth testing on: most of them are changed by ftfy, so "return the input" fails.
    const changed = pairs.filter(([i, o]) => i !== o).length;
    expect(changed).toBeGreaterThan(pairs.length / 2);
    const diffs = differences(
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
      { version: "6.1.1" },
    );
    console.log(`ftfy 6.1.1: ${pairs.length - diffs.length}/${pairs.length} equal (${changed} changed by ftfy)`);
    expect(diffs.slice(0, 10).join("\n")).toBe("");
  });

  it("6.1.1 is the default, and is not what NFC alone or ftfy 6.3.1 make of the same strings", () => {
    const [i] = pairs.find(([i, o]) => i.normalize("NFC") !== o)!;
    expect(fixText(i)).toBe(fixText(i, { version: "6.1.1", normalization: "NFC" }));
    const inputs = pairs.map((p) => p[0]);
    const later = inputs.filter((s) => fixText(s) !== fixText(s, { version: "6.3.1" })).length;
    expect(later).toBeGreaterThan(0);
    // Documented cases where the releases differ: 6.3.1 also knows Windows-1257 and tuned the detector.
    const greek = mojibake("ελληνικά", "sloppy-windows-1257");
    expect(fixText(greek, { version: "6.1.1" })).toBe(greek);
    expect(fixText(greek, { version: "6.3.1" })).toBe("ελληνικά");
  });

  it("fixes what the Cerebras writer's ftfy fixes", () => {
    expect(fixText("âœ” No problems")).toBe("✔ No problems");
    expect(fixText("&macr;\\_(ã\x83\x84)_/&macr;")).toBe("¯\\_(ツ)_/¯");
    expect(fixText("Broken text&hellip; it&#x2019;s ﬂubberiﬁc!")).toBe("Broken text… it's flubberific!");
    expect(fixText("ＬＯＵＤ　ＮＯＩＳＥＳ")).toBe("LOUD NOISES");
    expect(fixText("voilÃ le travail")).toBe("voilà le travail");
    expect(fixText("P&EACUTE;REZ &nTILDE;")).toBe("PÉREZ &nTILDE;");
    expect(fixText("a\r\nb\rc\u2028d")).toBe("a\nb\nc\nd");
    expect(fixText("e\u0301\ud83d")).toBe("é\ufffd");
    expect(fixText("e\u0301", { normalization: null })).toBe("e\u0301");
    expect(fixText("x²", { normalization: "NFKC" })).toBe("x2");
    // A "<" means HTML: entities are kept in that line and in every line after it, not in those before.
    expect(fixText("&amp;\n<b> &amp;\n&amp;")).toBe("&\n<b> &amp;\n&amp;");
    // Clean ASCII comes back as the same string.
    const clean = "The quick brown fox, 42 times.\n";
    expect(fixText(clean)).toBe(clean);
  });

  const py = oraclePython("ftfy");
  if (!py) console.warn("ftfy: no Python with ftfy (the pip store's ftfy, in .oracles/ from .ci/run); the live ftfy comparison is skipped");
  const live = (norm: string, n: number, seed: number) => {
    const cases = ftfyCases(n, seed);
    const out = execFileSync(py!, [path.join(ROOT, "tools/oracles/ftfy_fix.py"), norm], {
      input: `${cases.map((s) => JSON.stringify(s)).join("\n")}\n`,
      maxBuffer: 1 << 30,
    })
      .toString("utf8")
      .trimEnd()
      .split("\n");
    const version = (JSON.parse(out[0]!) as { ftfy: string }).ftfy;
    return { cases, expected: out.slice(1).map((l) => JSON.parse(l) as string), version };
  };

  const known = (version: string, skip: () => void) => {
    if (version === "6.1.1" || version === "6.3.1") return;
    console.warn(`ftfy: the oracle has ftfy ${version}; llavac reproduces 6.1.1 and 6.3.1, so the live comparison is skipped`);
    skip();
  };

  it.skipIf(!py)(
    "equals the live pip-store ftfy (6.3.1) on 24,000/24,000 fresh strings",
    (ctx) => {
      const { cases, expected, version } = live("NFC", 24_000, 7);
      known(version, () => ctx.skip());
      const diffs = differences(cases, expected, { version: version as FtfyVersion });
      console.log(`ftfy ${version} (live): ${cases.length - diffs.length}/${cases.length} equal`);
      expect(diffs.slice(0, 10).join("\n")).toBe("");
    },
    120_000,
  );

  it.skipIf(!py)(
    "equals the live ftfy with normalization None, NFD, NFKC and NFKD (2,000 strings each)",
    (ctx) => {
      for (const [norm, opt] of [
        ["none", null],
        ["NFD", "NFD"],
        ["NFKC", "NFKC"],
        ["NFKD", "NFKD"],
      ] as const) {
        const { cases, expected, version } = live(norm, 2_000, 11);
        known(version, () => ctx.skip());
        const diffs = differences(cases, expected, { version: version as FtfyVersion, normalization: opt });
        expect(`${norm}: ${diffs.slice(0, 5).join("\n")}`).toBe(`${norm}: `);
      }
    },
    120_000,
  );
});

describe("where the writer cleans text", () => {
  // A tokenizer that records what it is asked to encode: the layout's cleaning is what reaches it. A new one
  // for each layout, since the template's own ids are tokenised once per tokenizer.
  const seen: string[] = [];
  const recording = (): Tokenizer => ({
    encode: (t) => (seen.push(t), [5]),
    decode: () => "",
    decodeLikeHf: () => "",
    pieceToId: () => 3,
    idToPiece: () => "x",
    bosId: 1,
    eosId: 2,
    padId: 0,
    unkId: 0,
    vocabSize: 10,
    source: "recording",
    specialTokens: () => new Map(),
  });
  const chat: Template = { name: "chat", layout: "chat", system: "Sys \u201cquoted\u201d", user: "U:", assistant: "A:" };
  const turns: Turn[] = [
    { from: "human", value: "<image>\nWhat\u2019s this \uff21?" },
    { from: "gpt", value: "A \ufb01sh &amp; caf\u00c3\u00a9" },
    { from: "human", value: "And <image> now?" },
    { from: "gpt", value: "e\u0301" },
  ];
  const lay = (cleaning?: TextCleaning) => {
    seen.length = 0;
    const r = layoutConversation(recording(), chat, turns, true, { numPatches: 2, msl: 64, ...(cleaning ? { cleaning } : {}) });
    expect(r.ok).toBe(true);
    return [...seen];
  };

  it("runs ftfy (NFC) on every prompt, after the image placeholder is removed, and every completion; never on the system prompt", () => {
    expect(lay()).toEqual(["Sys \u201cquoted\u201d", "U:", "A:", "\nWhat's this A?", "A fish & café", "And  now?", "é"]);
    expect(lay({ useFtfy: true, normalizer: null })).toEqual([
      "Sys \u201cquoted\u201d",
      "U:",
      "A:",
      "\nWhat's this A?",
      "A fish & café",
      "And  now?",
      "e\u0301",
    ]);
  });

  it("with use_ftfy false, leaves the text exactly as it is (no normalisation either), as the writer does", () => {
    expect(lay({ useFtfy: false, normalizer: "NFC" })).toEqual([
      "Sys \u201cquoted\u201d",
      "U:",
      "A:",
      "\nWhat\u2019s this \uff21?",
      "A \ufb01sh &amp; caf\u00c3\u00a9",
      "And  now?",
      "e\u0301",
    ]);
  });

  it("takes use_ftfy and ftfy_normalizer from the writer config, and refuses a normalizer Python would", () => {
    expect(cleaningOf({})).toEqual({ useFtfy: true, normalizer: "NFC" });
    expect(cleaningOf({ useFtfy: false, ftfyNormalizer: "NFKC" })).toEqual({ useFtfy: false, normalizer: "NFKC" });
    expect(cleaningOf({ ftfyNormalizer: "None" })).toEqual({ useFtfy: true, normalizer: null });
    expect(() => ftfyNormalization("nfc")).toThrow(/not one of NFC, NFD, NFKC, NFKD or None/);
    expect(cleanText("ﬁ", DEFAULT_CLEANING)).toBe("fi");
  });
});

describe("data hdf5 with use_ftfy", () => {
  // Text-only records that ftfy changes (mojibake, entities, quotes, ligatures, widths, line breaks).
  const raw = ftfyCases(400, 3)
    .filter((s) => fixText(s) !== s && fixText(s).trim() !== "")
    .slice(0, 40);
  const write = (dir: string, clean: (t: string) => string) =>
    writeLines(
      path.join(dir, "jsonl", "a.jsonl"),
      raw.map((t, i) => sample(`s${i}`, undefined, clean(`Q ${t}`), clean(`A ${t}`))),
    );
  const h5 = (dir: string) =>
    readdirSync(path.join(dir, "h5"))
      .filter((f) => f.endsWith(".h5"))
      .sort()
      .map((f) => readFileSync(path.join(dir, "h5", f)));

  it("writes what the writer writes for the ftfy-fixed text, and differs from the raw text without it", async () => {
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    write(a, (t) => t);
    write(b, (t) => fixText(t));
    write(c, (t) => t);
    await runHdf5Job(jobConfig(a, { useFtfy: true, ftfyNormalizer: "NFC" }));
    await runHdf5Job(jobConfig(b, { useFtfy: false }));
    await runHdf5Job(jobConfig(c, { useFtfy: false }));
    const [fa, fb, fc] = [h5(a), h5(b), h5(c)];
    expect(fa.length).toBeGreaterThan(0);
    expect(fa).toEqual(fb);
    expect(fa).not.toEqual(fc);
  }, 60_000);
});
