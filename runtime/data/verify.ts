// `llavac data verify`: does every file meet the Cerebras reader's contract? Checks the datasets, dtypes,
// shapes, chunking, compression and n_examples; every token id in the vocabulary; masks of 0/1; labels
// equal to the inputs shifted by one; image slots where data_params.json says; and an image file for
// every path.
import { existsSync } from "node:fs";
import path from "node:path";
import { h5Ready, openSampleFile, type SampleFile } from "./hdf5.js";
import { ROWS } from "./samples.js";
import { lastHdf5Error } from "./hdf5-quiet.js";
import { decodes } from "./hdf5-worker-core.js";
import { staysInside, unsafeRelativePath } from "./paths.js";
import { h5FilesIn } from "./shuffle.js";

export interface VerifyOptions {
  dir: string;
  vocabSize: number;
  padId: number;
  /** Image root; without it the image files are not looked for. */
  images?: string;
  imageStart?: number;
  numPatches?: number;
  /** Stop listing a problem kind after this many (they are still counted). */
  maxListed?: number;
  /** Findings about data_params.json, made by the caller that read it. */
  paramsProblems?: Problem[];
}

export interface Problem {
  file: string;
  sample?: number;
  kind: string;
  message: string;
}

export interface VerifyResult {
  files: number;
  samples: number;
  problems: Problem[];
  counts: Record<string, number>;
}

export async function verify(opts: VerifyOptions): Promise<VerifyResult> {
  await h5Ready();
  const files = h5FilesIn(opts.dir);
  const problems: Problem[] = [];
  const counts: Record<string, number> = {};
  const maxListed = opts.maxListed ?? 20;
  const report = (p: Problem) => {
    counts[p.kind] = (counts[p.kind] ?? 0) + 1;
    if (counts[p.kind]! <= maxListed) problems.push(p);
  };
  let msl: number | undefined;
  let samples = 0;
  for (const p of opts.paramsProblems ?? []) report(p);
  const imageOk = new Map<string, Promise<string | undefined>>();
  const imageProblem = (img: string): Promise<string | undefined> => {
    let p = imageOk.get(img);
    if (!p) {
      const full = path.join(opts.images!, img);
      p = !existsSync(full)
        ? Promise.resolve(`${img} not found under ${opts.images}`)
        : !staysInside(opts.images!, full)
          ? Promise.resolve(`${img} leaves ${opts.images} through a symlink`)
          : decodes(full).then((ok) => (ok ? undefined : `${img} cannot be decoded (truncated or not an image)`));
      imageOk.set(img, p);
    }
    return p;
  };
  if (files.length === 0) report({ file: opts.dir, kind: "no_files", message: "no .h5 files" });
  for (const file of files) {
    const name = path.relative(opts.dir, file) || path.basename(file);
    let f: SampleFile;
    try {
      f = openSampleFile(file);
    } catch (err) {
      report({ file: name, kind: "unreadable", message: (err as Error).message });
      continue;
    }
    try {
      await checkFile();
    } catch (err) {
      report({ file: name, kind: "unreadable", message: `${lastHdf5Error() ?? (err as Error).message}; the file may be truncated` });
    } finally {
      f.close();
    }
    async function checkFile(): Promise<void> {
      const info = f!.info();
      if (!info.datasets.includes("data")) {
        report({ file: name, kind: "missing_dataset", message: "no `data` dataset" });
        return;
      }
      if (!info.datasets.includes("img_path"))
        report({
          file: name,
          kind: "missing_dataset",
          message: "no `img_path` dataset (the LLaVA reader needs it; shuffle with llavac or with --multi_modal)",
        });
      const dt = info.dtype;
      if (dt.kind !== "int" || dt.size !== 4 || !dt.signed)
        report({
          file: name,
          kind: "dtype",
          message: `data holds ${dt.signed ? "" : "unsigned "}${dt.kind} of ${dt.size} bytes, not int32`,
        });
      const shape = info.shape ?? [];
      if (shape.length !== 3 || shape[1] !== ROWS) {
        report({ file: name, kind: "shape", message: `data shape is (${shape.join(", ")}), not (n, 4, MSL)` });
        return;
      }
      if (msl === undefined) msl = shape[2];
      else if (shape[2] !== msl)
        report({ file: name, kind: "shape", message: `sequence length ${shape[2]} differs from the other files' ${msl}` });
      if (info.chunks && (info.chunks[0] !== 1 || info.chunks[1] !== ROWS || info.chunks[2] !== shape[2]))
        report({ file: name, kind: "chunks", message: `chunks (${info.chunks.join(", ")}), expected (1, 4, ${shape[2]})` });
      if (!info.filters.some((x) => /deflate|gzip/i.test(x)))
        report({ file: name, kind: "compression", message: `data is not gzip-compressed (filters: ${info.filters.join(", ") || "none"})` });
      const nEx = Number(info.nExamples);
      if (info.nExamples === undefined || nEx !== shape[0])
        report({ file: name, kind: "n_examples", message: `n_examples is ${String(info.nExamples)}, the data holds ${shape[0]}` });
      if (info.pathShape && (info.pathShape[0] !== shape[0] || info.pathShape[1] !== 1))
        report({ file: name, kind: "shape", message: `img_path shape (${info.pathShape.join(", ")}), expected (${shape[0]}, 1)` });
      if (info.datasets.includes("img_path") && (info.pathDtype.kind !== "string" || info.pathDtype.vlen))
        report({
          file: name,
          kind: "dtype",
          message: `img_path holds ${info.pathDtype.vlen ? "variable-length " : ""}${info.pathDtype.kind}, not fixed-length bytes`,
        });

      const n = f!.n,
        L = f!.msl;
      const paths = info.datasets.includes("img_path") ? f!.imagePaths() : [];
      for (let start = 0; start < n; start += 256) {
        const end = Math.min(n, start + 256);
        const block = f!.block(start, end);
        for (let i = start; i < end; i++) {
          const base = (i - start) * ROWS * L;
          const row = (r: number) => block.subarray(base + r * L, base + (r + 1) * L);
          const [input, loss, labels, masked] = [row(0), row(1), row(2), row(3)];
          const at = { file: name, sample: i };
          let bad = -1;
          for (let j = 0; j < L; j++)
            if (input[j]! < 0 || input[j]! >= opts.vocabSize || labels[j]! < 0 || labels[j]! >= opts.vocabSize) {
              bad = j;
              break;
            }
          if (bad >= 0) report({ ...at, kind: "vocab_range", message: `token id out of [0, ${opts.vocabSize}) at position ${bad}` });
          if (loss.some((x) => x !== 0 && x !== 1) || masked.some((x) => x !== 0 && x !== 1))
            report({ ...at, kind: "mask_values", message: "a mask holds values other than 0 and 1" });
          // labels[j] is the next input token, except at the last real position (its label is the end).
          let last = L - 1;
          while (last > 0 && input[last] === opts.padId && loss[last] === 0) last--;
          for (let j = 0; j < last; j++) {
            if (labels[j] !== input[j + 1]) {
              report({ ...at, kind: "labels", message: `labels[${j}] = ${labels[j]} but input[${j + 1}] = ${input[j + 1]}` });
              break;
            }
          }
          if (!loss.some((x) => x === 1)) report({ ...at, kind: "no_loss", message: "no position carries loss" });
          const img = paths[i];
          if (opts.imageStart !== undefined && opts.numPatches !== undefined) {
            for (let j = opts.imageStart; j < opts.imageStart + opts.numPatches && j < L; j++) {
              if (input[j] !== opts.padId) {
                report({ ...at, kind: "image_slots", message: `position ${j} should be an image slot (pad id) but holds ${input[j]}` });
                break;
              }
              if ((masked[j] === 0) !== (img !== undefined)) {
                report({
                  ...at,
                  kind: "image_slots",
                  message: `image slot ${j} is ${masked[j] === 0 ? "attended" : "masked"} in a sample ${img !== undefined ? "with" : "without"} an image`,
                });
                break;
              }
            }
          }
          if (img !== undefined) {
            const unsafe = unsafeRelativePath(img);
            if (unsafe) report({ ...at, kind: "image_path", message: `${img}: ${unsafe}` });
            else if (opts.images) {
              const why = await imageProblem(img);
              if (why)
                report({
                  ...at,
                  kind: why.includes("not found") ? "missing_image" : why.includes("symlink") ? "image_path" : "bad_image",
                  message: why,
                });
            }
          }
        }
        samples += end - start;
      }
    }
  }
  return { files: files.length, samples, problems, counts };
}
