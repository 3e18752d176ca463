// LLaVA conversation records, as LLaVA and the Cerebras writer read them:
//   { "id": ..., "image": "relative/path.jpg", "conversations": [{ "from": "human", "value": "<image>\n..." }, { "from": "gpt", "value": "..." }] }
// `image` is absent for text-only samples (LLaVA-665K's ShareGPT records also carry "model": "").

export interface Turn {
  from: string;
  value: string;
}

export interface LlavaRecord {
  id: string | number;
  image?: string;
  conversations: Turn[];
  [extra: string]: unknown;
}

export type RecordProblem = { reason: "malformed_json" | "invalid_record"; detail: string };

/** Parse one jsonl line into a record, or say precisely what is wrong with it. */
export function parseRecord(line: string): LlavaRecord | RecordProblem {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return { reason: "malformed_json", detail: (err as Error).message };
  }
  return validateRecord(v);
}

export function validateRecord(v: unknown): LlavaRecord | RecordProblem {
  const bad = (detail: string): RecordProblem => ({ reason: "invalid_record", detail });
  if (v === null || typeof v !== "object" || Array.isArray(v)) return bad(Array.isArray(v) ? "a JSON array, not an object (one record per line)" : "not a JSON object");
  const r = v as Record<string, unknown>;
  if (!Array.isArray(r.conversations)) return bad("`conversations` is missing or not a list");
  for (const [i, t] of r.conversations.entries()) {
    if (t === null || typeof t !== "object") return bad(`conversations[${i}] is not an object`);
    const turn = t as Record<string, unknown>;
    if (typeof turn.value !== "string") return bad(`conversations[${i}].value is missing or not a string`);
    if (turn.from !== undefined && typeof turn.from !== "string") return bad(`conversations[${i}].from is not a string`);
  }
  if (r.image !== undefined && r.image !== null && typeof r.image !== "string") return bad("`image` is not a string (one image per sample)");
  if (r.id !== undefined && typeof r.id !== "string" && typeof r.id !== "number") return bad("`id` is not a string or number");
  const rec: LlavaRecord = { ...r, id: (r.id as string | number | undefined) ?? "", conversations: (r.conversations as Record<string, unknown>[]).map((t) => ({ from: (t.from as string | undefined) ?? "", value: t.value as string })) };
  if (typeof r.image === "string") rec.image = r.image; else delete rec.image;
  return rec;
}

export function isProblem(x: LlavaRecord | RecordProblem): x is RecordProblem {
  return (x as RecordProblem).reason !== undefined && (x as LlavaRecord).conversations === undefined;
}

/** A record in LLaVA's layout: `<image>\n` starts the first human turn when there is an image. */
export function llavaRecord(id: string | number, image: string | undefined, question: string, answer: string): LlavaRecord {
  const rec: LlavaRecord = { id, conversations: [{ from: "human", value: image === undefined ? question : `<image>\n${question}` }, { from: "gpt", value: answer }] };
  if (image !== undefined) rec.image = image;
  // Key order: id, image, conversations.
  return image === undefined ? rec : { id, image, conversations: rec.conversations };
}
