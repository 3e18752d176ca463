// `llavac data inspect`: one sample decoded back to text, showing which positions are image slots, which
// carry loss and which are masked, on a terminal (colours) or as an HTML page.
import type { Tokenizer } from "../text/tokenizer.js";
import type { SampleFile } from "./hdf5.js";

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

export function renderHtml(views: SampleView[]): string {
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
.legend span { margin-right: 1rem; padding: 0 .3rem; font-family: ui-monospace, monospace; }
</style></head><body>
<h1>llavac data inspect</h1>
<p class="legend"><span class="loss">loss</span><span class="text">text, no loss</span><span class="slot">▣ image slot</span><span class="slot masked">▣ slot not attended (text-only)</span><span class="text masked">not attended</span> Hover a token for its position, id, label and masks.</p>
${body}
</body></html>
`;
}
