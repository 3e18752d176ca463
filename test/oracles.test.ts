// Checks against the reference implementations from Debian (installed by .ci/run): h5py reads our HDF5
// as the Cerebras reader would, and our tokenizer matches the sentencepiece library id for id. Each test
// says it is skipped when its Debian package is missing.
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { runHdf5Job } from "../runtime/data/hdf5-job.js";
import { prepareImage } from "../runtime/data/images.js";
import { loadLlamaModelSpec } from "../runtime/text/llama-vocab.js";
import { loadTokenizer } from "../runtime/text/tokenizer.js";
import { jobConfig, sample, tempDir, writeImage, writeLines } from "./data-helpers.js";
import { ROOT } from "./helpers.js";
import { writeModelProto } from "./sp-model.js";

const PY = "/usr/bin/python3";
const has = (module: string) => spawnSync(PY, ["-c", `import ${module}`]).status === 0;
const hasH5py = has("h5py");
const hasSp = has("sentencepiece") && spawnSync("spm_train", ["--help"]).error === undefined;
const hasPil = has("PIL") && has("numpy");
if (!hasH5py) console.warn("oracles: Debian python3-h5py is not installed; the h5py read-back test is skipped (.ci/run installs it)");
if (!hasPil)
  console.warn(
    "oracles: Debian python3-pil / python3-numpy are not installed; the image pipeline comparison is skipped (.ci/run installs them)",
  );
if (!hasSp)
  console.warn(
    "oracles: Debian sentencepiece / python3-sentencepiece are not installed; the tokenizer parity tests are skipped (.ci/run installs them)",
  );

/** A corpus with what tokenizers get wrong: accents and scripts, digits, runs of spaces, tabs and newlines. */
function corpus(n: number): string[] {
  const words = [
    "the",
    "quick",
    "brown",
    "fox",
    "Zürich",
    "café",
    "naïve",
    "日本語",
    "テキスト",
    "中文",
    "Москва",
    "😀",
    "🎉",
    "résumé",
    "image",
    "ASSISTANT:",
    "USER:",
    "<image>",
    "don't",
    "e-mail",
    "C++",
    "x²",
    "½",
  ];
  let seed = 12345;
  const rnd = (k: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % k;
  const seps = [" ", " ", " ", "  ", "   ", "\n", "\n\n", "\t", " \n "];
  return Array.from({ length: n }, () => {
    const len = 1 + rnd(14);
    let s = rnd(5) === 0 ? seps[rnd(seps.length)]! : "";
    for (let i = 0; i < len; i++)
      s += (i ? seps[rnd(seps.length)] : "") + (rnd(6) === 0 ? String(rnd(10 ** (1 + rnd(7)))) : words[rnd(words.length)]);
    return rnd(6) === 0 ? s + seps[rnd(seps.length)] : s;
  });
}

function pythonIds(model: string, texts: string[]): number[][] {
  return JSON.parse(
    execFileSync(PY, [path.join(ROOT, "tools/oracles/sp_encode.py"), model], {
      input: JSON.stringify(texts),
      maxBuffer: 1 << 28,
    }).toString(),
  );
}

describe("oracle: h5py", () => {
  it.skipIf(!hasH5py)(
    "reads the dtype, shape, chunking, compression, n_examples and img_path bytes the Cerebras reader expects",
    async () => {
      const dir = tempDir();
      await writeImage(path.join(dir, "images/coco/x.jpg"));
      writeLines(
        path.join(dir, "jsonl/a.jsonl"),
        Array.from({ length: 5 }, (_, i) => sample(`s${i}`, i === 2 ? undefined : "coco/x.jpg", `Q${i}?`, `A${i}.`)),
      );
      await runHdf5Job(jobConfig(dir, { filesPerRecord: 3 }));
      const seen = JSON.parse(execFileSync(PY, [path.join(ROOT, "tools/oracles/h5_readback.py"), path.join(dir, "h5")]).toString());
      expect(seen).toEqual([
        expect.objectContaining({
          file: "examples_0_0.h5",
          dtype: "int32",
          shape: [3, 4, 128],
          chunks: [1, 4, 128],
          compression: "gzip",
          n_examples: 3,
          img_path_dtype: "|S10",
          img_path_shape: [3, 1],
          img_path: ["coco/x.jpg", "coco/x.jpg", "None"],
        }),
        expect.objectContaining({ file: "examples_1_0.h5", shape: [2, 4, 128], n_examples: 2, img_path: ["coco/x.jpg", "coco/x.jpg"] }),
      ]);
      expect(seen[0].loss_sum).toBeGreaterThan(0);
    },
  );
});

describe("oracle: sentencepiece", () => {
  it.skipIf(!hasSp)("a BPE model trained by spm_train: the same ids as python3-sentencepiece on a varied corpus", async () => {
    const dir = tempDir();
    const train = path.join(dir, "corpus.txt");
    writeFileSync(
      train,
      corpus(4000)
        .map((s) => s.replace(/\n/g, " "))
        .join("\n"),
    );
    execFileSync(
      "spm_train",
      [
        `--input=${train}`,
        `--model_prefix=${path.join(dir, "tok")}`,
        "--vocab_size=500",
        "--model_type=bpe",
        "--byte_fallback=true",
        "--normalization_rule_name=identity",
        "--remove_extra_whitespaces=false",
        "--split_digits=true",
        "--character_coverage=0.995",
        "--hard_vocab_limit=false",
        "--minloglevel=2",
      ],
      { stdio: "ignore" },
    );
    const model = path.join(dir, "tok.model");
    const tok = await loadTokenizer({ kind: "file", path: model });
    const texts = corpus(1500);
    const want = pythonIds(model, texts);
    const got = texts.map((t) => tok.encode(t));
    const mismatches = texts.map((t, i) => [t, got[i], want[i]] as const).filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b));
    expect(mismatches.slice(0, 3)).toEqual([]);
  });

  it.skipIf(!hasSp)(
    "the real LLaMA-2 tokenizer.model (rebuilt from the embedded vocabulary): the same ids as python3-sentencepiece",
    async () => {
      const dir = tempDir();
      const model = path.join(dir, "llama2.model");
      writeFileSync(model, writeModelProto(await loadLlamaModelSpec()));
      const tok = await loadTokenizer({ kind: "llama2" });
      const texts = [
        ...corpus(2000),
        "A chat between a curious user and an artificial intelligence assistant.",
        "USER:",
        "ASSISTANT:",
        "",
        " ",
        "  x  ",
        "\n\n\n",
      ];
      const want = pythonIds(model, texts);
      const got = texts.map((t) => tok.encode(t));
      const mismatches = texts.map((t, i) => [t, got[i], want[i]] as const).filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b));
      expect(mismatches.slice(0, 3)).toEqual([]);
    },
  );

  it.skipIf(!hasSp)(
    "the LLaMA-2 tokenizer.model read from the file: all 32,000 pieces as sentencepiece reads them, and each piece's text encodes to the same ids",
    async () => {
      const dir = tempDir();
      const model = path.join(dir, "llama2.model");
      writeFileSync(model, writeModelProto(await loadLlamaModelSpec()));
      const tok = await loadTokenizer({ kind: "file", path: model });
      const want: string[] = JSON.parse(
        execFileSync(PY, [path.join(ROOT, "tools/oracles/sp_encode.py"), model, "pieces"], { maxBuffer: 1 << 28 }).toString(),
      );
      expect(want.length).toBe(32000);
      const pieces = want.map((_, id) => tok.idToPiece(id));
      const pieceMismatches = want.flatMap((p, id) => (pieces[id] === p ? [] : [[id, pieces[id], p]]));
      expect(pieceMismatches.slice(0, 3)).toEqual([]); // e.g. U+FEFF (id 30143) must not be dropped as a byte-order mark
      const texts = want.filter((p) => !/^<.*>$/.test(p)).map((p) => p.replaceAll("\u2581", " "));
      const ids = pythonIds(model, texts);
      const encodeMismatches = texts.flatMap((t, i) =>
        JSON.stringify(tok.encode(t)) === JSON.stringify(ids[i]) ? [] : [[t, tok.encode(t), ids[i]]],
      );
      expect(`${texts.length - encodeMismatches.length}/${texts.length} pieces encode identically`).toBe(
        `${texts.length}/${texts.length} pieces encode identically`,
      );
    },
  );
});

describe("oracle: PIL", () => {
  it.skipIf(!hasPil)(
    "the image pipeline gives PIL's pixels exactly, enlarging and shrinking (test/image-equality.test.ts: camera-sized, every mode)",
    async () => {
      const dir = tempDir();
      const sizes = [
        [640, 480],
        [480, 640],
        [500, 375],
        [336, 336],
        [1024, 200],
        [120, 90],
        [90, 300],
      ];
      const files: string[] = [];
      for (const [i, [w, h]] of sizes.entries()) {
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><defs><linearGradient id="g"><stop offset="0" stop-color="#e33"/><stop offset="1" stop-color="#33e"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/><circle cx="${w! / 2}" cy="${h! / 2}" r="${Math.min(w!, h!) / 3}" fill="#2c2"/></svg>`;
        const f = path.join(dir, `${i}.jpg`);
        await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(f);
        files.push(f);
      }
      execFileSync(PY, [path.join(ROOT, "tools/oracles/pil_prepare.py"), "dump", "336", dir, ...files]);
      for (const [i, f] of files.entries()) {
        const ours = await prepareImage(f, [
          { kind: "expand_to_square", background: [122, 116, 104] },
          { kind: "resize", size: 336, interpolation: "bicubic" },
          { kind: "center_crop", size: 336 },
        ]);
        const pil = readFileSync(`${f}.raw`);
        const n = 336 * 336;
        let maxDiff = 0,
          se = 0;
        for (let c = 0; c < 3; c++)
          for (let p = 0; p < n; p++) {
            const d = ours.data[c * n + p]! - pil[p * 3 + c]!;
            maxDiff = Math.max(maxDiff, Math.abs(d));
            se += d * d;
          }
        const psnr = se === 0 ? Infinity : 10 * Math.log10((255 * 255 * 3 * n) / se);
        const [w, h] = sizes[i]!;
        expect({ size: `${w}×${h}`, maxDiff, psnr }).toEqual({ size: `${w}×${h}`, maxDiff: 0, psnr: Infinity });
      }
    },
  );
});
