// Synthetic LLaVA-665K-like conversations: about 300 words over 2–6 turns, most with an image.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";

const WORDS = (
  "the a of and to in is it that with on for as are this by be at from or an was which image picture photo shows " +
  "person people man woman child dog cat car street building tree sky table window left right top bottom color red blue green " +
  "white black small large two three several many near behind front side holding standing sitting looking wearing answer " +
  "question using single word phrase describe detail scene background foreground object appears likely because"
).split(" ");

export function rng(seed) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 4294967296;
}

// `modelKey`: text-only records carry LLaVA-665K's `"model": ""` (the Cerebras writer requires it).
export async function syntheticDataset(dir, samples, { images = 20, seed = 1, modelKey = false } = {}) {
  const r = rng(seed);
  const words = (n) => Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" ");
  mkdirSync(path.join(dir, "images/coco"), { recursive: true });
  for (let i = 0; i < images; i++) {
    await sharp({
      create: { width: 640, height: 480, channels: 3, background: { r: (i * 37) % 255, g: (i * 91) % 255, b: (i * 53) % 255 } },
    })
      .jpeg()
      .toFile(path.join(dir, `images/coco/${String(i).padStart(12, "0")}.jpg`));
  }
  const lines = [];
  for (let i = 0; i < samples; i++) {
    const turns = 2 * (1 + Math.floor(r() * 3)); // 2, 4 or 6
    const perTurn = Math.round(300 / turns);
    const conv = [];
    for (let t = 0; t < turns; t++)
      conv.push({ from: t % 2 ? "gpt" : "human", value: words(t % 2 ? perTurn + 10 : Math.max(5, perTurn - 10)) + (t % 2 ? "." : "?") });
    const image = i % 16 === 0 ? undefined : `coco/${String(Math.floor(r() * images)).padStart(12, "0")}.jpg`;
    if (image) conv[0].value = "<image>\n" + conv[0].value;
    lines.push(JSON.stringify({ id: `syn${i}`, ...(image ? { image } : modelKey ? { model: "" } : {}), conversations: conv }));
  }
  mkdirSync(path.join(dir, "jsonl"), { recursive: true });
  writeFileSync(path.join(dir, "jsonl/mix.jsonl"), lines.join("\n") + "\n");
}
