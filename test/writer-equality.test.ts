// `llavac data hdf5` against the real Cerebras Model Zoo 2.2.1 writer (create_hdf5_dataset.py
// LlavaPhaseOne|LlavaPhaseTwo). tools/oracles/cerebras_writer.py ran the writer once on the inputs of
// test/fixtures/cerebras-writer and recorded what it wrote (expected/<set>.json); here the CLI runs on the
// same inputs, with the spec writer.llava whose phases compile to the configs the writer ran with, and
// every dataset (names, dtype, shape, chunking, compression, values) and data_params.json must be equal.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import h5wasm, { type Dataset } from "h5wasm/node";
import { beforeAll, describe, expect, it } from "vitest";
import { h5Ready } from "../runtime/data/hdf5.js";
import { loadTokenizer } from "../runtime/text/tokenizer.js";
import { tempDir } from "./data-helpers.js";
import { ROOT } from "./helpers.js";
import { writeWriterTokenizers } from "./writer-fixture.js";

const FIX = path.join(ROOT, "test/fixtures/cerebras-writer");
const SPEC = path.join(FIX, "writer.llava");
const BIN = path.join(ROOT, "bin/llavac.js");

interface H5Digest {
  name: string;
  attrs: Record<string, number>;
  datasets: string[];
  data: {
    dtype: string;
    shape: number[];
    maxshape: number[];
    chunks: number[] | null;
    compression: string | null;
    compression_opts: number | null;
    values: number[][][];
  };
  img_path: {
    dtype: string;
    shape: number[];
    maxshape: number[];
    chunks: number[] | null;
    compression: string | null;
    compression_opts: number | null;
    values: string[][];
  };
}
interface Expected {
  set: string;
  exit_code: number;
  error: string | null;
  hf_equals_sentencepiece: { strings: number; differ: string[] };
  files: H5Digest[];
  data_params: Record<string, Record<string, unknown>> | null;
}
const expected = (set: string): Expected => JSON.parse(readFileSync(path.join(FIX, "expected", `${set}.json`), "utf8"));

/** numpy's dtype.str for an h5wasm dataset: "<i4", "|S9". */
function dtypeStr(d: Dataset): string {
  const m = d.metadata as { type: number; size: number; signed?: boolean; littleEndian?: boolean };
  if (m.type === 0) return `${m.littleEndian ? "<" : ">"}${m.signed ? "i" : "u"}${m.size}`;
  if (m.type === 3) return `|S${m.size}`;
  return `type ${m.type}`;
}

/** The same digest as the generator's, read with h5wasm from llavac's files. */
function digest(dir: string): H5Digest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".h5"))
    .sort()
    .map((name) => {
      const f = new h5wasm.File(path.join(dir, name), "r");
      try {
        const one = (key: string) => {
          const d = f.get(key) as Dataset;
          const m = d.metadata as { shape: number[]; maxshape: number[]; chunks: number[] | null };
          const gzip = d.filters.find((x) => x.name === "deflate");
          return { d, m, gzip };
        };
        const data = one("data");
        const img = one("img_path");
        const shape = data.m.shape;
        const flat = data.d.value as Int32Array;
        const per = shape[1]! * shape[2]!;
        return {
          name,
          attrs: Object.fromEntries(Object.keys(f.attrs).map((k) => [k, Number(f.attrs[k]!.value)])),
          datasets: f.keys().sort(),
          data: {
            dtype: dtypeStr(data.d),
            shape,
            maxshape: data.m.maxshape,
            chunks: data.m.chunks,
            compression: data.gzip ? "gzip" : null,
            compression_opts: data.gzip ? Number(data.gzip.cd_values[0]) : null,
            values: Array.from({ length: shape[0]! }, (_, i) =>
              Array.from({ length: shape[1]! }, (_, r) => [...flat.subarray(i * per + r * shape[2]!, i * per + (r + 1) * shape[2]!)]),
            ),
          },
          img_path: {
            dtype: dtypeStr(img.d),
            shape: img.m.shape,
            maxshape: img.m.maxshape,
            chunks: img.m.chunks,
            compression: img.gzip ? "gzip" : null,
            compression_opts: img.gzip ? Number(img.gzip.cd_values[0]) : null,
            values: (img.d.value as string[]).map((x) => [x]),
          },
        };
      } finally {
        f.close();
      }
    });
}

let tokenizers = "";
let outRoot = "";

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  out: string;
  params: Record<string, Record<string, unknown>>;
  skipped: { line: number; reason: string; id: unknown }[];
}

/** `llavac data hdf5 writer.llava --phase SET --workers 1 --report ...`, as the README runs it. */
async function dataHdf5(set: string): Promise<Run> {
  const report = path.join(outRoot, `${set}.skipped.jsonl`);
  // Asynchronously: a blocking child would stall the test worker's messages to vitest on a busy machine.
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, "data", "hdf5", SPEC, "--phase", set, "--workers", "1", "--force", "--report", report],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, WRITER_TOKENIZERS: tokenizers, WRITER_OUT: outRoot, NO_COLOR: "1" },
        timeout: 120_000,
      },
      (err, stdout, stderr) =>
        resolve({ status: err ? (typeof err.code === "number" ? err.code : (child.exitCode ?? 1)) : 0, stdout, stderr }),
    );
  });
  const out = path.join(outRoot, set);
  const read = (f: string) => {
    try {
      return readFileSync(f, "utf8");
    } catch {
      return undefined;
    }
  };
  const params = JSON.parse(read(path.join(out, "data_params.json")) ?? "{}");
  const skipped = (read(report) ?? "")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out, params, skipped };
}

// What llavac's data_params.json adds to the writer's (and nothing else).
const LLAVAC_ONLY = ["image_patch_info.num_patches", "llavac", "llavac_tokenizer"];

/**
 * data_params.json against the writer's: every field the writer writes, with the same value. Paths are
 * compared by what they name (the writer ran in temporary folders); `huggingface_tokenizer` is the spec's
 * Hub name in llavac's file and the local folder the writer was given.
 */
function compareParams(set: string, ours: Record<string, Record<string, unknown>>, theirs: Record<string, Record<string, unknown>>) {
  const paths: Record<string, [string, string]> = {
    "setup.input_dir": ["<input_dir>", path.join("test/fixtures/cerebras-writer/inputs", set)],
    "setup.output_dir": ["<output_dir>", path.join(outRoot, set)],
    "dataset.image_dir": ["<image_dir>", "test/fixtures/cerebras-writer/images"],
  };
  for (const [section, fields] of Object.entries(theirs))
    for (const [key, value] of Object.entries(fields)) {
      const where = `${section}.${key}`;
      const mine = ours[section]?.[key];
      if (where in paths) {
        expect(value, where).toBe(paths[where]![0]);
        expect(path.resolve(ROOT, String(mine)), where).toBe(path.resolve(ROOT, paths[where]![1]));
      } else if (where === "processing.huggingface_tokenizer") {
        expect(String(value)).toMatch(/^<tokenizers>\/(bare|padded)$/);
        expect(mine).toBe("NousResearch/Llama-2-7b-hf");
      } else expect(mine, `${set}: data_params.json ${where}`).toEqual(value);
    }
  const extra: string[] = [];
  for (const [section, fields] of Object.entries(ours))
    if (!(section in theirs)) extra.push(section);
    else if (fields && typeof fields === "object")
      for (const key of Object.keys(fields)) if (!(key in theirs[section]!)) extra.push(`${section}.${key}`);
  expect(extra.sort()).toEqual(LLAVAC_ONLY);
}

/**
 * The one layout difference: llavac streams samples into a file whose maxshape is files_per_record, so the
 * last, partial file of a worker has maxshape (files_per_record, 4, MSL) where h5py gives its shape. The
 * Cerebras reader reads `shape` and n_examples only.
 */
function compareFiles(set: string, ours: H5Digest[], theirs: H5Digest[], filesPerRecord = 4) {
  expect(ours.map((f) => f.name)).toEqual(theirs.map((f) => f.name));
  for (const [i, want] of theirs.entries()) {
    const got = ours[i]!;
    const at = `${set}/${want.name}`;
    expect(got.attrs, at).toEqual(want.attrs);
    expect(got.datasets, at).toEqual(want.datasets);
    const { values: gv, maxshape: gm, ...gd } = got.data;
    const { values: wv, maxshape: wm, ...wd } = want.data;
    expect(gd, `${at} data`).toEqual(wd);
    expect(gm, `${at} data maxshape`).toEqual(wm[0] === filesPerRecord ? wm : [filesPerRecord, ...wm.slice(1)]);
    expect(gv.length).toBe(wv.length);
    for (const [s, sample] of wv.entries())
      for (const [r, row] of sample.entries()) expect(gv[s]![r], `${at} sample ${s} row ${r}`).toEqual(row);
    expect(got.img_path, `${at} img_path`).toEqual(want.img_path);
  }
}

beforeAll(async () => {
  await h5Ready();
  const dir = tempDir("llavac-writer-eq-");
  await writeWriterTokenizers(path.join(dir, "tok"));
  tokenizers = path.join(dir, "tok");
  outRoot = path.join(dir, "out");
});

describe("llavac data hdf5 equals the Cerebras 2.2.1 writer", () => {
  // p1_main: phase 1 (plain), bare tokenizer folder (eos pad), multi-turn captions, <image> at the end of a
  //   prompt and in a later prompt, a text-only sample, a missing image, accents/CJK, runs of spaces, tabs.
  // p2_main: phase 2 (vicuna_v1 system prompt), special_tokens_map.json pad (<unk>), multi-turn, <image> in a
  //   later prompt, ShareGPT-style text-only samples ("model": ""), a sample over the MSL, a missing image.
  // p2_noftfy: use_ftfy: false, with the U+FEFF piece and text ftfy would change, which must stay as it is.
  it.each(["p1_main", "p2_main", "p2_noftfy"])(
    "%s: every HDF5 dataset sample for sample, and data_params.json's fields and statistics",
    async (set) => {
      const want = expected(set);
      expect(want.exit_code).toBe(0);
      // The expected ids do not depend on the Hugging Face tokenizer version the writer ran with.
      expect(want.hf_equals_sentencepiece.differ).toEqual([]);
      const run = await dataHdf5(set);
      expect(run.status, run.stderr).toBe(0);
      compareFiles(set, digest(run.out), want.files);
      compareParams(set, run.params, want.data_params!);
    },
    120_000,
  );

  it("the statistics mean what the writer's mean: a missing image is discarded unprocessed, an over-long sample processed and discarded", async () => {
    const p = expected("p2_main").data_params!["post-process"]!;
    // 9 records: one with a missing image (never processed), one over the MSL (processed, then dropped).
    expect(p).toMatchObject({ processed_files: 8, discarded_files: 2, successful_files: 6, n_examples: 7 });
    const ours = await dataHdf5("p2_main");
    expect(ours.params["post-process"]).toMatchObject({ processed_files: 8, discarded_files: 2, successful_files: 6, n_examples: 7 });
    expect(ours.skipped.map((s) => [s.line, s.reason])).toEqual([
      [6, "too_long"],
      [7, "missing_image"],
    ]);
    // The raw counts include the dropped long sample's text (code points and UTF-8 bytes of the raw turns).
    expect(ours.params["post-process"]!.raw_bytes_count).toBe(p.raw_bytes_count);
    expect(Number(p.raw_bytes_count)).toBeGreaterThan(Number(p.raw_chars_count));
  }, 120_000);

  // use_ftfy: true on text that ftfy 6.1.1 (the writer's pin) changes: llavac's runtime/text/ftfy.ts.
  it.each(["p1_ftfy", "p2_ftfy"])(
    "%s: text ftfy changes (curly quotes, ligatures, mojibake, entities, full width, C1 controls, U+FEFF, CRLF, NFD) as the writer fixes it",
    async (set) => {
      const want = expected(set);
      expect(want.exit_code).toBe(0);
      expect(want.hf_equals_sentencepiece.differ).toEqual([]);
      const run = await dataHdf5(set);
      expect(run.status, run.stderr).toBe(0);
      compareFiles(set, digest(run.out), want.files);
      compareParams(set, run.params, want.data_params!);
    },
    120_000,
  );
});

describe("detokenized_bytes/chars decode the rows as Hugging Face does", () => {
  // Outputs of transformers 5.18's LlamaTokenizer.decode on the same tokenizer.model (recorded once).
  it.each([
    [[450, 4799, 2], "The air</s>"],
    [[1, 29871, 243, 162, 155, 131, 2, 0, 0], "<s> \u{1F600}</s><unk><unk>"],
    [[1, 243, 162, 450, 2], "<s>\ufffd\ufffd The</s>"],
    [[29871, 29871, 13, 450], " \n The"],
    [[0, 1, 2, 30143, 13], "<unk><s></s>\ufeff\n"],
  ])(
    "%j → %j: special tokens as text, byte runs fused (an invalid run is one U+FFFD per byte), one leading space dropped",
    async (ids, text) => {
      const tok = await loadTokenizer({ kind: "llama2" });
      expect(tok.decodeLikeHf(ids)).toBe(text);
    },
  );
});

describe("where the Cerebras writer stops or keeps a bad sample, llavac does better (excluded from the equality)", () => {
  // Each set holds one good sample, then the one the writer stops on: its run ends with no HDF5 file.
  it.each([
    ["crash_p1_too_long", "AssertionError: Wrong sequence length", [[2, "too_long"]], 1],
    ["crash_p2_odd_turns", "AssertionError: We assume that every prompt has a response", [[2, "odd_turns"]], 1],
    ["crash_p2_text_only_without_model_key", "AssertionError", [], 2],
    ["crash_p2_bare_image_prompt", "AssertionError: Wrong sequence length", [], 2],
  ] as const)(
    "%s: the writer stops (%s); llavac finishes",
    async (set, error, skips, kept) => {
      const want = expected(set);
      expect(want.exit_code).not.toBe(0);
      expect(want.error).toBe(error);
      expect(want.files).toEqual([]);
      const run = await dataHdf5(set);
      expect(run.status, run.stderr).toBe(0);
      expect(run.skipped.map((s) => [s.line, s.reason])).toEqual(skips);
      expect(run.params["post-process"]!.n_examples).toBe(kept);
    },
    120_000,
  );

  it("differs_p2: the writer trains gpt-first and human/human turns as given and removes a second <image> or keeps one in a text-only sample; llavac skips each with its reason", async () => {
    const want = expected("differs_p2");
    expect(want.data_params!["post-process"]!.n_examples).toBe(4);
    const run = await dataHdf5("differs_p2");
    expect(run.status, run.stderr).toBe(0);
    expect(run.skipped.map((s) => [s.id, s.reason])).toEqual([
      ["d-01", "role_order"],
      ["d-02", "image_token_count"],
      ["d-03", "image_token_count"],
      ["d-04", "role_order"],
    ]);
    expect(run.params["post-process"]).toMatchObject({ n_examples: 0, processed_files: 4, discarded_files: 4 });
  }, 120_000);
});
