// Generation: a prompt of token ids with one image (its slots at image_start_idx) → new token ids, one at
// a time, greedy or sampled (temperature, then top-p, from a seeded generator), until eos, a token budget
// or the model's last position. With the key/value cache each new token runs through the decoder alone;
// without it the whole sequence runs again for every token (the reference the cache is tested against).
import * as tf from "../backend/tf.js";
import type { Tokenizer } from "../text/tokenizer.js";
import { Random } from "../util/random.js";
import { cachedStepMask, causalPaddingMask, type Tensor } from "./layers.js";
import { decoder, embedTokens, KVCache, lmHead } from "./llama.js";
import type { Batch, LlavaModel } from "./llava.js";

export interface Sampling {
  /** 0 is greedy. */
  temperature: number;
  /** Keep the most likely tokens whose probabilities add up to at least this (1 keeps all). */
  topP: number;
  seed: number;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** Generation stops after this token (which is returned with the others). */
  eosId?: number;
  /** Omitted, or temperature 0: greedy (the most likely token; the lowest id on a tie, as torch.argmax). */
  sampling?: Sampling;
  /** false: no key/value cache. Default true. */
  cache?: boolean;
  /** Called with each new token as soon as it is chosen (streaming). */
  onToken?: (id: number) => void;
}

export interface GenerateResult {
  ids: number[];
  stop: "eos" | "max_new_tokens" | "max_length";
}

/** The index of the largest value (the first of equal ones). */
export function argmax(xs: Float32Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** A token drawn from logits with temperature and top-p (nucleus) filtering, as HF's warpers order them. */
export function sampleToken(logits: Float32Array, s: Sampling, rng: Random): number {
  if (s.temperature <= 0) return argmax(logits);
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += probs[i] = Math.exp((logits[i]! - max) / s.temperature);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b);
  // The nucleus: the fewest most-likely tokens whose mass reaches top_p (at least one).
  let kept = 0,
    mass = 0;
  while (kept < order.length && (kept === 0 || mass < s.topP * sum)) mass += probs[order[kept++]!]!;
  let r = rng.next() * mass;
  for (let i = 0; i < kept; i++) {
    r -= probs[order[i]!]!;
    if (r < 0) return order[i]!;
  }
  return order[kept - 1]!;
}

/** Tokens generated after `prompt` (ids with the image's slots at the model's image_start_idx), for one image [C, H, W]. */
export async function generate(
  model: LlavaModel,
  prompt: readonly number[],
  image: Float32Array,
  o: GenerateOptions,
): Promise<GenerateResult> {
  const c = model.config;
  const v = c.arch.vision;
  const limit = c.max_sequence_length;
  if (prompt.length === 0) throw new Error("the prompt is empty");
  if (prompt.length > limit) throw new Error(`the prompt has ${prompt.length} tokens; the model reads at most ${limit}`);
  if (c.image_start_idx + c.num_patches > prompt.length)
    throw new Error(
      `the image slots [${c.image_start_idx}, ${c.image_start_idx + c.num_patches}) do not fit in the prompt's ${prompt.length} tokens`,
    );
  const batchOf = (ids: readonly number[]): Batch => ({
    size: 1,
    length: ids.length,
    inputIds: Int32Array.from(ids),
    lossMask: new Int32Array(ids.length),
    labels: new Int32Array(ids.length),
    keyPadding: new Int32Array(ids.length),
    images: image,
    imageShape: [v.num_channels, v.image_size[0], v.image_size[1]],
  });
  const run = { training: false };
  const rng = new Random(o.sampling?.seed ?? 0);
  const ids: number[] = [];
  const features = tf.tidy(() => model.visionFeatures(batchOf(prompt), run));
  const cache = o.cache === false ? undefined : new KVCache(c.arch.text.num_hidden_layers);
  const lastLogits = (h: Tensor) => lmHead(model.params, h.slice([0, h.shape[1]! - 1, 0], [1, 1, -1])).reshape([-1]);
  try {
    let stop: GenerateResult["stop"] = "max_new_tokens";
    for (let step = 0; step < o.maxNewTokens; step++) {
      if (prompt.length + ids.length > limit) {
        stop = "max_length";
        break;
      }
      const logits = tf.tidy(() => {
        if (!cache) return lastLogits(model.hidden(batchOf([...prompt, ...ids]), { ...run, features }));
        if (step === 0) {
          const b = batchOf(prompt);
          const x = model.embed(b, { ...run, features });
          return lastLogits(
            decoder(
              model.params,
              c.arch.text,
              c.text,
              x,
              causalPaddingMask(b.keyPadding, 1, b.length, b.length, c.text.sliding_window),
              run,
              cache,
            ),
          );
        }
        // One new position, which attends every cached one (no mask), or the last sliding_window of them.
        const x = embedTokens(model.params, tf.tensor2d([ids[ids.length - 1]!], [1, 1], "int32"));
        const window = c.text.sliding_window;
        const mask = window !== undefined && cache.length >= window ? cachedStepMask(cache.length, 1, window) : undefined;
        return lastLogits(decoder(model.params, c.arch.text, c.text, x, mask, run, cache));
      });
      const row = (await logits.data()) as Float32Array;
      logits.dispose();
      const id = o.sampling ? sampleToken(row, o.sampling, rng) : argmax(row);
      ids.push(id);
      o.onToken?.(id);
      if (id === o.eosId) {
        stop = "eos";
        break;
      }
    }
    return { ids, stop };
  } finally {
    features.dispose();
    cache?.dispose();
  }
}

/**
 * Decoded text as tokens arrive: each call gives the text the new token adds. SentencePiece joins pieces
 * (a word's leading space, bytes of one character split over tokens), so the whole answer is decoded and
 * the part not yet shown is returned; an unfinished character (U+FFFD at the end) waits for its next byte.
 */
export function textStream(tok: Tokenizer, eosId = tok.eosId): (id: number) => string {
  const ids: number[] = [];
  let shown = 0;
  return (id) => {
    if (id === eosId) return "";
    ids.push(id);
    const text = tok.decode(ids);
    const ready = text.endsWith("\uFFFD") ? text.slice(0, -1) : text;
    if (ready.length <= shown) return "";
    const out = ready.slice(shown);
    shown = ready.length;
    return out;
  };
}
