// Multiple-choice evaluation: lay out a question with the phase's template (the same code the HDF5
// writer uses), run the model, and pick the choice whose first token the model ranks highest at the
// answer's first position. Used to measure what a phase learned on held-out data.
import * as tf from "../backend/tf.js";
import { prepareImage, type ImageTransform } from "../data/images.js";
import type { LlavaModel, Batch } from "../model/llava.js";
import { layoutConversation, type Template } from "../text/layout.js";
import type { Tokenizer } from "../text/tokenizer.js";

export interface ChoiceItem {
  image: string;
  question: string;
  /** The right answer: one of the choices. */
  answer: string;
}

export interface ChoiceResult {
  correct: number;
  total: number;
  accuracy: number;
  /** confusion[answer][predicted] */
  confusion: Record<string, Record<string, number>>;
}

export async function choiceAccuracy(
  model: LlavaModel,
  tok: Tokenizer,
  template: Template,
  transforms: ImageTransform[],
  items: ChoiceItem[],
  choices: string[],
  batchSize = 16,
): Promise<ChoiceResult> {
  const c = model.config;
  const firstIds = choices.map((ch) => tok.encode(ch)[0]!);
  if (new Set(firstIds).size !== firstIds.length) throw new Error(`the choices ${choices.join(", ")} do not start with distinct tokens`);
  const confusion: ChoiceResult["confusion"] = {};
  let correct = 0;
  const [C, H, W] = [c.arch.vision.num_channels, c.arch.vision.image_size[0], c.arch.vision.image_size[1]];
  for (let s = 0; s < items.length; s += batchSize) {
    const group = items.slice(s, s + batchSize);
    const laid = group.map((it) => {
      const r = layoutConversation(
        tok,
        template,
        [
          { from: "human", value: `<image>\n${it.question}` },
          { from: "gpt", value: it.answer },
        ],
        true,
        { numPatches: c.num_patches, msl: c.max_sequence_length },
      );
      if (!r.ok) throw new Error(`cannot lay out "${it.question}": ${r.detail}`);
      return r;
    });
    const T = Math.max(...laid.map((r) => r.length));
    const n = group.length;
    const b: Batch = {
      size: n,
      length: T,
      imageShape: [C, H, W],
      inputIds: new Int32Array(n * T),
      lossMask: new Int32Array(n * T),
      labels: new Int32Array(n * T),
      keyPadding: new Int32Array(n * T),
      images: new Float32Array(n * C * H * W),
    };
    const answerAt: number[] = [];
    for (let k = 0; k < n; k++) {
      const [ids, loss, labels, pad] = laid[k]!.rows;
      b.inputIds.set(ids.subarray(0, T), k * T);
      b.lossMask.set(loss.subarray(0, T), k * T);
      b.labels.set(labels.subarray(0, T), k * T);
      b.keyPadding.set(pad.subarray(0, T), k * T);
      answerAt.push(loss.indexOf(1));
      b.images.set((await prepareImage(group[k]!.image, transforms)).data, k * C * H * W);
    }
    const scores = tf.tidy(() => {
      const h = model.logits(b);
      const rows = tf.gather(
        h.reshape([n * T, -1]),
        tf.tensor1d(
          answerAt.map((p, k) => k * T + p),
          "int32",
        ),
      );
      return tf.gather(rows, tf.tensor1d(firstIds, "int32"), 1).arraySync() as number[][];
    });
    scores.forEach((row, k) => {
      const predicted = choices[row.indexOf(Math.max(...row))]!;
      const answer = group[k]!.answer;
      (confusion[answer] ??= {})[predicted] = (confusion[answer]?.[predicted] ?? 0) + 1;
      if (predicted === answer) correct++;
    });
  }
  return { correct, total: items.length, accuracy: correct / Math.max(1, items.length), confusion };
}
