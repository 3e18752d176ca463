// The tiny example's own vocabulary (examples/tiny-shapes/tokenizer): the committed tokenizer.model is what
// tools/tiny-tokenizer/train_tokenizer.py makes from `llavac data synth shapes`' text, byte for byte, and
// llavac's encoder gives python3-sentencepiece's ids for that text and for text outside it (byte fallback).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SHAPES_DEFAULTS } from "../compiler/cli/data.js";
import { synthShapes } from "../runtime/data/sources/shapes.js";
import { loadTokenizer } from "../runtime/text/tokenizer.js";
import { tempDir } from "./data-helpers.js";
import { ROOT } from "./helpers.js";
import { oraclePython } from "./oracle-python.js";

const FOLDER = path.join(ROOT, "examples/tiny-shapes/tokenizer");
const PY = oraclePython("sentencepiece");
if (!PY) console.warn("tiny tokenizer: no Python with sentencepiece (Debian python3-sentencepiece); the regeneration test is skipped");

describe("the tiny example's tokenizer", () => {
  it("has the LLaMA-2 special ids, 512 pieces and every byte piece; the example's text needs no byte piece", async () => {
    const tok = await loadTokenizer({ kind: "file", path: path.join(FOLDER, "tokenizer.model") });
    expect([tok.unkId, tok.bosId, tok.eosId, tok.padId, tok.vocabSize]).toEqual([0, 1, 2, 0, 512]);
    for (let b = 0; b < 256; b++) expect(tok.pieceToId(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)).toBe(3 + b);
    expect(tok.encode("What colour is the shape?").map((i) => tok.idToPiece(i))).toEqual([
      "▁What",
      "▁colour",
      "▁is",
      "▁the",
      "▁shape",
      "?",
    ]);
    // Text it was not fitted to still round-trips, through bytes.
    const other = "Grün ist 緑 🟩";
    expect(tok.encode(other).some((i) => i >= 3 && i < 259)).toBe(true);
    expect(tok.decode(tok.encode(other))).toBe(other);
  });

  it.skipIf(!PY)(
    "is what train_tokenizer.py makes from the shapes text, and encodes as python3-sentencepiece does",
    async () => {
      const dir = tempDir("llavac-tinytok-");
      // As `llavac data synth shapes` with its defaults (the text does not depend on the canvas size).
      await synthShapes({ out: path.join(dir, "data"), ...SHAPES_DEFAULTS, width: 48, height: 40 });
      execFileSync(PY!, [path.join(ROOT, "tools/tiny-tokenizer/train_tokenizer.py"), path.join(dir, "data"), path.join(dir, "tok")]);
      expect(readFileSync(path.join(dir, "tok/tokenizer.model")).equals(readFileSync(path.join(FOLDER, "tokenizer.model")))).toBe(true);
      expect(readFileSync(path.join(dir, "tok/tokenizer_config.json"), "utf8")).toBe(
        readFileSync(path.join(FOLDER, "tokenizer_config.json"), "utf8"),
      );

      const lines = ["captions", "questions", "heldout"].flatMap((s) =>
        readFileSync(path.join(dir, "data", s, `${s}.jsonl`), "utf8")
          .trim()
          .split("\n")
          .flatMap((l) => (JSON.parse(l).conversations as { value: string }[]).map((t) => t.value.replace("<image>\n", ""))),
      );
      const strings = [...new Set(lines), "USER:", "ASSISTANT:", "  two  spaces\n\nand a 1234 number", "Grün ist 緑 🟩, not red."];
      const want = JSON.parse(
        execFileSync(PY!, [path.join(ROOT, "tools/oracles/sp_encode.py"), path.join(FOLDER, "tokenizer.model")], {
          input: JSON.stringify(strings),
        }).toString(),
      ) as number[][];
      const tok = await loadTokenizer({ kind: "file", path: path.join(FOLDER, "tokenizer.model") });
      expect(strings.map((s) => tok.encode(s))).toEqual(want);
    },
    120_000,
  );
});
