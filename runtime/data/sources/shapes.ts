// A synthetic image–text dataset for demos and tests: coloured shapes drawn with sharp, with captions
// (phase 1) and questions about colour and shape (phase 2), plus a held-out set of colour questions.
// Everything follows from the seed, so two runs write identical files.
import { existsSync, mkdirSync, renameSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { JsonlWriter } from "../jsonl.js";
import type { LlavaRecord } from "../records.js";
import { Random } from "../../util/random.js";

export const COLOURS = { red: [220, 40, 40], green: [40, 170, 60], blue: [40, 80, 220], yellow: [235, 200, 30] } as const;
export const SHAPES = ["circle", "square", "triangle"] as const;
export type Colour = keyof typeof COLOURS;
export type Shape = (typeof SHAPES)[number];

export const COLOUR_QUESTION = "What colour is the shape?";
export const SHAPE_QUESTION = "What shape is this?";

export interface ShapesOptions {
  out: string;
  /** Images in the training split (each gives one caption and two questions). */
  train: number;
  /** Images in the held-out split (one colour question each). */
  heldout: number;
  /** Canvas width and height in pixels (not square, so pad-to-square has work to do). */
  width: number;
  height: number;
  seed: number;
  onProgress?: (images: number) => void;
}

export interface ShapesSummary {
  files: { path: string; records: number }[];
  images: number;
}

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

function svg(o: ShapesOptions, shape: Shape, colour: Colour, r: Random): string {
  const { width: W, height: H } = o;
  const size = Math.min(W, H) * (0.45 + 0.3 * r.next());
  const cx = size / 2 + r.next() * (W - size),
    cy = size / 2 + r.next() * (H - size);
  const [R, G, B] = COLOURS[colour];
  const fill = `rgb(${R},${G},${B})`;
  const bg = 235 + r.int(20);
  const h = size / 2;
  const body =
    shape === "circle"
      ? `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${h.toFixed(1)}" fill="${fill}"/>`
      : shape === "square"
        ? `<rect x="${(cx - h).toFixed(1)}" y="${(cy - h).toFixed(1)}" width="${size.toFixed(1)}" height="${size.toFixed(1)}" fill="${fill}"/>`
        : `<polygon points="${cx.toFixed(1)},${(cy - h).toFixed(1)} ${(cx + h).toFixed(1)},${(cy + h).toFixed(1)} ${(cx - h).toFixed(1)},${(cy + h).toFixed(1)}" fill="${fill}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="rgb(${bg},${bg},${bg})"/>${body}</svg>`;
}

const CAPTIONS = [
  (c: Colour, s: Shape) => `a ${c} ${s}`,
  (c: Colour, s: Shape) => `a ${c} ${s} on a grey background`,
  (c: Colour, s: Shape) => `${c} ${s}`,
];
const CAPTION_PROMPTS = ["Describe the image briefly.", "What is in the picture?", "Give a short caption."];

/** Write images/{train,heldout}/*.png and {captions,questions,heldout}/*.jsonl under `out`. */
export async function synthShapes(o: ShapesOptions): Promise<ShapesSummary> {
  const r = new Random(o.seed);
  const colours = Object.keys(COLOURS) as Colour[];
  // Each file in its own folder: the HDF5 writer reads every jsonl file of a dataset's folder.
  const files = {
    captions: new JsonlWriter(path.join(o.out, "captions", "captions.jsonl")),
    questions: new JsonlWriter(path.join(o.out, "questions", "questions.jsonl")),
    heldout: new JsonlWriter(path.join(o.out, "heldout", "heldout.jsonl")),
  };
  let images = 0;
  try {
    for (const split of ["train", "heldout"] as const) {
      const dir = path.join(o.out, "images", split);
      mkdirSync(dir, { recursive: true });
      const n = split === "train" ? o.train : o.heldout;
      for (let i = 0; i < n; i++) {
        // Balanced colours and shapes, in a seeded order.
        const colour = colours[(i + r.int(colours.length)) % colours.length]!;
        const shape = SHAPES[r.int(SHAPES.length)]!;
        const id = `${split}-${String(i).padStart(5, "0")}`;
        const rel = `images/${split}/${id}.png`;
        const file = path.join(o.out, rel);
        if (!existsSync(file)) {
          const tmp = `${file}.tmp-${process.pid}`;
          await sharp(Buffer.from(svg(o, shape, colour, r)))
            .png()
            .toFile(tmp);
          renameSync(tmp, file);
        } else {
          svg(o, shape, colour, r); // keep the random stream identical
        }
        images++;
        const turn = (q: string, a: string): LlavaRecord["conversations"] => [
          { from: "human", value: `<image>\n${q}` },
          { from: "gpt", value: a },
        ];
        if (split === "train") {
          await files.captions.write({ id, image: rel, conversations: turn(r.pick(CAPTION_PROMPTS), r.pick(CAPTIONS)(colour, shape)) });
          await files.questions.write({ id: `${id}-colour`, image: rel, conversations: turn(COLOUR_QUESTION, `${cap(colour)}.`) });
          await files.questions.write({ id: `${id}-shape`, image: rel, conversations: turn(SHAPE_QUESTION, `A ${shape}.`) });
        } else {
          await files.heldout.write({ id: `${id}-colour`, image: rel, conversations: turn(COLOUR_QUESTION, `${cap(colour)}.`) });
        }
        if (images % 100 === 0) o.onProgress?.(images);
      }
    }
    const out: ShapesSummary["files"] = [];
    for (const w of Object.values(files)) {
      await w.close();
      out.push({ path: w.file, records: w.count });
    }
    o.onProgress?.(images);
    return { files: out, images };
  } catch (err) {
    for (const w of Object.values(files)) await w.abort();
    throw err;
  }
}
