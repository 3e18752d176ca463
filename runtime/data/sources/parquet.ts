// Parquet datasets with embedded images (Synthdog-EN, ArxivCap): the images are written out as files and
// the records point at them. Row groups are read one at a time, so a file never sits in memory whole.
import { readdirSync } from "node:fs";
import path from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { unsafeRelativePath } from "../paths.js";
import { parsePythonLiteral } from "../python-literal.js";
import { llavaRecord } from "../records.js";
import { Random } from "../../util/random.js";
import { joinImage, PrepareError, requireDir, type PrepareOptions, type Sink } from "./sink.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { OutputWriteError } from "../jsonl.js";

async function* parquetRows(file: string, columns: string[]): AsyncGenerator<{ row: number; value: Record<string, unknown> }> {
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    // utf8: false keeps binary columns (the images) as bytes; UTF8-annotated columns are still strings.
    const rows = await parquetReadObjects({ file: buffer, metadata, columns, rowStart: start, rowEnd: end, compressors, utf8: false });
    for (let i = 0; i < rows.length; i++) yield { row: start + i, value: rows[i] as Record<string, unknown> };
    start = end;
  }
}

function bytesOf(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (v && typeof v === "object" && (v as { bytes?: unknown }).bytes instanceof Uint8Array) return (v as { bytes: Uint8Array }).bytes;
  return undefined;
}

function extensionOf(bytes: Uint8Array, fallback: string): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return ".png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return ".jpg";
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return ".gif";
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46) return ".webp";
  return fallback;
}

/** Write an image file atomically; a failed write stops the run, naming the file. */
function writeImage(file: string, bytes: Uint8Array): void {
  try {
    writeFileAtomic(file, bytes);
  } catch (err) {
    throw new OutputWriteError(file, err);
  }
}

function parquetFiles(dir: string, what: string): string[] {
  requireDir(dir, what);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".parquet"))
    .sort();
  if (files.length === 0) throw new PrepareError(`no .parquet files in ${dir}`);
  return files;
}

// The captioning prompts the Cerebras converter picks from for Synthdog.
export const SYNTHDOG_PROMPTS = [
  "Describe the image concisely.",
  "Provide a brief description of the given image.",
  "Offer a succinct explanation of the picture presented.",
  "Summarize the visual content of the image.",
  "Give a short and clear explanation of the subsequent image.",
  "Share a concise interpretation of the image provided.",
  "Present a compact description of the photo's key features.",
  "Relay a brief, clear account of the picture shown.",
  "Render a clear and concise summary of the photo.",
  "Write a terse but informative summary of the picture.",
  "Create a compact narrative representing the image presented.",
];

function textSequence(groundTruth: unknown): string | undefined {
  if (typeof groundTruth !== "string") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(groundTruth);
  } catch {
    try {
      parsed = parsePythonLiteral(groundTruth);
    } catch {
      return undefined;
    }
  }
  const seq = (parsed as { gt_parse?: { text_sequence?: unknown } })?.gt_parse?.text_sequence;
  return typeof seq === "string" ? seq : undefined;
}

/** Synthdog-EN: <input>/<split>-<NNNNN>-of-<MMMMM>*.parquet with columns image {bytes} and ground_truth. */
export async function synthdog(opts: PrepareOptions, sink: Sink): Promise<void> {
  const prefix = opts.imagePrefix ?? "synthdog-en";
  const imagesRoot = opts.images ?? path.join(opts.out, "images");
  const random = new Random(opts.seed);
  const wanted = opts.splits ?? ["train"];
  for (const name of parquetFiles(opts.input, "Synthdog folder")) {
    const m = /^([a-z]+)-(\d+)/.exec(name);
    if (!m) {
      sink.skip("unrecognised_file", name, "expected <split>-<NNNNN>-of-<MMMMM>.parquet");
      continue;
    }
    const [, split, shard] = m as unknown as [string, string, string];
    if (!wanted.includes("all") && !wanted.includes(split)) continue;
    const file = path.join(opts.input, name);
    for await (const { row, value } of parquetRows(file, ["image", "ground_truth"])) {
      const where = `${name} row ${row}`;
      const bytes = bytesOf(value.image);
      const text = textSequence(value.ground_truth);
      if (!bytes || bytes.length === 0) {
        sink.skip("missing_image", where, "no image bytes");
        continue;
      }
      if (text === undefined) {
        sink.skip("bad_ground_truth", where, "ground_truth has no gt_parse.text_sequence");
        continue;
      }
      const id = `${split}-${shard}-${String(row).padStart(7, "0")}`;
      const rel = `${split}/${shard}/${id}${extensionOf(bytes, ".png")}`;
      writeImage(path.join(imagesRoot, prefix, rel), bytes);
      sink.imagesWritten++;
      await sink.add(
        `synthdog_en_${name.replace(/\.parquet$/, "")}.jsonl`,
        llavaRecord(id, joinImage(prefix, rel), random.pick(SYNTHDOG_PROMPTS), text),
      );
    }
  }
}

/** ArxivCap: parquet rows with caption_images: [{caption, cil_pairs: [{image_file, image {bytes}}]}]. */
export async function arxivcap(opts: PrepareOptions, sink: Sink): Promise<void> {
  const prefix = opts.imagePrefix ?? "ArxivCap";
  const imagesRoot = opts.images ?? path.join(opts.out, "images");
  for (const name of parquetFiles(opts.input, "ArxivCap folder")) {
    const file = path.join(opts.input, name);
    for await (const { row, value } of parquetRows(file, ["caption_images"])) {
      const figures = Array.isArray(value.caption_images) ? (value.caption_images as Record<string, unknown>[]) : [];
      for (const [f, fig] of figures.entries()) {
        const where = `${name} row ${row} figure ${f}`;
        const pairs = Array.isArray(fig?.cil_pairs) ? (fig.cil_pairs as Record<string, unknown>[]) : [];
        const caption = typeof fig?.caption === "string" ? fig.caption.trim() : "";
        // A figure with sub-figures has one caption for several images: not an image-caption pair.
        if (pairs.length !== 1) {
          sink.skip("multi_image_figure", where, `${pairs.length} images share one caption`);
          continue;
        }
        const pair = pairs[0]!;
        const imageFile = typeof pair.image_file === "string" ? pair.image_file : "";
        const bytes = bytesOf(pair.image);
        if (!caption) {
          sink.skip("no_caption", where, "empty caption");
          continue;
        }
        if (!imageFile || !bytes) {
          sink.skip("missing_image", where, "no image_file or bytes");
          continue;
        }
        const unsafe = unsafeRelativePath(imageFile);
        if (unsafe) {
          sink.skip("unsafe_image_path", where, `${imageFile}: ${unsafe}`);
          continue;
        }
        writeImage(path.join(imagesRoot, prefix, imageFile), bytes);
        sink.imagesWritten++;
        const id = imageFile.replace(/\.[A-Za-z0-9]+$/, "");
        await sink.add(
          `arxivcap_${name.replace(/\.parquet$/, "")}.jsonl`,
          llavaRecord(id, joinImage(prefix, imageFile), "Create a caption for the provided figure.", caption),
        );
      }
    }
  }
}
