// `llavac data inspect`: one sample decoded back to text, showing which positions are image slots, which
// carry loss and which are masked, on a terminal (colours) or as an HTML page; and one sample's features
// exactly as the training loader yields them (to a safetensors file), with its image as the model sees it.
import sharp from "sharp";
import type { Tokenizer } from "../text/tokenizer.js";
import type { TensorEntry } from "../weights/safetensors.js";
import type { SampleFile } from "./hdf5.js";
import { ROWS } from "./samples.js";
import type { ImageTransform } from "./images.js";
import { SampleReader, type LoaderSource, type RawSamples } from "./loader-core.js";

export interface TokenView {
  pos: number;
  id: number;
  label: number;
  /** The piece as text ("▁" shown as a space, byte pieces decoded). */
  text: string;
  loss: boolean;
  attended: boolean;
  slot: boolean;
}

export interface SampleView {
  file: string;
  index: number;
  imagePath: string | undefined;
  msl: number;
  /** Positions before the right padding. */
  length: number;
  imageStart: number | undefined;
  tokens: TokenView[];
  counts: { text: number; imageSlots: number; supervised: number; notAttended: number; padding: number };
}

function pieceText(tok: Tokenizer, id: number): string {
  const shown = tok.displayPiece?.(id);
  if (shown !== undefined) return shown;
  const p = tok.idToPiece(id);
  const byte = /^<0x([0-9A-F]{2})>$/.exec(p);
  if (byte) {
    const b = parseInt(byte[1]!, 16);
    return b === 0x0a ? "\n" : b === 0x09 ? "\t" : b < 0x20 || b > 0x7e ? `<0x${byte[1]}>` : String.fromCharCode(b);
  }
  return p.replaceAll("\u2581", " ");
}

export function viewSample(file: SampleFile, index: number, tok: Tokenizer, imageStart?: number, numPatches?: number): SampleView {
  const [input, loss, labels, masked] = file.rows(index) as [Int32Array, Int32Array, Int32Array, Int32Array];
  const pad = tok.padId;
  let length = input.length;
  while (length > 0 && input[length - 1] === pad && loss[length - 1] === 0) length--;
  const slots = new Set<number>();
  if (imageStart !== undefined && numPatches !== undefined)
    for (let j = imageStart; j < imageStart + numPatches && j < length; j++) slots.add(j);
  const tokens: TokenView[] = [];
  const counts = { text: 0, imageSlots: 0, supervised: 0, notAttended: 0, padding: input.length - length };
  for (let j = 0; j < length; j++) {
    const slot = slots.has(j);
    const t: TokenView = {
      pos: j,
      id: input[j]!,
      label: labels[j]!,
      text: slot ? "" : pieceText(tok, input[j]!),
      loss: loss[j] === 1,
      attended: masked[j] === 0,
      slot,
    };
    tokens.push(t);
    if (slot) counts.imageSlots++;
    else counts.text++;
    if (t.loss) counts.supervised++;
    if (!t.attended) counts.notAttended++;
  }
  return { file: file.path, index, imagePath: file.imagePath(index), msl: input.length, length, imageStart, tokens, counts };
}

export interface Ansi {
  green(s: string): string;
  dim(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
  bold(s: string): string;
  strikethrough(s: string): string;
}

/** Consecutive tokens that look the same, so the text reads as text. */
function runs(v: SampleView): { kind: "slots" | "loss" | "masked-text" | "text"; attended: boolean; tokens: TokenView[] }[] {
  const out: ReturnType<typeof runs> = [];
  for (const t of v.tokens) {
    const kind = t.slot ? "slots" : t.loss ? "loss" : "text";
    const last = out[out.length - 1];
    if (last && last.kind === kind && last.attended === t.attended) last.tokens.push(t);
    else out.push({ kind, attended: t.attended, tokens: [t] });
  }
  return out;
}

export function renderTerminal(v: SampleView, c: Ansi): string {
  const lines: string[] = [];
  lines.push(c.bold(`sample ${v.index} of ${v.file}`));
  lines.push(`image: ${v.imagePath ?? "none (text-only: the slots hold a blank image and are not attended)"}`);
  lines.push(
    `${v.length} positions used of ${v.msl}: ${v.counts.text} text, ${v.counts.imageSlots} image slots${v.imageStart !== undefined ? ` from position ${v.imageStart}` : ""}, ${v.counts.supervised} with loss, ${v.counts.notAttended} not attended, ${v.counts.padding} padding`,
  );
  lines.push(
    `legend: ${c.green("[[loss]]")} · plain text (no loss) · ${c.cyan("[image slots]")} · ${c.magenta("[slots not attended]")} · ${c.strikethrough("~~not attended~~")}`,
  );
  lines.push("");
  let out = "";
  for (const r of runs(v)) {
    if (r.kind === "slots") {
      const label = `[${r.tokens.length} image slots ${r.tokens[0]!.pos}–${r.tokens[r.tokens.length - 1]!.pos}]`;
      out += r.attended ? c.cyan(label) : c.magenta(label);
      continue;
    }
    // Marked in the text as well as in colour, so piped or NO_COLOR output keeps what carries loss.
    let text = r.tokens.map((t) => t.text).join("");
    if (!r.attended) text = c.strikethrough(`~~${text}~~`);
    out += r.kind === "loss" ? c.green(`[[${text}]]`) : text;
  }
  lines.push(out);
  return lines.join("\n") + "\n";
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The features of the loader's batch, by the names the Cerebras LLaVA model takes them under. */
export const FEATURES = ["text_input_ids", "loss_mask", "labels", "key_padding_mask", "image_data"] as const;

/**
 * Sample `index` (the loader's global index) read by the training loader itself: its rows and its image
 * through the spec's transforms, as a batch of one. Where the sample is, for the text view.
 */
export async function loaderSample(source: LoaderSource, index: number): Promise<{ raw: RawSamples; file: string; row: number }> {
  const reader = new SampleReader(source);
  try {
    await reader.open();
    const raw = await reader.read([index]); // LoaderError past the end
    const { file, row } = reader.locate(index);
    return { raw, file: file.path, row };
  } finally {
    reader.close();
  }
}

/** A batch of one as tensors: the four rows int32 [1, MSL], the image float32 [1, C, H, W]. */
export function sampleFeatures(raw: RawSamples, imageShape: readonly [number, number, number]): Map<string, TensorEntry> {
  if (raw.indices.length !== 1) throw new Error("one sample at a time");
  const msl = raw.msl;
  const bytes = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Map<string, TensorEntry>();
  for (let r = 0; r < ROWS; r++)
    out.set(FEATURES[r]!, { dtype: "I32", shape: [1, msl], data: bytes(raw.rows.subarray(r * msl, (r + 1) * msl)) });
  out.set("image_data", { dtype: "F32", shape: [1, ...imageShape], data: bytes(raw.images) });
  return out;
}

/**
 * The model's input image back in 0–255 RGB, for showing: normalisation and to_tensor's scaling undone
 * and rounded (exact, since the transforms map 8-bit pixels to these values), HWC.
 */
export function displayPixels(
  image: Float32Array,
  imageShape: readonly [number, number, number],
  transforms: readonly ImageTransform[],
): Buffer {
  const [C, H, W] = imageShape;
  let mean = [0, 0, 0],
    std = [1, 1, 1],
    scale = 1;
  for (const t of transforms) {
    if (t.kind === "to_tensor") scale = 255;
    if (t.kind === "normalize") [mean, std] = [t.mean, t.std];
  }
  const plane = H * W;
  const out = Buffer.alloc(plane * 3);
  for (let p = 0; p < plane; p++)
    for (let c = 0; c < 3; c++) {
      const v = image[Math.min(c, C - 1) * plane + p]!;
      out[p * 3 + c] = Math.max(0, Math.min(255, Math.round((v * std[c]! + mean[c]!) * scale)));
    }
  return out;
}

export interface ShownImage {
  /** data:image/png;base64,… of the model's input image. */
  uri: string;
  width: number;
  height: number;
  /** What it is (path, transforms, or why it is blank). */
  caption: string;
}

export async function shownImage(
  image: Float32Array,
  imageShape: readonly [number, number, number],
  transforms: readonly ImageTransform[],
  caption: string,
): Promise<ShownImage> {
  const [, height, width] = imageShape;
  const png = await sharp(displayPixels(image, imageShape, transforms), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return { uri: `data:image/png;base64,${png.toString("base64")}`, width, height, caption };
}

export function renderHtml(views: (SampleView & { image?: ShownImage; noImage?: string })[]): string {
  const body = views
    .map((v) => {
      const spans = v.tokens
        .map((t) => {
          const cls = [t.slot ? "slot" : t.loss ? "loss" : "text", t.attended ? "" : "masked"].filter(Boolean).join(" ");
          const title = `position ${t.pos} · id ${t.id} · label ${t.label} · loss ${t.loss ? 1 : 0} · ${t.attended ? "attended" : "not attended"}`;
          const shown = t.slot ? "▣" : escapeHtml(t.text).replace(/\n/g, "⏎<br>");
          return `<span class="${cls}" title="${escapeHtml(title)}">${shown}</span>`;
        })
        .join("");
      return `<section>
<h2>sample ${v.index} · ${escapeHtml(v.file)}</h2>
<p>image: <code>${escapeHtml(v.imagePath ?? "none (text-only)")}</code> · ${v.length} of ${v.msl} positions · ${v.counts.text} text · ${v.counts.imageSlots} image slots · ${v.counts.supervised} with loss · ${v.counts.notAttended} not attended · ${v.counts.padding} padding</p>
${
  v.image
    ? `<figure><img src="${v.image.uri}" width="${v.image.width * 2}" height="${v.image.height * 2}" alt="the image as the model sees it"><figcaption>${escapeHtml(v.image.caption)}</figcaption></figure>`
    : v.noImage
      ? `<p class="note">${escapeHtml(v.noImage)}</p>`
      : ""
}
<div class="tokens">${spans}</div>
</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llavac data inspect</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 70rem; color: #222; }
.tokens { font-family: ui-monospace, monospace; line-height: 1.9; white-space: pre-wrap; word-break: break-all; }
.tokens span { border-radius: 2px; padding: 0 1px; }
.loss { background: #c8f0c8; }
.text { background: #f0f0f0; }
.slot { background: #bfe3ff; color: #1565c0; }
.slot.masked { background: #f3d1f0; color: #8e24aa; }
.masked:not(.slot) { text-decoration: line-through; }
figure img { image-rendering: pixelated; border: 1px solid #ccc; }
figcaption, .note { color: #555; font-size: .9rem; }
.legend span { margin-right: 1rem; padding: 0 .3rem; font-family: ui-monospace, monospace; }
</style></head><body>
<h1>llavac data inspect</h1>
<p class="legend"><span class="loss">loss</span><span class="text">text, no loss</span><span class="slot">▣ image slot</span><span class="slot masked">▣ slot not attended (text-only)</span><span class="text masked">not attended</span> Hover a token for its position, id, label and masks.</p>
${body}
</body></html>
`;
}
