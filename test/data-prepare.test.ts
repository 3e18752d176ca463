// `llavac data prepare`: every converter on fixtures in its dataset's upstream layout.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prepare, PrepareError, type ConverterKind } from "../runtime/data/sources/index.js";
import { SYNTHDOG_PROMPTS } from "../runtime/data/sources/parquet.js";
import { ROOT } from "./helpers.js";

const FIX = path.join(ROOT, "examples/data-fixtures/root");
const tmp = () => mkdtempSync(path.join(tmpdir(), "llavac-prepare-"));
const lines = (file: string) =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));

async function run(kind: ConverterKind, input: string, extra: Record<string, unknown> = {}) {
  const out = tmp();
  const summary = await prepare(kind, { input: path.join(FIX, input), out, seed: 0, images: path.join(out, "images"), ...extra });
  const skipped = Object.fromEntries(Object.entries(summary.skipped).map(([k, v]) => [k, v.count]));
  return { out, summary, skipped, records: summary.files.flatMap((f) => lines(f.path)) };
}

describe("prepare: each dataset kind", () => {
  it("chartqa: one record per question, images under ChartQA_Dataset/<split>/png; a question without a label is skipped", async () => {
    const r = await run("chartqa", "ChartQA_Dataset");
    expect(r.summary.files.map((f) => path.basename(f.path))).toEqual(["chartqa_train_augmented.jsonl", "chartqa_train_human.jsonl"]);
    expect(r.summary.kept).toBe(3);
    expect(r.skipped).toEqual({ incomplete_item: 1 });
    expect(r.records[1]).toEqual({
      id: "chartqa_train_human_0",
      image: "ChartQA_Dataset/train/png/train_1.png",
      conversations: [
        { from: "human", value: "<image>\nWhich bar is the tallest?" },
        { from: "gpt", value: "The middle one" },
      ],
    });
    const all = await run("chartqa", "ChartQA_Dataset", { splits: ["all"] });
    expect(all.summary.kept).toBe(9);
    await expect(run("chartqa", "ChartQA_Dataset", { splits: ["dev"] })).rejects.toThrow(/unknown split dev/);
  });

  it("dvqa", async () => {
    const r = await run("dvqa", "DVQA");
    expect([r.summary.kept, r.skipped]).toEqual([2, { incomplete_item: 1 }]);
    expect(r.records[0]).toMatchObject({ id: "100001", image: "DVQA/images/bar_train_00000001.png" });
  });

  it("ai2d: every option labelled, the answer is the labelled correct option; a bad index is skipped", async () => {
    const r = await run("ai2d", "ai2d");
    expect([r.summary.kept, r.skipped]).toEqual([2, { bad_answer: 1 }]);
    expect(r.records[0].conversations).toEqual([
      { from: "human", value: "<image>\nWhich stage comes after the egg? a) larva b) adult c) pupa d) egg" },
      { from: "gpt", value: "a) larva" },
    ]);
  });

  it("sp_docvqa and infographics_docvqa: first answer; questions without answers are skipped", async () => {
    const sp = await run("sp_docvqa", "DocVQA/sp_docvqa");
    expect([sp.summary.kept, sp.skipped]).toEqual([1, { no_answer: 1 }]);
    expect(sp.records[0]).toMatchObject({
      id: "337",
      image: "DocVQA/sp_docvqa/images/xnbl0037_1.png",
      conversations: [{}, { value: "1/8/93" }],
    });
    const info = await run("infographics_docvqa", "DocVQA/Infographicsvqa", { splits: ["train", "val"] });
    expect(info.summary.kept).toBe(2);
    expect(info.records[0]).toMatchObject({ image: "DocVQA/Infographicsvqa/images/10002.jpeg" });
  });

  it("arxivqa: the lettered option with its rationale, or the label text; malformed lines are reported with file:line", async () => {
    const r = await run("arxivqa", "ArxivQA");
    expect([r.summary.kept, r.skipped]).toEqual([2, { bad_answer: 1, malformed_json: 1 }]);
    expect(r.records.map((x) => x.conversations[1].value)).toEqual([
      "A) a rising curve The curve increases with x.",
      "neither Both axes are linear.",
    ]);
    expect(r.summary.skipped.malformed_json!.examples[0]).toMatch(/arxivqa\.jsonl:4: /);
  });

  it("synthdog_en: parquet with embedded images → image files + records with a seeded prompt; unique ids", async () => {
    const r = await run("synthdog_en", "synthdog-en");
    expect([r.summary.kept, r.skipped, r.summary.imagesWritten]).toEqual([2, { bad_ground_truth: 1 }, 2]);
    expect(r.records.map((x) => x.id)).toEqual(["train-00000-0000000", "train-00000-0000001"]);
    // The Python-literal ground truth (single quotes) is read without eval.
    expect(r.records[1].conversations[1].value).toBe("Pack my box with five dozen liquor jugs.");
    for (const rec of r.records) {
      expect(SYNTHDOG_PROMPTS).toContain(rec.conversations[0].value.replace("<image>\n", ""));
      const img = path.join(r.out, "images", rec.image);
      expect(readFileSync(img).subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    }
    const again = await run("synthdog_en", "synthdog-en");
    expect(again.records).toEqual(r.records);
    const prompts = async (seed: number) =>
      (await run("synthdog_en", "synthdog-en", { seed, splits: ["all"] })).records.map((x) => x.conversations[0].value);
    const seeds = await Promise.all([1, 2, 3, 4, 5].map(prompts));
    expect(new Set(seeds.map((s) => s.join("|"))).size).toBeGreaterThan(1);
  });

  it("arxivcap: single-image figures only, one object per line (not a JSON array per line); unsafe paths rejected", async () => {
    const r = await run("arxivcap", "ArxivCap");
    expect([r.summary.kept, r.skipped]).toEqual([1, { multi_image_figure: 1, unsafe_image_path: 1 }]);
    const file = r.summary.files[0]!.path;
    expect(file.endsWith(".jsonl")).toBe(true);
    expect(readFileSync(file, "utf8").startsWith("{")).toBe(true);
    expect(r.records[0]).toMatchObject({ id: "2310.00001/fig1", image: "ArxivCap/2310.00001/fig1.jpg" });
    expect(existsSync(path.join(r.out, "images/ArxivCap/2310.00001/fig1.jpg"))).toBe(true);
    expect(existsSync(path.join(r.out, "escape.jpg"))).toBe(false);
    expect(readdirSync(r.out).sort()).toEqual(["arxivcap_arXiv_src_2310_001.jsonl", "images"]);
  });

  it("json2jsonl: streams a JSON array into one record per line, keeping every field; --image-prefix moves images under the shared root", async () => {
    const r = await run("json2jsonl", "llava/llava_v1_5_mix_sample.json", { imagePrefix: "llava" });
    expect(r.summary.kept).toBe(5);
    expect(r.records[2]).toEqual({ id: "i6IyJda_0", model: "", conversations: expect.any(Array) });
    expect(r.records[0].image).toBe("llava/coco/train2017/000000000030.jpg");
  });

  it("a missing input is a clear error, and nothing is written", async () => {
    const out = tmp();
    await expect(prepare("dvqa", { input: path.join(FIX, "nope"), out, seed: 0 })).rejects.toBeInstanceOf(PrepareError);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe("fixtures", () => {
  it("scripts/make-fixtures.mjs regenerates the committed fixtures byte for byte", () => {
    const out = tmp();
    execFileSync(process.execPath, [path.join(ROOT, "scripts/make-fixtures.mjs"), out], { stdio: "ignore" });
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    const committed = walk(path.join(ROOT, "examples/data-fixtures"))
      .map((f) => path.relative(path.join(ROOT, "examples/data-fixtures"), f))
      .sort();
    expect(
      walk(out)
        .map((f) => path.relative(out, f))
        .sort(),
    ).toEqual(committed);
    for (const f of committed)
      expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(ROOT, "examples/data-fixtures", f))), f).toBe(true);
  });
});

describe("prepare: failures are reported, and nothing partial is left", () => {
  const BIN = path.join(ROOT, "bin/llavac.js");
  const bigArray = (dir: string, n: number) => {
    const file = path.join(dir, "big.json");
    writeFileSync(
      file,
      JSON.stringify(
        Array.from({ length: n }, (_, i) => ({
          id: `r${i}`,
          image: "a.jpg",
          conversations: [
            { from: "human", value: "<image>\nDescribe the picture in detail, please." },
            { from: "gpt", value: `Picture number ${i} shows a scene with several objects.` },
          ],
        })),
      ),
    );
    return file;
  };
  const leftovers = (dir: string) =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => /\.tmp-\d+$/.test(f) || f.endsWith(".jsonl"));

  it("a write that fails mid-way (file size limit, as on a full disk): exit 1 naming the file, no output, no temporary file", () => {
    const dir = tmp(),
      out = path.join(dir, "out");
    const input = bigArray(dir, 3000);
    // `trap '' XFSZ` makes writes past the limit fail with EFBIG instead of killing the process.
    const r = spawnSync(
      "bash",
      ["-c", `trap '' XFSZ; ulimit -f 64; exec "${process.execPath}" "${BIN}" data prepare json2jsonl --input "${input}" --out "${out}"`],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot write .*big\.jsonl/);
    expect(r.stderr).not.toMatch(/malformed_json|internal error/);
    expect(leftovers(out)).toEqual([]);
  });

  it("an output folder that cannot be created: exit 1 naming the path (not malformed_json, not exit 0)", () => {
    const dir = tmp();
    writeFileSync(path.join(dir, "a-file"), "");
    const r = spawnSync(
      process.execPath,
      [BIN, "data", "prepare", "json2jsonl", "--input", bigArray(dir, 3), "--out", path.join(dir, "a-file", "out")],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`cannot write ${path.join(dir, "a-file", "out")}`);
  });

  it("every input skipped: exit 1 with the reasons, never a silent success", () => {
    const dir = tmp();
    const input = path.join(dir, "bad.json");
    writeFileSync(input, JSON.stringify([{ id: "x" }, { id: "y", conversations: "not a list" }]));
    const r = spawnSync(process.execPath, [BIN, "data", "prepare", "json2jsonl", "--input", input, "--out", path.join(dir, "out")], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/nothing was written: all inputs were skipped/);
  });

  it("temporary files of a killed run (a dead process id) are removed; a live process's are left alone", async () => {
    const out = tmp();
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    writeFileSync(path.join(out, `llava_v1_5_mix_sample.jsonl.tmp-${dead}`), "half a line");
    writeFileSync(path.join(out, `other.jsonl.tmp-${process.ppid}`), "someone else's");
    await prepare("json2jsonl", { input: path.join(FIX, "llava/llava_v1_5_mix_sample.json"), out, seed: 0 });
    expect(readdirSync(out).sort()).toEqual(["llava_v1_5_mix_sample.jsonl", `other.jsonl.tmp-${process.ppid}`]);
  });
});
