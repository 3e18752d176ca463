// `llavac data hdf5`: the Cerebras file layout, what is skipped and why, and agreement with the compiler.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { hdf5JobConfig, phaseFor } from "../compiler/data-job.js";
import { compile } from "../compiler/compile.js";
import { h5Ready, openSampleFile } from "../runtime/data/hdf5.js";
import { Hdf5JobError, runHdf5Job } from "../runtime/data/hdf5-job.js";
import { layoutConversation } from "../runtime/text/layout.js";
import { loadTokenizer } from "../runtime/text/tokenizer.js";
import { jobConfig, sample, tempDir, VICUNA, writeImage, writeLines } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

async function dataset(n: number, opts: { textOnlyEvery?: number } = {}) {
  const dir = tempDir();
  await writeImage(path.join(dir, "images/a.jpg"));
  await writeImage(path.join(dir, "images/sub/b.jpg"), "#cc3366");
  const lines = Array.from({ length: n }, (_, i) =>
    sample(
      `s${i}`,
      opts.textOnlyEvery && i % opts.textOnlyEvery === 0 ? undefined : i % 2 ? "sub/b.jpg" : "a.jpg",
      `Question ${i}?`,
      `Answer number ${i}.`,
    ),
  );
  writeLines(path.join(dir, "jsonl/part.jsonl"), lines);
  return dir;
}

describe("hdf5: the Cerebras reader's layout", () => {
  it("examples_<file>_<worker>.h5 of files_per_record samples, int32 (n, 4, MSL) rows, img_path bytes or None, n_examples", async () => {
    await h5Ready();
    const dir = await dataset(10, { textOnlyEvery: 5 });
    const r = await runHdf5Job(jobConfig(dir));
    expect(r.files).toEqual(["examples_0_0.h5", "examples_1_0.h5", "examples_2_0.h5"]);
    expect([r.stats.kept, r.stats.withImage, r.stats.textOnly]).toEqual([10, 8, 2]);
    const f = openSampleFile(path.join(dir, "h5/examples_0_0.h5"));
    const info = f.info();
    expect(info).toMatchObject({
      dtype: { kind: "int", size: 4, signed: true },
      shape: [4, 4, 128],
      chunks: [1, 4, 128],
      filters: ["deflate"],
      pathShape: [4, 1],
      nExamples: 4,
    });
    expect(f.imagePaths()).toEqual([undefined, "sub/b.jpg", "a.jpg", "sub/b.jpg"]);
    // The rows are exactly the layout of the conversation.
    const tok = await loadTokenizer({ kind: "llama2" });
    const want = layoutConversation(
      tok,
      VICUNA,
      [
        { from: "human", value: "<image>\nQuestion 1?" },
        { from: "gpt", value: "Answer number 1." },
      ],
      true,
      { numPatches: 16, msl: 128 },
    );
    if (!want.ok) throw new Error();
    expect(f.rows(1).map((x) => [...x])).toEqual(want.rows.map((x) => [...x]));
    f.close();
    const last = openSampleFile(path.join(dir, "h5/examples_2_0.h5"));
    expect(last.n).toBe(2); // the remainder
    last.close();
  });

  it("data_params.json carries the preprocessing sections, the statistics and image_patch_start_idx", async () => {
    const dir = await dataset(6);
    const r = await runHdf5Job(
      jobConfig(dir, { params: { setup: { input_dir: "x" }, processing: { max_seq_length: 128 }, dataset: { num_patches: 16 } } }),
    );
    const p = JSON.parse(readFileSync(path.join(dir, "h5/data_params.json"), "utf8"));
    expect(Object.keys(p)).toEqual(["dataset", "h5_dataset_stats", "image_patch_info", "llavac", "post-process", "processing", "setup"]);
    expect(p.image_patch_info).toEqual({ image_patch_start_idx: 35, num_patches: 16 });
    expect(p["post-process"]).toMatchObject({
      n_examples: 6,
      successful_files: 6,
      discarded_files: 0,
      processed_files: 6,
      eos_id: 2,
      pad_id: 0,
      vocab_size: 32000,
    });
    expect(p.h5_dataset_stats).toMatchObject({ num_sequences: 6, num_tokens: 6 * 128, loss_valid_tokens: r.stats.lossValidTokens });
    expect(r.stats.lossValidTokens).toBeGreaterThan(6);
  });

  it("image_patch_start_idx in data_params.json equals the compiler's image_start_idx, for both templates", async () => {
    const dir = await dataset(3);
    const spec = `import { tiny_vit } from "std/vision"
import { tiny_llama } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { plain, vicuna_v1 } from "std/templates"
model m { vision = tiny_vit, projector = mlp2x_gelu, language = tiny_llama { max_position_embeddings: 256 } }
dataset d { format: llava_jsonl, samples: 3, jsonl: "jsonl" }
phase one { model = m, data = d, template = plain, images = "images", hdf5 = "h5s1", preprocess = hdf5_writer { output: "h5_one" },
  freeze = [/^image_model/, /^text_model/], batch = 1 per step, optimizer = adamw { lr: 1e-3 }, schedule = warmup_cosine {} }
phase two { model = m, data = d, template = vicuna_v1, images = "images", hdf5 = "h5s2", preprocess = hdf5_writer { output: "h5_two" },
  freeze = [/^image_model/], batch = 1 per step, optimizer = adamw { lr: 1e-3 }, schedule = warmup_cosine {} }
`;
    writeFileSync(path.join(dir, "spec.llava"), spec);
    const result = await compile(path.join(dir, "spec.llava"), { cwd: dir, env: {} });
    expect(result.diags.errorCount).toBe(0);
    for (const [name, want] of [
      ["one", 1],
      ["two", 35],
    ] as const) {
      const phase = phaseFor(result, name);
      expect(phase.derived.imageStartIdx).toBe(want);
      const cfg = hdf5JobConfig(result, phase, { workers: 0, force: false, checkImages: true });
      const r = await runHdf5Job(cfg);
      const p = JSON.parse(readFileSync(path.join(cfg.out, "data_params.json"), "utf8"));
      expect(p.image_patch_info.image_patch_start_idx).toBe(phase.derived.imageStartIdx);
      expect(r.stats.imageStart).toBe(want);
      expect(p.dataset.num_patches).toBe(16);
      expect(p.processing.max_seq_length).toBe(256);
    }
  });
});

describe("hdf5: bad input is skipped with a reason and counted, never a crash", () => {
  it("each bad sample kind: its count and reason, and --report lists file:line", async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, "images/ok.jpg"));
    writeFileSync(path.join(dir, "images/broken.jpg"), "this is not a jpeg");
    const long = "word ".repeat(200);
    const lines = [
      sample("good", "ok.jpg", "Q?", "A."), // 1
      sample("too_long", "ok.jpg", "Q?", long), // 2
      JSON.stringify({ id: "odd", image: "ok.jpg", conversations: [{ from: "human", value: "<image>\nQ?" }] }), // 3
      sample("missing", "nope.jpg", "Q?", "A."), // 4
      sample("undecodable", "broken.jpg", "Q?", "A."), // 5
      '{"id": "malformed", "conversations": [', // 6
      sample("escape", "../outside.jpg", "Q?", "A."), // 7
      sample("absolute", "/etc/passwd", "Q?", "A."), // 8
      JSON.stringify({ id: "no_conversations", image: "ok.jpg" }), // 9
      JSON.stringify([{ id: "array" }]), // 10
      sample("text_only", undefined, "Q?", "A."), // 11
    ];
    writeLines(path.join(dir, "jsonl/in.jsonl"), lines);
    const report = path.join(dir, "skipped.jsonl");
    const r = await runHdf5Job(jobConfig(dir), { report });
    expect(r.stats.kept).toBe(2);
    expect(r.stats.processed).toBe(11);
    expect(r.stats.skipped).toEqual({
      bad_image: 1,
      invalid_record: 2,
      malformed_json: 1,
      missing_image: 1,
      odd_turns: 1,
      too_long: 1,
      unsafe_image_path: 2,
    });
    const entries = readFileSync(report, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entries.map((e) => [path.basename(e.file), e.line, e.reason])).toEqual([
      ["in.jsonl", 2, "too_long"],
      ["in.jsonl", 3, "odd_turns"],
      ["in.jsonl", 4, "missing_image"],
      ["in.jsonl", 5, "bad_image"],
      ["in.jsonl", 6, "malformed_json"],
      ["in.jsonl", 7, "unsafe_image_path"],
      ["in.jsonl", 8, "unsafe_image_path"],
      ["in.jsonl", 9, "invalid_record"],
      ["in.jsonl", 10, "invalid_record"],
    ]);
    expect(entries[0].detail).toMatch(/the limit is 128/);
    expect(existsSync(path.join(dir, "outside.jpg"))).toBe(false);
    const p = JSON.parse(readFileSync(path.join(dir, "h5/data_params.json"), "utf8"));
    expect(p["post-process"].discarded_files).toBe(9);
    expect(p.llavac.skipped).toEqual(r.stats.skipped);
  });

  it("bad roles, role order, <image> counts, invalid UTF-8, truncated images and symlinks out of the image root: each skipped with its reason and line", async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, "images/ok.jpg"));
    const full = await sharp(Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7919) % 251)), {
      raw: { width: 64, height: 48, channels: 3 },
    })
      .png()
      .toBuffer();
    writeFileSync(path.join(dir, "images/truncated.png"), full.subarray(0, full.length >> 1));
    await writeImage(path.join(dir, "secret/outside.jpg"));
    symlinkSync(path.join(dir, "secret/outside.jpg"), path.join(dir, "images/link.jpg"));
    const turns = (...t: [string, string][]) => t.map(([from, value]) => ({ from, value }));
    const rec = (id: string, image: string | undefined, conversations: { from: string; value: string }[]) =>
      JSON.stringify({ id, ...(image ? { image } : {}), conversations });
    const lines = [
      sample("good", "ok.jpg", "Q?", "A."), // 1
      rec("human_human", "ok.jpg", turns(["human", "<image>\nQ?"], ["human", "A."])), // 2
      rec("gpt_first", "ok.jpg", turns(["gpt", "<image>\nQ?"], ["human", "A."])), // 3
      rec("unknown_role", "ok.jpg", turns(["human", "<image>\nQ?"], ["bot", "A."])), // 4
      rec("two_images", "ok.jpg", turns(["human", "<image>\nQ?"], ["gpt", "A."], ["human", "<image> again?"], ["gpt", "B."])), // 5
      rec("text_with_image_token", undefined, turns(["human", "<image>\nQ?"], ["gpt", "A."])), // 6
      "INVALID_UTF8", // 7
      sample("truncated", "truncated.png", "Q?", "A."), // 8
      sample("symlink", "link.jpg", "Q?", "A."), // 9
      rec("user_assistant", "ok.jpg", turns(["user", "<image>\nQ?"], ["assistant", "A."])), // 10
    ];
    mkdirSync(path.join(dir, "jsonl"), { recursive: true });
    const bytes = Buffer.from(lines.join("\n") + "\n");
    const at = bytes.indexOf("INVALID_UTF8");
    writeFileSync(
      path.join(dir, "jsonl/in.jsonl"),
      Buffer.concat([bytes.subarray(0, at), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), bytes.subarray(at + "INVALID_UTF8".length)]),
    );
    const report = path.join(dir, "skipped.jsonl");
    const r = await runHdf5Job(jobConfig(dir), { report });
    expect(r.stats.kept).toBe(2);
    expect(r.stats.skipped).toEqual({
      bad_image: 1,
      bad_role: 1,
      image_token_count: 2,
      invalid_utf8: 1,
      role_order: 2,
      unsafe_image_path: 1,
    });
    const entries = readFileSync(report, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.line, e.reason])).toEqual([
      [2, "role_order"],
      [3, "role_order"],
      [4, "bad_role"],
      [5, "image_token_count"],
      [6, "image_token_count"],
      [7, "invalid_utf8"],
      [8, "bad_image"],
      [9, "unsafe_image_path"],
    ]);
    expect(entries.find((e) => e.line === 9).detail).toMatch(/symlink/);
  });

  it("over-length samples are truncated instead when the spec asks", async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, "images/ok.jpg"));
    writeLines(path.join(dir, "jsonl/in.jsonl"), [sample("too_long", "ok.jpg", "Q?", "word ".repeat(200))]);
    const r = await runHdf5Job(jobConfig(dir, { overLength: "truncate" }));
    expect([r.stats.kept, r.stats.skipped]).toEqual([1, {}]);
    const f = openSampleFile(path.join(dir, "h5/examples_0_0.h5"));
    expect(f.rows(0)[3]!.every((x) => x === 0)).toBe(true); // every position attended: nothing is padding
    f.close();
  });
});

describe("hdf5: runs and reruns", () => {
  it("worker threads and in-process workers write the same bytes", async () => {
    // 600 lines are three batches of 256: batches 0 and 2 go to worker 0, batch 1 to worker 1.
    const dir = await dataset(600, { textOnlyEvery: 7 });
    const a = await runHdf5Job(jobConfig(dir, { workers: 2, inline: true, filesPerRecord: 100, out: path.join(dir, "inline") }));
    const b = await runHdf5Job(jobConfig(dir, { workers: 2, filesPerRecord: 100, out: path.join(dir, "threads") }));
    expect(a.files).toEqual([
      "examples_0_0.h5",
      "examples_1_0.h5",
      "examples_2_0.h5",
      "examples_3_0.h5",
      "examples_0_1.h5",
      "examples_1_1.h5",
      "examples_2_1.h5",
    ]);
    expect(b.files).toEqual(a.files);
    for (const f of a.files)
      expect(readFileSync(path.join(dir, "threads", f)).equals(readFileSync(path.join(dir, "inline", f))), f).toBe(true);
    expect(readFileSync(path.join(dir, "threads/data_params.json"), "utf8").replace(/threads/g, "X")).toBe(
      readFileSync(path.join(dir, "inline/data_params.json"), "utf8").replace(/inline/g, "X"),
    );
  });

  it("a finished run is not redone; another run's output is not overwritten without --force", async () => {
    const dir = await dataset(5);
    await runHdf5Job(jobConfig(dir));
    const again = await runHdf5Job(jobConfig(dir));
    expect(again.alreadyComplete).toBe(true);
    await expect(runHdf5Job(jobConfig(dir, { msl: 256 }))).rejects.toBeInstanceOf(Hdf5JobError);
    const forced = await runHdf5Job(jobConfig(dir, { msl: 256, force: true }));
    expect(forced.alreadyComplete).toBe(false);
    expect(readdirSync(path.join(dir, "h5")).filter((f) => f.endsWith(".h5")).length).toBe(2);
  });

  it("inputs are recognised by content: the same data written again is the same job, changed data is not", async () => {
    const dir = await dataset(5);
    await runHdf5Job(jobConfig(dir));
    const jsonl = readdirSync(path.join(dir, "jsonl")).map((f) => path.join(dir, "jsonl", f))[0]!;
    const text = readFileSync(jsonl, "utf8");
    writeFileSync(jsonl, text); // a new modification time, the same bytes
    utimesSync(jsonl, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    expect((await runHdf5Job(jobConfig(dir))).alreadyComplete).toBe(true);
    writeFileSync(jsonl, text.replace("Answer number 0.", "Answer number zero."));
    await expect(runHdf5Job(jobConfig(dir))).rejects.toThrow(/from a run with other inputs or settings/);
  });
});

describe("hdf5: the demo spec reads its inputs, template and image root from the spec", () => {
  it("phaseFor and hdf5JobConfig resolve the demo's finetune phase", async () => {
    const result = await compile(path.join(ROOT, "examples/data-demo/demo.llava"), { cwd: ROOT, env: {} });
    const cfg = hdf5JobConfig(result, phaseFor(result, "finetune"), { workers: 2, force: false, checkImages: true });
    expect(cfg.inputs.map((p) => path.relative(ROOT, p))).toEqual(["out/jsonl/finetune"]);
    expect([
      path.relative(ROOT, cfg.out),
      path.relative(ROOT, cfg.imageRoot),
      cfg.template.name,
      cfg.msl,
      cfg.numPatches,
      cfg.filesPerRecord,
    ]).toEqual(["out/h5/finetune", "examples/data-fixtures/root", "vicuna_v1", 2048, 576, 4]);
    expect(() => phaseFor(result, undefined)).toThrow(/choose one with --phase/);
  });
});

describe("hdf5: progress counts samples", () => {
  it("the total is the number of records (blank lines and CRLF endings aside), and the last report reaches it", async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, "images/ok.jpg"));
    const lines = Array.from({ length: 300 }, (_, i) => sample(`s${i}`, i % 2 ? "ok.jpg" : undefined, `Q${i}?`, `A${i}.`));
    mkdirSync(path.join(dir, "jsonl"), { recursive: true });
    writeFileSync(path.join(dir, "jsonl/a.jsonl"), `${lines.slice(0, 150).join("\r\n")}\r\n\r\n\n`);
    writeFileSync(path.join(dir, "jsonl/b.jsonl"), lines.slice(150).join("\n")); // no final newline
    let total = -1;
    const seen: number[] = [];
    const r = await runHdf5Job(jobConfig(dir), {
      onStart: (i) => {
        total = i.totalRecords;
      },
      onProgress: (p) => seen.push(p.processed),
    });
    expect(total).toBe(300);
    expect(r.stats.processed).toBe(300);
    expect(seen.at(-1)).toBe(300);
    expect(seen.every((n, i) => i === 0 || n >= seen[i - 1]!)).toBe(true);
  });
});

describe("hdf5: --max-skipped", () => {
  it("stops once more samples than the limit are skipped, naming the reasons; without a limit the same input completes", async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, "images/ok.jpg"));
    const lines = Array.from({ length: 600 }, (_, i) =>
      i % 50 === 7 ? sample(`m${i}`, "missing.jpg", "Q?", "A.") : sample(`s${i}`, "ok.jpg", `Q${i}?`, `A${i}.`),
    );
    writeLines(path.join(dir, "jsonl/in.jsonl"), lines);
    await expect(runHdf5Job(jobConfig(dir), { maxSkipped: 3 })).rejects.toThrow(
      /stopped: \d+ samples skipped, more than --max-skipped 3 \(missing_image \d+\)/,
    );
    const whole = await runHdf5Job(jobConfig(dir, { force: true }));
    expect(whole.stats.skipped).toEqual({ missing_image: 12 });
    const within = await runHdf5Job(jobConfig(dir, { force: true }), { maxSkipped: 12 });
    expect(within.stats.kept).toBe(588);
  });
});
