// Question-answer datasets → LLaVA records. Layouts and record shapes follow the Cerebras converters
// (preprocess_dataset.py), without their faults: ids are unique, malformed items are skipped and counted
// instead of crashing, and large JSON arrays are streamed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { jsonArray } from "../json-stream.js";
import { readLines } from "../jsonl.js";
import { llavaRecord } from "../records.js";
import { joinImage, PrepareError, requireDir, type PrepareOptions, type Sink } from "./sink.js";

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

function splitsOf(opts: PrepareOptions, available: string[]): string[] {
  const wanted = opts.splits ?? ["train"];
  if (wanted.includes("all")) return available;
  const unknown = wanted.filter((s) => !available.includes(s));
  if (unknown.length) throw new PrepareError(`unknown split ${unknown.join(", ")} (this dataset has ${available.join(", ")})`);
  return wanted;
}

/** ChartQA: <input>/{train,val,test}/{split}_{human,augmented}.json, lists of {imgname, query, label}. */
export async function chartqa(opts: PrepareOptions, sink: Sink): Promise<void> {
  requireDir(opts.input, "ChartQA folder");
  const prefix = opts.imagePrefix ?? "ChartQA_Dataset";
  for (const split of splitsOf(opts, ["train", "val", "test"])) {
    for (const subset of ["human", "augmented"]) {
      const file = path.join(opts.input, split, `${split}_${subset}.json`);
      if (!existsSync(file)) {
        sink.skip("missing_file", file, "not found");
        continue;
      }
      for await (const { index, value } of jsonArray(file)) {
        const v = value as Record<string, unknown>;
        const img = str(v?.imgname),
          q = str(v?.query),
          a = str(v?.label);
        const where = `${file}[${index}]`;
        if (!img || !q || a === undefined || a === "") {
          sink.skip("incomplete_item", where, "needs imgname, query and label");
          continue;
        }
        await sink.add(
          `chartqa_${split}_${subset}.jsonl`,
          llavaRecord(`chartqa_${split}_${subset}_${index}`, joinImage(prefix, `${split}/png/${img}`), q, a),
        );
      }
    }
  }
}

/** DVQA: <input>/{train,val_easy,val_hard}_qa.json, lists of {question_id, image, question, answer}. */
export async function dvqa(opts: PrepareOptions, sink: Sink): Promise<void> {
  requireDir(opts.input, "DVQA folder");
  const prefix = opts.imagePrefix ?? "DVQA/images";
  for (const split of splitsOf(opts, ["train", "val_easy", "val_hard"])) {
    const file = path.join(opts.input, `${split}_qa.json`);
    if (!existsSync(file)) throw new PrepareError(`DVQA ${split} file not found: ${file}`);
    for await (const { index, value } of jsonArray(file)) {
      const v = value as Record<string, unknown>;
      const id = str(v?.question_id),
        img = str(v?.image),
        q = str(v?.question),
        a = str(v?.answer);
      if (!id || !img || !q || a === undefined || a === "") {
        sink.skip("incomplete_item", `${file}[${index}]`, "needs question_id, image, question and answer");
        continue;
      }
      await sink.add(`dvqa_${split}.jsonl`, llavaRecord(id, joinImage(prefix, img), q, a));
    }
  }
}

/** DocVQA-style: {"data": [{questionId, <image field>, question, answers[]}]}. */
async function docvqa(
  opts: PrepareOptions,
  sink: Sink,
  name: string,
  files: Record<string, string>,
  imageField: string,
  prefix: string,
  basename: boolean,
): Promise<void> {
  requireDir(opts.input, `${name} folder`);
  for (const split of splitsOf(opts, Object.keys(files))) {
    const file = path.join(opts.input, files[split]!);
    if (!existsSync(file)) throw new PrepareError(`${name} ${split} file not found: ${file}`);
    for await (const { index, value } of jsonArray(file, "data")) {
      const v = value as Record<string, unknown>;
      const id = str(v?.questionId),
        img = str(v?.[imageField]),
        q = str(v?.question);
      const answers = Array.isArray(v?.answers) ? (v.answers as unknown[]).map(str).filter((x): x is string => !!x) : [];
      const where = `${file}#data[${index}]`;
      if (!id || !img || !q) {
        sink.skip("incomplete_item", where, `needs questionId, ${imageField} and question`);
        continue;
      }
      if (answers.length === 0) {
        sink.skip("no_answer", where, "`answers` is empty (test splits have no answers)");
        continue;
      }
      await sink.add(
        `${name}_${split}.jsonl`,
        llavaRecord(id, joinImage(opts.imagePrefix ?? prefix, basename ? path.posix.basename(img) : img), q, answers[0]!),
      );
    }
  }
}

export const spDocvqa = (opts: PrepareOptions, sink: Sink) =>
  docvqa(
    opts,
    sink,
    "sp_docvqa",
    { train: "train_v1.0_withQT.json", val: "val_v1.0_withQT.json" },
    "image",
    "DocVQA/sp_docvqa/images",
    true,
  );

export const infographicsDocvqa = (opts: PrepareOptions, sink: Sink) =>
  docvqa(
    opts,
    sink,
    "infographics_docvqa",
    { train: "infographicsVQA_train_v1.0.json", val: "infographicsVQA_val_v1.0_withQT.json" },
    "image_local_name",
    "DocVQA/Infographicsvqa/images",
    false,
  );

/** AI2D: <input>/questions/*.json, each {imageName, questions: {text: {questionId, answerTexts[], correctAnswer}}}. */
export async function ai2d(opts: PrepareOptions, sink: Sink): Promise<void> {
  const dir = path.join(opts.input, "questions");
  requireDir(dir, "AI2D questions folder");
  const prefix = opts.imagePrefix ?? "ai2d/images";
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const file = path.join(dir, name);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (err) {
      sink.skip("malformed_json", file, (err as Error).message);
      continue;
    }
    const image = str(doc?.imageName);
    const questions = doc?.questions;
    if (!image || questions === null || typeof questions !== "object") {
      sink.skip("incomplete_item", file, "needs imageName and questions");
      continue;
    }
    for (const [text, q] of Object.entries(questions as Record<string, Record<string, unknown>>)) {
      const options = Array.isArray(q?.answerTexts) ? (q.answerTexts as unknown[]).map((x) => str(x) ?? "") : [];
      const correct = q?.correctAnswer;
      const id = str(q?.questionId) ?? `${name}:${text}`;
      if (options.length === 0 || typeof correct !== "number" || !Number.isInteger(correct) || correct < 0 || correct >= options.length) {
        sink.skip("bad_answer", `${file}: ${id}`, `correctAnswer ${JSON.stringify(correct)} is not one of ${options.length} options`);
        continue;
      }
      // Every option is labelled (a), b), ...); the answer is the labelled correct option.
      const label = (i: number) => String.fromCharCode(97 + i) + ")";
      const listed = options.map((o, i) => `${label(i)} ${o}`).join(" ");
      await sink.add("ai2d.jsonl", llavaRecord(id, joinImage(prefix, image), `${text} ${listed}`, `${label(correct)} ${options[correct]}`));
    }
  }
}

/** ArxivQA: a jsonl of {id, image, question, options[], label, rationale}. */
export async function arxivqa(opts: PrepareOptions, sink: Sink): Promise<void> {
  const file = existsSync(path.join(opts.input, "arxivqa.jsonl")) ? path.join(opts.input, "arxivqa.jsonl") : opts.input;
  if (!existsSync(file) || !file.endsWith(".jsonl")) throw new PrepareError(`ArxivQA jsonl not found: ${opts.input}`);
  const prefix = opts.imagePrefix ?? "ArxivQA";
  for await (const { line, text } of readLines(file)) {
    const where = `${file}:${line}`;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      sink.skip("malformed_json", where, (err as Error).message);
      continue;
    }
    const id = str(v?.id),
      img = str(v?.image),
      q = str(v?.question);
    const options = Array.isArray(v?.options) ? (v.options as unknown[]).map((x) => str(x) ?? "") : [];
    const label = (str(v?.label) ?? "").trim(),
      rationale = (str(v?.rationale) ?? "").trim();
    if (!id || !img || !q) {
      sink.skip("incomplete_item", where, "needs id, image and question");
      continue;
    }
    let answer: string;
    const letter = label.charCodeAt(0) - 65;
    if (label && letter >= 0 && letter < 9) {
      if (letter >= options.length) {
        sink.skip("bad_answer", where, `label ${label} but ${options.length} options`);
        continue;
      }
      answer = `${options[letter]} ${rationale}`.trim();
    } else {
      answer = `${label} ${rationale}`.trim();
    }
    if (!answer) {
      sink.skip("no_answer", where, "empty label and rationale");
      continue;
    }
    await sink.add("arxivqa.jsonl", llavaRecord(id, joinImage(prefix, img), `${q} ${options.join(" ")}`.trim(), answer));
  }
}
