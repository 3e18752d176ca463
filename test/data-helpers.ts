// Building small HDF5 jobs for the tests: jsonl inputs, images, and a job config like the CLI's.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import type { Hdf5JobConfig } from "../runtime/data/hdf5-job.js";
import type { Template } from "../runtime/text/layout.js";

export const VICUNA: Template = {
  name: "vicuna_v1",
  layout: "chat",
  user: "USER:",
  assistant: "ASSISTANT:",
  system:
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.",
};
export const PLAIN: Template = { name: "plain", layout: "plain", system: "", user: "", assistant: "" };

export function tempDir(prefix = "llavac-data-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function writeImage(file: string, color = "#3366cc"): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: 16, height: 12, channels: 3, background: color } })
    .jpeg()
    .toFile(file);
}

export function sample(id: string, image: string | undefined, q: string, a: string) {
  return JSON.stringify({
    id,
    ...(image ? { image } : {}),
    conversations: [
      { from: "human", value: image ? `<image>\n${q}` : q },
      { from: "gpt", value: a },
    ],
  });
}

export function jobConfig(dir: string, over: Partial<Hdf5JobConfig> = {}): Hdf5JobConfig {
  return {
    inputs: [path.join(dir, "jsonl")],
    out: path.join(dir, "h5"),
    imageRoot: path.join(dir, "images"),
    checkImages: true,
    template: VICUNA,
    tokenizer: { kind: "llama2" },
    padId: 0,
    msl: 128,
    numPatches: 16,
    filesPerRecord: 4,
    outputName: "examples",
    overLength: "drop",
    workers: 0,
    force: false,
    params: { setup: {}, processing: {}, dataset: {} },
    vocabSize: 32000,
    eosId: 2,
    ...over,
  };
}

export function writeLines(file: string, lines: string[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, lines.join("\n") + "\n");
}

/**
 * `<dir>/tokenizer.model`: the tiny example's own 512-piece sentencepiece model (fitted to the shapes data
 * and the templates by tools/tiny-tokenizer/train_tokenizer.py), for tiny models trained on that data with
 * `vocab_size` the returned piece count instead of LLaMA-2's 32,000. Any text still tokenises (byte fallback).
 */
export const TINY_TOKENIZER = path.join(path.dirname(fileURLToPath(import.meta.url)), "../examples/tiny-shapes/tokenizer/tokenizer.model");
export function writeSmallTokenizer(dir: string): number {
  copyFileSync(TINY_TOKENIZER, path.join(dir, "tokenizer.model"));
  return 512;
}
