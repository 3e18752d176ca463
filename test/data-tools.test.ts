// `llavac data shuffle`, `inspect` and `verify`.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import h5wasm from "h5wasm/node";
import { describe, expect, it } from "vitest";
import { h5Ready, openSampleFile, withFixedClock } from "../runtime/data/hdf5.js";
import { runHdf5Job } from "../runtime/data/hdf5-job.js";
import { renderHtml, renderTerminal, viewSample } from "../runtime/data/inspect.js";
import { shuffle } from "../runtime/data/shuffle.js";
import { verify } from "../runtime/data/verify.js";
import { loadTokenizer } from "../runtime/text/tokenizer.js";
import { jobConfig, sample, tempDir, writeImage, writeLines } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

async function written(n: number) {
  const dir = tempDir();
  for (let i = 0; i < 5; i++) await writeImage(path.join(dir, `images/${i}.jpg`));
  writeLines(
    path.join(dir, "jsonl/a.jsonl"),
    Array.from({ length: n }, (_, i) =>
      sample(`s${i}`, i % 4 === 3 ? undefined : `${i % 5}.jpg`, `Where is item ${i}?`, `Item ${i} is <here> & there.`),
    ),
  );
  await runHdf5Job(jobConfig(dir, { filesPerRecord: 7 }));
  return dir;
}

/** Every sample as "image path | rows", to compare sets of samples across files. */
function samples(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith(".h5"))
    .sort()) {
    const s = openSampleFile(path.join(dir, f));
    for (let i = 0; i < s.n; i++)
      out.push(
        `${s.imagePath(i) ?? "None"}|${s
          .rows(i)
          .map((r) => r.join(","))
          .join(";")}`,
      );
    s.close();
  }
  return out;
}

describe("shuffle", () => {
  it("keeps every sample with its own image path, spreads them over data-0000N.h5, and is seeded", async () => {
    await h5Ready();
    const dir = await written(30);
    const before = samples(path.join(dir, "h5"));
    const r = await shuffle({ input: path.join(dir, "h5"), out: path.join(dir, "s1"), chunks: 3, seed: 7 });
    expect(r.samples).toBe(30);
    expect(readdirSync(path.join(dir, "s1")).filter((f) => f.endsWith(".h5"))).toEqual(["data-00000.h5", "data-00001.h5", "data-00002.h5"]);
    const after = samples(path.join(dir, "s1"));
    expect([...after].sort()).toEqual([...before].sort()); // same samples, rows and paths still paired
    expect(after).not.toEqual(before); // in another order
    await shuffle({ input: path.join(dir, "h5"), out: path.join(dir, "s2"), chunks: 3, seed: 7 });
    for (const f of ["data-00000.h5", "data-00001.h5", "data-00002.h5"])
      expect(readFileSync(path.join(dir, "s2", f)).equals(readFileSync(path.join(dir, "s1", f)))).toBe(true);
    await shuffle({ input: path.join(dir, "h5"), out: path.join(dir, "s3"), chunks: 3, seed: 8 });
    expect(samples(path.join(dir, "s3"))).not.toEqual(after);
    const params = JSON.parse(readFileSync(path.join(dir, "s1/data_params.json"), "utf8"));
    expect(params.shuffle).toMatchObject({ chunks: 3, seed: 7, samples: 30 });
    expect(params.image_patch_info.image_patch_start_idx).toBe(35);
  });
});

describe("inspect", () => {
  it("decodes a sample and marks image slots, loss and masks; the HTML escapes the text", async () => {
    const dir = await written(4);
    const tok = await loadTokenizer({ kind: "llama2" });
    const f = openSampleFile(path.join(dir, "h5/examples_0_0.h5"));
    const plainAnsi = {
      green: (s: string) => `<g>${s}</g>`,
      dim: (s: string) => s,
      cyan: (s: string) => s,
      magenta: (s: string) => `<m>${s}</m>`,
      bold: (s: string) => s,
      strikethrough: (s: string) => `<x>${s}</x>`,
    };
    const v = viewSample(f, 1, tok, 35, 16);
    expect(v.counts).toMatchObject({ imageSlots: 16, padding: 128 - v.length });
    const text = renderTerminal(v, plainAnsi);
    expect(text).toContain("image: 1.jpg");
    expect(text).toContain("A chat between a curious user");
    expect(text).toContain("[16 image slots 35–50]");
    expect(text).toContain("ASSISTANT<g>[[: Item 1 is <here> & there.]]</g>"); // loss starts at the last token of "ASSISTANT:"
    // Without colour the markers still say what carries loss.
    const none = (s: string) => s;
    const bare = renderTerminal(v, { green: none, dim: none, cyan: none, magenta: none, bold: none, strikethrough: none });
    expect(bare).toContain("ASSISTANT[[: Item 1 is <here> & there.]]");
    expect(bare).not.toMatch(/\[\[[^\]]*USER/); // the prompt carries none
    const textOnly = renderTerminal(viewSample(f, 3, tok, 35, 16), plainAnsi);
    expect(textOnly).toContain("<m>[16 image slots 35–50]</m>");
    const html = renderHtml([v]);
    expect(html).toContain("&lt;");
    expect(html).toContain("&amp;");
    expect(html).not.toContain("<here>");
    expect(html).toMatch(/class="slot"/);
    f.close();
  });
});

describe("verify", () => {
  it("passes what llavac wrote, images included", async () => {
    const dir = await written(10);
    const r = await verify({
      dir: path.join(dir, "h5"),
      vocabSize: 32000,
      padId: 0,
      images: path.join(dir, "images"),
      imageStart: 35,
      numPatches: 16,
    });
    expect([r.files, r.samples, r.problems]).toEqual([2, 10, []]);
  });

  it("finds broken files: no img_path, wrong n_examples, ids out of range, shifted labels, missing images", async () => {
    await h5Ready();
    const dir = await written(3);
    const good = openSampleFile(path.join(dir, "h5/examples_0_0.h5"));
    const rows = good.block(0, good.n);
    const msl = good.msl;
    good.close();
    const bad = (name: string, edit: (data: Int32Array) => void, opts: { imgPath?: boolean; n?: number } = {}) =>
      withFixedClock(() => {
        const data = rows.slice();
        edit(data);
        const f = new h5wasm.File(path.join(dir, "bad", name), "w");
        f.create_dataset({ name: "data", data, shape: [3, 4, msl], dtype: "<i4", chunks: [1, 4, msl], compression: "gzip" });
        if (opts.imgPath !== false)
          f.create_dataset({ name: "img_path", data: ["0.jpg", "gone.jpg", "2.jpg"], shape: [3, 1], dtype: "S8" });
        f.create_attribute("n_examples", opts.n ?? 3);
        f.close();
      });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(path.join(dir, "bad"));
    bad("a.h5", () => {}, { imgPath: false });
    bad("b.h5", () => {}, { n: 5 });
    bad("c.h5", (d) => {
      d[10] = 40000;
    });
    bad("d.h5", (d) => {
      d[2 * msl + 3] = 99;
    });
    const r = await verify({ dir: path.join(dir, "bad"), vocabSize: 32000, padId: 0, images: path.join(dir, "images") });
    // c.h5's out-of-range input id also breaks its labels row, so labels is counted twice.
    expect(r.counts).toEqual({ missing_dataset: 1, n_examples: 1, vocab_range: 1, labels: 2, missing_image: 3 });
    expect(r.problems.find((p) => p.kind === "labels" && p.file === "d.h5")).toMatchObject({
      file: "d.h5",
      sample: 0,
      message: "labels[3] = 99 but input[4] = " + rows[4],
    });
    expect(r.problems.find((p) => p.kind === "missing_image")).toMatchObject({ message: expect.stringMatching(/gone\.jpg not found/) });
  });
});

describe("verify: broken files are findings, never a crash", () => {
  const BIN = path.join(ROOT, "bin/llavac.js");
  const run = (dir: string, ...extra: string[]) =>
    spawnSync(process.execPath, [BIN, "data", "verify", dir, ...extra], { encoding: "utf8" });

  it("empty, non-HDF5 and truncated .h5 files: one finding each with the file, exit 1, no HDF5 library noise", async () => {
    const dir = await written(20);
    const h5 = path.join(dir, "h5");
    writeFileSync(path.join(h5, "empty.h5"), "");
    writeFileSync(path.join(h5, "text.h5"), "not hdf5 at all\n");
    const whole = readFileSync(path.join(h5, "examples_0_0.h5"));
    writeFileSync(path.join(h5, "truncated.h5"), whole.subarray(0, whole.length >> 1));
    const r = run(h5);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain("empty.h5: [unreadable]");
    expect(r.stdout).toMatch(/text\.h5: \[unreadable\].*not an HDF5 file/);
    expect(r.stdout).toMatch(/truncated\.h5: \[unreadable\].*truncated: \d+ bytes, the HDF5 superblock says \d+/);
    expect(r.stderr).not.toMatch(/HDF5-DIAG|internal error/);
    const ok = run(path.join(dir, "h5-ok"));
    expect(ok.status).toBe(2); // a folder that does not exist is a usage error
  });

  it("data_params.json: garbage and missing are findings (exit 1); a whole folder passes (exit 0)", async () => {
    const dir = await written(10);
    const h5 = path.join(dir, "h5");
    expect(run(h5).status).toBe(0);
    writeFileSync(path.join(h5, "data_params.json"), "{garbage");
    const garbage = run(h5);
    expect(garbage.status, garbage.stderr).toBe(1);
    expect(garbage.stdout).toMatch(/data_params\.json: \[data_params\] is not valid JSON/);
    rmSync(path.join(h5, "data_params.json"));
    const missing = run(h5);
    expect(missing.status, missing.stderr).toBe(1);
    expect(missing.stdout).toMatch(/\[data_params\] missing/);
  });

  it("--images: a truncated image is found by a full decode", async () => {
    const dir = await written(10);
    const img = readFileSync(path.join(dir, "images/1.jpg"));
    writeFileSync(path.join(dir, "images/1.jpg"), img.subarray(0, img.length >> 1));
    const r = run(path.join(dir, "h5"), "--images", path.join(dir, "images"));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/\[bad_image\] 1\.jpg cannot be decoded/);
  });
});
