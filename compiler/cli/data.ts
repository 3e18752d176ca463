// `llavac data …`: prepare raw datasets, write HDF5 from a spec, shuffle, inspect and verify.
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { thousands } from "../../runtime/util/format.js";
import { progress } from "../../runtime/util/progress.js";
import type { Painter } from "../diagnostics.js";
import { OutputWriteError, writeFileAtomic } from "../../runtime/util/atomic.js";
import { LockHeld } from "../../runtime/util/lock.js";

export class DataUsageError extends Error {}
export class DataFailure extends Error {}

interface Io {
  paint: (color?: boolean) => Painter & { magenta(s: string): string; strikethrough(s: string): string };
  setExit(code: number): void;
  compileSpec(spec: string): Promise<import("../compile.js").CompileResult>;
}

function table(rows: [string, string][], indent = "  "): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(w)}  ${v}`).join("\n");
}

export const SHAPES_DEFAULTS = { train: 1200, heldout: 200, seed: 0 };

/** The shapes dataset with a progress bar (also what `llavac run` draws when a spec's data is missing). */
export async function synthesizeShapes(out: string, o: { train: number; heldout: number; seed: number }) {
  const { synthShapes } = await import("../../runtime/data/sources/shapes.js");
  const bar = progress("synth shapes", o.train + o.heldout, "images");
  try {
    return await synthShapes({ out, ...o, width: 48, height: 40, onProgress: (n) => bar.update(n, { items: n }) });
  } finally {
    bar.stop();
  }
}

/** data_params.json, written by llavac or by Cerebras tools: read field by field, each read with a fallback. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type DataParams = Record<string, any>;

interface DataParamsRead {
  file?: string;
  params?: DataParams;
  problem?: string;
}

/** data_params.json of a folder of HDF5 files (or its parent): its content, or what is wrong with it. */
function readDataParamsFile(dir: string): DataParamsRead {
  for (const d of [dir, path.dirname(dir)]) {
    const file = path.join(d, "data_params.json");
    if (!existsSync(file)) continue;
    try {
      const v: unknown = JSON.parse(readFileSync(file, "utf8"));
      if (v === null || typeof v !== "object" || Array.isArray(v)) return { file, problem: "is not a JSON object" };
      return { file, params: v as DataParams };
    } catch (err) {
      return { file, problem: `is not valid JSON (${(err as Error).message})` };
    }
  }
  return {};
}

function readDataParams(dir: string): DataParams | undefined {
  const r = readDataParamsFile(dir);
  if (r.problem) throw new DataFailure(`${r.file} ${r.problem}`);
  return r.params;
}

export function registerDataCommands(program: Command, io: Io): void {
  const data = program.command("data").description("prepare datasets, write and check Cerebras-format HDF5");

  data
    .command("prepare")
    .description("convert a raw dataset to LLaVA jsonl (one record per line)")
    .argument("<kind>", "ai2d, arxivqa, arxivcap, chartqa, dvqa, sp_docvqa, infographics_docvqa, synthdog_en or json2jsonl")
    .requiredOption("--input <path>", "the raw download")
    .requiredOption("--out <dir>", "folder for the jsonl files")
    .option("--images <dir>", "where to write embedded images (synthdog_en, arxivcap); default <out>/images")
    .option("--image-prefix <prefix>", "prefix of the image paths in the records (relative to the phase's image root)")
    .option("--splits <list>", "comma-separated splits to convert, or `all` (default: train)")
    .option("--seed <n>", "seed for random prompt choice", "0")
    .action(
      async (kind: string, o: { input: string; out: string; images?: string; imagePrefix?: string; splits?: string; seed: string }) => {
        const { CONVERTERS, prepare, PrepareError, PrepareEmpty } = await import("../../runtime/data/sources/index.js");
        if (!(kind in CONVERTERS))
          throw new DataUsageError(`unknown dataset kind "${kind}"; one of: ${Object.keys(CONVERTERS).join(", ")}`);
        const seed = Number(o.seed);
        if (!Number.isInteger(seed)) throw new DataUsageError("--seed must be an integer");
        const bar = progress(`prepare ${kind}`, 0, "records");
        try {
          const summary = await prepare(kind as keyof typeof CONVERTERS, {
            input: o.input,
            out: o.out,
            seed,
            ...(o.images ? { images: o.images } : {}),
            ...(o.imagePrefix !== undefined ? { imagePrefix: o.imagePrefix } : {}),
            ...(o.splits ? { splits: o.splits.split(",").map((x) => x.trim()) } : {}),
            onProgress: (n) => bar.update(0, { items: n }),
          });
          bar.stop();
          const skipped = Object.entries(summary.skipped);
          const rows: [string, string][] = [
            ["kept", thousands(summary.kept)],
            ...summary.files.map((f) => [`  ${f.path}`, thousands(f.records)] as [string, string]),
          ];
          if (summary.imagesWritten) rows.push(["images written", thousands(summary.imagesWritten)]);
          rows.push(["skipped", thousands(skipped.reduce((a, [, s]) => a + s.count, 0))]);
          for (const [reason, s] of skipped) rows.push([`  ${reason}`, `${thousands(s.count)}   e.g. ${s.examples[0]}`]);
          process.stdout.write(`prepare ${kind}: ${o.input} → ${o.out}\n${table(rows)}\n`);
        } catch (err) {
          bar.stop();
          if (err instanceof LockHeld) throw new DataUsageError(err.message);
          if (err instanceof PrepareEmpty || err instanceof OutputWriteError) throw new DataFailure(err.message);
          if (err instanceof PrepareError) throw new DataUsageError(err.message);
          throw err;
        }
      },
    );

  data
    .command("hdf5")
    .description("write a phase's jsonl data as Cerebras-format HDF5 (inputs, template, tokenizer, MSL and image root come from the spec)")
    .argument("<spec>", "the .llava file")
    .option("--phase <name>", "which phase (needed when the spec has several)")
    .option("--workers <n>", "worker threads (default: the number of cores)")
    .option("--report <file>", "write every skipped sample, with its reason, as jsonl")
    .option("--force", "replace HDF5 files from another run in the output folder")
    .option("--no-image-check", "do not open the images (they may live on another machine)")
    .option("--max-skipped <n>", "stop once more than n samples are skipped (0: at the first); the run stays resumable")
    .option("--eval", "write the phase's held-out split (eval.data) into eval.hdf5 instead")
    .action(
      async (
        spec: string,
        o: { phase?: string; workers?: string; report?: string; force?: boolean; imageCheck: boolean; maxSkipped?: string; eval?: boolean },
      ) => {
        const workers = o.workers === undefined ? availableParallelism() : Number(o.workers);
        if (!Number.isInteger(workers) || workers < 0) throw new DataUsageError("--workers must be a whole number");
        const maxSkipped = o.maxSkipped === undefined ? undefined : Number(o.maxSkipped);
        if (maxSkipped !== undefined && (!Number.isInteger(maxSkipped) || maxSkipped < 0))
          throw new DataUsageError("--max-skipped must be a whole number");
        const result = await io.compileSpec(spec);
        if (result.diags.errorCount > 0)
          throw new DataFailure(`${spec} has ${result.diags.errorCount} error(s); run \`llavac check ${spec}\``);
        const { DataJobError, hdf5JobConfig, heldOutPhase, phaseFor } = await import("../data-job.js");
        const { runHdf5Job, Hdf5JobError } = await import("../../runtime/data/hdf5-job.js");
        let bar: ReturnType<typeof progress> | undefined;
        const t0 = Date.now();
        try {
          const phase = o.eval ? heldOutPhase(phaseFor(result, o.phase)) : phaseFor(result, o.phase);
          const cfg = hdf5JobConfig(result, phase, { workers, force: o.force ?? false, checkImages: o.imageCheck });
          const r = await runHdf5Job(cfg, {
            ...(o.report ? { report: o.report } : {}),
            ...(maxSkipped !== undefined ? { maxSkipped } : {}),
            ...(process.env.LLAVAC_TEST_CRASH_AFTER_FILES ? { crashAfterFiles: Number(process.env.LLAVAC_TEST_CRASH_AFTER_FILES) } : {}),
            // The bar counts samples the workers have finished, not bytes read (those run ahead of the writing).
            onStart: ({ totalRecords, resumed }) => {
              if (resumed) process.stderr.write(`resuming the interrupted run in ${cfg.out}\n`);
              bar = progress(`hdf5 ${phase.unit.ir.$name}`, totalRecords, "samples");
            },
            onProgress: ({ processed }) => bar?.update(processed, { items: processed }),
          });
          bar?.stop();
          const s = r.stats;
          const seconds = (Date.now() - t0) / 1000;
          const skipped = Object.entries(s.skipped);
          const rows: [string, string][] = [
            ["samples read", thousands(s.processed)],
            ["kept", `${thousands(s.kept)} (${thousands(s.withImage)} with an image, ${thousands(s.textOnly)} text-only)`],
            ["skipped", thousands(skipped.reduce((a, [, n]) => a + n, 0))],
            ...skipped.map(([k, n]) => [`  ${k}`, thousands(n)] as [string, string]),
            ["files", `${r.files.length} in ${cfg.out}`],
            ["image_patch_start_idx", `${s.imageStart ?? "n/a"} (the spec derives ${phase.derived.imageStartIdx})`],
            ["loss-carrying tokens", thousands(s.lossValidTokens)],
          ];
          if (!r.alreadyComplete)
            rows.push([
              "time",
              `${seconds.toFixed(1)} s, ${thousands(Math.round(s.processed / Math.max(seconds, 1e-3)))} samples/s with ${Math.max(1, workers)} worker${workers === 1 ? "" : "s"}`,
            ]);
          if (o.report) rows.push(["skipped samples", `listed in ${o.report}`]);
          process.stdout.write(
            `hdf5 ${phase.unit.ir.$name}${r.alreadyComplete ? " (already complete)" : r.resumed ? " (resumed)" : ""}\n${table(rows)}\n`,
          );
          if (s.imageStart !== null && s.imageStart !== phase.derived.imageStartIdx)
            throw new DataFailure(`the files put the image at ${s.imageStart} but the spec derives ${phase.derived.imageStartIdx}`);
        } catch (err) {
          bar?.stop();
          if (err instanceof LockHeld) throw new DataUsageError(err.message);
          if (err instanceof OutputWriteError) throw new DataFailure(err.message);
          if (err instanceof DataJobError || err instanceof Hdf5JobError) throw new DataFailure(err.message);
          throw err;
        }
      },
    );

  data
    .command("synth")
    .description("draw a synthetic dataset: `shapes` is coloured shapes with captions and colour/shape questions")
    .argument("<kind>", "shapes")
    .requiredOption("--out <dir>", "output folder (images/, captions/, questions/, heldout/)")
    .option("--train <n>", "training images", String(SHAPES_DEFAULTS.train))
    .option("--heldout <n>", "held-out images", String(SHAPES_DEFAULTS.heldout))
    .option("--seed <n>", "seed", String(SHAPES_DEFAULTS.seed))
    .action(async (kind: string, o: { out: string; train: string; heldout: string; seed: string }) => {
      if (kind !== "shapes") throw new DataUsageError(`unknown synthetic dataset "${kind}" (only shapes)`);
      const [train, heldout, seed] = [o.train, o.heldout, o.seed].map(Number) as [number, number, number];
      if (![train, heldout, seed].every((n) => Number.isInteger(n) && n >= 0))
        throw new DataUsageError("--train, --heldout and --seed must be whole numbers");
      const r = await synthesizeShapes(o.out, { train, heldout, seed });
      process.stdout.write(
        `synth shapes: ${thousands(r.images)} images in ${o.out}\n${table(r.files.map((f) => [f.path, `${thousands(f.records)} records`]))}\n`,
      );
    });

  data
    .command("shuffle")
    .description("mix samples across HDF5 files into data-00000.h5 …, keeping data and img_path together")
    .argument("<input>", "folder of .h5 files")
    .requiredOption("--out <dir>", "output folder")
    .option("--chunks <n>", "number of output files", "16")
    .option("--seed <n>", "seed", "0")
    .action(async (input: string, o: { out: string; chunks: string; seed: string }) => {
      const { shuffle, ShuffleError } = await import("../../runtime/data/shuffle.js");
      const chunks = Number(o.chunks),
        seed = Number(o.seed);
      if (!Number.isInteger(seed)) throw new DataUsageError("--seed must be an integer");
      const bar = progress("shuffle", 1, "samples");
      try {
        const r = await shuffle({
          input,
          out: o.out,
          chunks,
          seed,
          onProgress: (done, total) => bar.update(done / Math.max(1, total), { items: Math.floor(done / 2) }),
        });
        bar.stop();
        process.stdout.write(
          `shuffle: ${thousands(r.samples)} samples from ${input} → ${r.files.length} files in ${o.out} (${r.perChunk.map(thousands).join(", ")} per file)\n`,
        );
      } catch (err) {
        bar.stop();
        if (err instanceof ShuffleError || err instanceof LockHeld) throw new DataUsageError(err.message);
        if (err instanceof OutputWriteError) throw new DataFailure(err.message);
        throw err;
      }
    });

  data
    .command("inspect")
    .description("decode one sample back to text and show its image slots, loss and masks")
    .argument("<path>", "an .h5 file or a folder of them")
    .option("--sample <n>", "which sample (counting across the folder's files, in the training loader's order)", "0")
    .option("--html <file>", "also write an HTML page (with the image as the model sees it, given --spec)")
    .option("--tensor <file>", "write the sample's features as the training loader yields them (needs --spec), as .safetensors")
    .option("--spec <file>", "the .llava spec whose phase reads this data: its image root, transforms and input size")
    .option("--phase <name>", "which phase of --spec (needed when the spec has several)")
    .option("--no-color", "no ANSI colours")
    .action(
      async (target: string, o: { sample: string; html?: string; tensor?: string; spec?: string; phase?: string; color?: boolean }) => {
        const { h5FilesIn } = await import("../../runtime/data/shuffle.js");
        const { h5Ready, openSampleFile } = await import("../../runtime/data/hdf5.js");
        const { viewSample, renderTerminal, renderHtml, loaderSample, sampleFeatures, shownImage } = await import(
          "../../runtime/data/inspect.js"
        );
        const { h5FilesOf } = await import("../../runtime/data/loader-core.js");
        const { LoaderError } = await import("../../runtime/data/samples.js");
        const { loadTokenizer, tokenizerSourceOfFile } = await import("../../runtime/text/tokenizer.js");
        await h5Ready();
        if (!existsSync(target)) throw new DataUsageError(`not found: ${target}`);
        const index = Number(o.sample);
        if (!Number.isInteger(index) || index < 0) throw new DataUsageError("--sample must be a whole number");
        if (o.tensor && !o.spec)
          throw new DataUsageError("--tensor needs --spec: the image root, transforms and input size of the loader come from the spec");
        if (o.phase && !o.spec) throw new DataUsageError("--phase needs --spec");
        const params = readDataParams(existsSync(target) && target.endsWith(".h5") ? path.dirname(target) : target);
        const tokSource =
          params?.llavac_tokenizer && params.llavac_tokenizer !== "llama-2 (embedded)"
            ? tokenizerSourceOfFile(params.llavac_tokenizer as string)
            : { kind: "llama2" as const };
        const tok = await loadTokenizer(tokSource, params?.processing?.pad_id ?? undefined);
        const imageStart = params?.image_patch_info?.image_patch_start_idx ?? undefined;
        const numPatches = params?.image_patch_info?.num_patches ?? params?.dataset?.num_patches;
        // The training loader reads the .h5 files directly in the folder, sorted: sample N here is its sample N.
        let files: string[];
        try {
          files = h5FilesOf([target]);
        } catch {
          files = h5FilesIn(target);
        }

        // With a spec: the sample as the loader yields it (rows and the transformed image).
        let loaded: Awaited<ReturnType<typeof loaderSample>> | undefined;
        let imageShape: [number, number, number] | undefined;
        let transforms: import("../../runtime/data/images.js").ImageTransform[] = [];
        if (o.spec) {
          const result = await io.compileSpec(o.spec);
          if (result.diags.errorCount > 0)
            throw new DataFailure(`${o.spec} has ${result.diags.errorCount} error(s); run \`llavac check ${o.spec}\``);
          const { DataJobError, phaseFor } = await import("../data-job.js");
          const { imageTransforms } = await import("../run-config.js");
          let phase;
          try {
            phase = phaseFor(result, o.phase);
          } catch (err) {
            if (err instanceof DataJobError) throw new DataUsageError(err.message);
            throw err;
          }
          const ir = phase.unit.ir;
          const v = phase.derived.arch.vision;
          imageShape = [v.num_channels, v.image_size[0], v.image_size[1]];
          transforms = imageTransforms(ir.transforms ?? ir.model.vision.transforms);
          try {
            loaded = await loaderSample(
              { dirs: [target], imageRoot: path.resolve(result.ctx.cwd, ir.images), transforms, imageShape },
              index,
            );
          } catch (err) {
            if (err instanceof LoaderError) throw new DataUsageError(err.message);
            throw err;
          }
        }

        let where: { file: string; row: number } | undefined = loaded ? { file: loaded.file, row: loaded.row } : undefined;
        if (!where) {
          let rest = index;
          for (const file of files) {
            const f = openSampleFile(file);
            const n = f.n;
            f.close();
            if (rest < n) {
              where = { file, row: rest };
              break;
            }
            rest -= n;
          }
          if (!where) throw new DataUsageError(`sample ${index} is past the end (${index - rest} samples in ${target})`);
        }
        const f = openSampleFile(where.file);
        const v = viewSample(f, where.row, tok, imageStart, numPatches);
        f.close();
        const p = io.paint(o.color);
        process.stdout.write(renderTerminal({ ...v, index }, p));
        if (o.tensor && loaded && imageShape) {
          const { writeSafetensors } = await import("../../runtime/weights/safetensors.js");
          try {
            writeSafetensors(o.tensor, sampleFeatures(loaded.raw, imageShape), {
              file: path.basename(where.file),
              row: String(where.row),
              sample: String(index),
              image: v.imagePath ?? "None",
              ...(loaded.raw.failures.length ? { image_failure: loaded.raw.failures[0]!.error } : {}),
            });
          } catch (err) {
            throw new DataFailure(new OutputWriteError(o.tensor, err).message);
          }
          process.stdout.write(
            `wrote ${o.tensor} (text_input_ids, loss_mask, labels, key_padding_mask int32 [1, ${loaded.raw.msl}]; image_data float32 [1, ${imageShape.join(", ")}])\n`,
          );
        }
        if (o.html) {
          let image: Awaited<ReturnType<typeof shownImage>> | undefined;
          let noImage: string | undefined;
          if (loaded && imageShape) {
            const failure = loaded.raw.failures[0];
            const what =
              v.imagePath === undefined
                ? "text-only: the blank image the model is given"
                : failure
                  ? `${v.imagePath} could not be loaded (${failure.error}): the blank image the model is given instead`
                  : v.imagePath;
            const steps = transforms.map((t) => t.kind).join(" → ");
            image = await shownImage(
              loaded.raw.images,
              imageShape,
              transforms,
              `${what} · ${imageShape[2]}×${imageShape[1]} after ${steps} (normalisation undone for display)`,
            );
          } else noImage = "pass --spec (and --phase) to see the image as the model sees it, after the spec's transforms";
          writeFileAtomic(o.html, renderHtml([{ ...v, index, ...(image ? { image } : {}), ...(noImage ? { noImage } : {}) }]));
          process.stdout.write(`wrote ${o.html}\n`);
        }
      },
    );

  data
    .command("verify")
    .description("check that HDF5 files meet the Cerebras reader's contract")
    .argument("<dir>", "folder of .h5 files")
    .option("--images <dir>", "image root, to check that every image exists (default: from data_params.json)")
    .option("--vocab-size <n>", "token ids must be below this (default: from data_params.json, else 32000)")
    .action(async (dir: string, o: { images?: string; vocabSize?: string }) => {
      const { verify } = await import("../../runtime/data/verify.js");
      if (!existsSync(dir)) throw new DataUsageError(`not found: ${dir}`);
      const read = readDataParamsFile(dir);
      const params = read.params;
      const paramsProblems = read.problem
        ? [{ file: read.file!, kind: "data_params", message: `${read.problem}` }]
        : !read.file
          ? [
              {
                file: path.join(dir, "data_params.json"),
                kind: "data_params",
                message:
                  "missing: the writer's statistics and image_patch_start_idx (which the phase's image_start_idx must equal) cannot be checked",
              },
            ]
          : [];
      const images = o.images ?? params?.dataset?.image_dir;
      const r = await verify({
        dir,
        paramsProblems,
        vocabSize: Number(o.vocabSize ?? params?.["post-process"]?.vocab_size ?? 32000),
        padId: Number(params?.["post-process"]?.pad_id ?? params?.processing?.pad_id ?? 0),
        ...(images && existsSync(images) ? { images } : {}),
        ...(params?.image_patch_info?.image_patch_start_idx != null
          ? {
              imageStart: params.image_patch_info.image_patch_start_idx,
              numPatches: params.image_patch_info.num_patches ?? params.dataset?.num_patches,
            }
          : {}),
      });
      const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
      for (const p of r.problems)
        process.stdout.write(`${p.file}${p.sample !== undefined ? ` sample ${p.sample}` : ""}: [${p.kind}] ${p.message}\n`);
      const rows: [string, string][] = [
        ["files", thousands(r.files)],
        ["samples", thousands(r.samples)],
        ["problems", thousands(total)],
        ...Object.entries(r.counts).map(([k, n]) => [`  ${k}`, thousands(n)] as [string, string]),
      ];
      if (!images || !existsSync(images)) rows.push(["images", "not checked (no image root: pass --images)"]);
      process.stdout.write(`verify ${dir}: ${total === 0 ? "ok" : "problems found"}\n${table(rows)}\n`);
      if (total > 0) io.setExit(1);
    });
}
