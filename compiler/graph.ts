// `llavac graph`: a phase's model as a picture. The blocks, their shapes and parameter counts come from the
// one architecture description (runtime/model/arch.ts: the parameter tree the compiler counts and the runtime
// trains) and the phase's freeze split; the sequence strip from the derived image slots; the data path from
// the phase's IR. The SVG is written here, element by element: small, deterministic, no browser.
import { numel, type ParamSpec } from "../runtime/model/arch.js";
import { thousands } from "../runtime/util/format.js";
import type { PhaseResult } from "./compile.js";
import type { Derived } from "./derive.js";

export interface GraphBlock {
  /** `image_model`, `projector_image_model` or `text_model`. */
  component: string;
  label: string;
  /** The activation shape out of the block, per sample (`[577, 1024]`). */
  shape: string;
  params: number;
  trainable: number;
  /** How many identical layers the block stands for (1 for a single module). */
  repeat: number;
}

export interface ModelGraph {
  phase: string;
  model: string;
  blocks: GraphBlock[];
  totals: { total: number; trainable: number; frozen: number };
  sequence: { imageStart: number; slots: number; msl: number; textBudget: number };
  data: { label: string; detail: string }[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const dims = (xs: readonly number[]) => `[${xs.join(", ")}]`;

/** Which block of the picture a parameter belongs to: the layers of a stack are one block. */
function blockKey(p: ParamSpec): string {
  const rest = p.name.slice(p.component.length + 1);
  if (/(^|\.)layers\.\d+\./.test(rest)) return "layers";
  if (p.component === "projector_image_model") return rest.split(".").slice(0, 2).join(".");
  const first = rest.split(".")[0]!;
  return first === "encoder" || first === "transformer_decoder" ? "final norm" : first;
}

export function modelGraph(p: PhaseResult & { derived: Derived }): ModelGraph {
  const d = p.derived,
    ir = p.unit.ir,
    a = d.arch;
  const trainable = new Set(d.freeze.trainable);
  const groups = new Map<string, { component: string; key: string; params: ParamSpec[] }>();
  for (const x of d.params) {
    const key = `${x.component}/${blockKey(x)}`;
    if (!groups.has(key)) groups.set(key, { component: x.component, key: blockKey(x), params: [] });
    groups.get(key)!.params.push(x);
  }
  const slots = d.numPatches;
  const visionSeq =
    (a.vision.image_size[0] / a.vision.patch_size[0]) * (a.vision.image_size[1] / a.vision.patch_size[1]) +
    (a.vision.prepend_cls_token ? 1 : 0);
  const describe = (component: string, key: string, ps: ParamSpec[]): Omit<GraphBlock, "params" | "trainable"> => {
    if (component === "image_model") {
      if (key === "embedding_layer")
        return {
          component,
          label: `patch embedding ${a.vision.patch_size.join("×")}, ${a.vision.num_channels} ch`,
          shape: dims([visionSeq, a.vision.hidden_size]),
          repeat: 1,
        };
      if (key === "layers")
        return {
          component,
          label: `${a.vision.num_hidden_layers} × encoder block, ${a.vision.num_heads} heads`,
          shape: dims([visionSeq, a.vision.hidden_size]),
          repeat: a.vision.num_hidden_layers,
        };
      return { component, label: key, shape: dims([visionSeq, a.vision.hidden_size]), repeat: 1 };
    }
    if (component === "projector_image_model") {
      const w = ps.find((x) => x.role === "weight")!;
      return { component, label: `linear ${w.shape[1] ?? "?"} → ${w.shape[0] ?? "?"}`, shape: dims([slots, w.shape[0] ?? 0]), repeat: 1 };
    }
    if (key === "embedding_layer")
      return {
        component,
        label: `token embedding ${thousands(a.text.vocab_size)} × ${a.text.hidden_size}`,
        shape: dims([d.msl, a.text.hidden_size]),
        repeat: 1,
      };
    if (key === "layers")
      return {
        component,
        label: `${a.text.num_hidden_layers} × decoder block, ${a.text.num_heads} heads`,
        shape: dims([d.msl, a.text.hidden_size]),
        repeat: a.text.num_hidden_layers,
      };
    if (key === "lm_head")
      return {
        component,
        label: `lm_head ${a.text.hidden_size} → ${thousands(a.text.vocab_size)}`,
        shape: dims([d.msl, a.text.vocab_size]),
        repeat: 1,
      };
    return { component, label: key, shape: dims([d.msl, a.text.hidden_size]), repeat: 1 };
  };
  const blocks = [...groups.values()].map((g) => ({
    ...describe(g.component, g.key, g.params),
    params: g.params.reduce((s, x) => s + numel(x.shape), 0),
    trainable: g.params.filter((x) => trainable.has(x)).reduce((s, x) => s + numel(x.shape), 0),
  }));
  const loaderBits = [
    `${thousands(ir.batch.global)} per step`,
    ...(ir.batch.micro ? [`${ir.batch.micro} per micro-batch`] : []),
    ir.loader.shuffle ? "shuffled" : "in order",
  ];
  return {
    phase: ir.$name,
    model: ir.model.$name ?? "model",
    blocks,
    totals: { total: d.counts.total, trainable: d.counts.trainable, frozen: d.counts.frozen },
    sequence: { imageStart: d.imageStartIdx ?? 0, slots, msl: d.msl, textBudget: d.textBudget },
    data: [
      { label: "dataset", detail: ir.data.map((x) => `${x.$name ?? x.format}${x.samples ? ` (${thousands(x.samples)})` : ""}`).join(", ") },
      { label: "template", detail: `${ir.template.$name ?? "template"} (${ir.template.layout})` },
      { label: "HDF5", detail: ir.hdf5 },
      { label: "loader", detail: loaderBits.join(", ") },
    ],
  };
}

const COMPONENTS: [string, string][] = [
  ["image_model", "vision tower"],
  ["projector_image_model", "projector"],
  ["text_model", "language model"],
];

/** The picture: the three components left to right, the sequence strip under them, the data path beside. */
export function graphSvg(g: ModelGraph): string {
  const W = 1180,
    colW = 250,
    gap = 40,
    boxH = 54,
    top = 92;
  const out: string[] = [];
  const text = (x: number, y: number, s: string, attrs = "") =>
    out.push(`<text x="${x}" y="${y}"${attrs ? " " + attrs : ""}>${esc(s)}</text>`);
  let bottom = top;
  COMPONENTS.forEach(([component, title], c) => {
    const x = 20 + c * (colW + gap);
    const bs = g.blocks.filter((b) => b.component === component);
    const total = bs.reduce((s, b) => s + b.params, 0);
    text(x, top - 12, `${title} · ${thousands(total)}`, 'class="h"');
    bs.forEach((b, i) => {
      const y = top + i * (boxH + 14);
      const state = b.trainable === 0 ? "frozen" : b.trainable === b.params ? "trainable" : "partial";
      out.push(`<g class="block ${state}" data-component="${component}" data-params="${b.params}" data-trainable="${b.trainable}">`);
      out.push(`<rect x="${x}" y="${y}" width="${colW}" height="${boxH}" rx="6"/>`);
      text(x + 10, y + 20, b.label);
      text(
        x + 10,
        y + 40,
        `${b.shape} · ${thousands(b.params)}${state === "frozen" ? " · frozen" : state === "partial" ? ` · ${thousands(b.trainable)} trainable` : " · trainable"}`,
        'class="s"',
      );
      out.push("</g>");
      if (i > 0) out.push(`<line x1="${x + colW / 2}" y1="${y - 14}" x2="${x + colW / 2}" y2="${y}" class="a"/>`);
      bottom = Math.max(bottom, y + boxH);
    });
    if (c > 0) {
      const ay = top + boxH / 2;
      out.push(`<line x1="${x - gap + 4}" y1="${ay}" x2="${x - 4}" y2="${ay}" class="a" marker-end="url(#arrow)"/>`);
    }
  });
  // The sequence the language model reads: text before the image, the image slots, the text budget.
  const sy = bottom + 50,
    sx = 20,
    sw = 3 * colW + 2 * gap;
  const s = g.sequence;
  const scale = sw / s.msl;
  const pre = Math.max(s.imageStart * scale, 2),
    img = Math.max(s.slots * scale, 4);
  text(sx, sy - 10, `sequence · max_sequence_length ${thousands(s.msl)}`, 'class="h"');
  out.push(`<rect x="${sx}" y="${sy}" width="${pre.toFixed(1)}" height="26" class="seq-text"/>`);
  out.push(`<rect x="${(sx + pre).toFixed(1)}" y="${sy}" width="${img.toFixed(1)}" height="26" class="seq-image"/>`);
  out.push(`<rect x="${(sx + pre + img).toFixed(1)}" y="${sy}" width="${(sw - pre - img).toFixed(1)}" height="26" class="seq-text"/>`);
  text(
    sx,
    sy + 44,
    `${s.imageStart} text token${s.imageStart === 1 ? "" : "s"} (image_start_idx ${s.imageStart}) · ${thousands(s.slots)} image slots · ${thousands(s.textBudget)} text budget`,
    'class="s"',
  );
  // The data path, in a column of its own.
  const dx = 20 + 3 * (colW + gap),
    dw = W - dx - 20;
  text(dx, top - 12, `data path · phase ${g.phase}`, 'class="h"');
  g.data.forEach((step, i) => {
    const y = top + i * (boxH + 14);
    out.push(`<g class="data"><rect x="${dx}" y="${y}" width="${dw}" height="${boxH}" rx="6"/>`);
    text(dx + 10, y + 20, step.label);
    text(dx + 10, y + 40, step.detail.length > 42 ? step.detail.slice(0, 41) + "…" : step.detail, 'class="s"');
    out.push("</g>");
    if (i > 0) out.push(`<line x1="${dx + dw / 2}" y1="${y - 14}" x2="${dx + dw / 2}" y2="${y}" class="a" marker-end="url(#arrow)"/>`);
  });
  const H = Math.max(sy + 70, top + 4 * (boxH + 14) + 20);
  const t = g.totals;
  const share = t.total ? ((100 * t.trainable) / t.total).toFixed(2) : "0";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`,
    `<title>${esc(`${g.model}, phase ${g.phase}`)}</title>`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>`,
    `<pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#eceff1"/><line x1="0" y1="0" x2="0" y2="8" stroke="#cfd8dc" stroke-width="4"/></pattern></defs>`,
    `<style>text{fill:#263238}.h{font-weight:bold}.s{font-size:11px;fill:#455a64}.trainable rect{fill:#c8e6c9;stroke:#2e7d32;stroke-width:2}.partial rect{fill:#fff9c4;stroke:#f9a825;stroke-width:2}.frozen rect{fill:url(#hatch);stroke:#90a4ae;stroke-width:1.5;stroke-dasharray:6 3}.data rect{fill:#e3f2fd;stroke:#1565c0;stroke-width:1.5}.a{stroke:#555;stroke-width:1.5}.seq-text{fill:#cfd8dc}.seq-image{fill:#ff8a65}</style>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="28" class="h" font-size="16">${esc(`${g.model} · phase ${g.phase} · ${thousands(t.trainable)} trainable / ${thousands(t.total)} parameters (${share}%)`)}</text>`,
    `<text x="20" y="48" class="s">green: trained in this phase · grey, hatched, dashed: frozen · yellow: partly frozen · orange: the image slots in the sequence</text>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}
