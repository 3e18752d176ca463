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

export type RecordProblem = { reason: "malformed_json" | "invalid_utf8" | "invalid_record"; detail: string };

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
  if (v === null || typeof v !== "object" || Array.isArray(v))
    return bad(Array.isArray(v) ? "a JSON array, not an object (one record per line)" : "not a JSON object");
  const r = v as Record<string, unknown>;
  if (!Array.isArray(r.conversations)) return bad("`conversations` is missing or not a list");
  for (const [i, t] of r.conversations.entries()) {
    if (t === null || typeof t !== "object") return bad(`conversations[${i}] is not an object`);
    const turn = t as Record<string, unknown>;
    if (typeof turn.value !== "string") return bad(`conversations[${i}].value is missing or not a string`);
    if (turn.from !== undefined && typeof turn.from !== "string") return bad(`conversations[${i}].from is not a string`);
  }
  if (r.image !== undefined && r.image !== null && typeof r.image !== "string")
    return bad("`image` is not a string (one image per sample)");
  if (r.id !== undefined && typeof r.id !== "string" && typeof r.id !== "number") return bad("`id` is not a string or number");
  const rec: LlavaRecord = {
    ...r,
    id: (r.id as string | number | undefined) ?? "",
    conversations: (r.conversations as Record<string, unknown>[]).map((t) => ({
      from: (t.from as string | undefined) ?? "",
      value: t.value as string,
    })),
  };
  if (typeof r.image === "string") rec.image = r.image;
  else delete rec.image;
  return rec;
}

export function isProblem(x: LlavaRecord | RecordProblem): x is RecordProblem {
  return (x as RecordProblem).reason !== undefined && (x as LlavaRecord).conversations === undefined;
}

/** A record in LLaVA's layout: `<image>\n` starts the first human turn when there is an image. */
export function llavaRecord(id: string | number, image: string | undefined, question: string, answer: string): LlavaRecord {
  const rec: LlavaRecord = {
    id,
    conversations: [
      { from: "human", value: image === undefined ? question : `<image>\n${question}` },
      { from: "gpt", value: answer },
    ],
  };
  if (image !== undefined) rec.image = image;
  // Key order: id, image, conversations.
  return image === undefined ? rec : { id, image, conversations: rec.conversations };
}

/** The roles LLaVA data uses for the two sides of a turn pair (its own "human"/"gpt", and the chat names). */
const isPromptRole = (from: string) => from === "human" || from === "user";
const isAnswerRole = (from: string) => from === "gpt" || from === "assistant";

export type ConversationProblem = { reason: "bad_role" | "role_order" | "image_token_count"; detail: string };

/**
 * What makes a well-formed record a bad training sample, before any tokenising. The Cerebras writer pairs
 * turns by position and ignores roles, so a human turn in an answer's place would be trained as the
 * assistant's answer; and it removes every `<image>` while the features fill exactly one slot block, so a
 * count other than one (or any in a text-only sample) means the text and the image disagree. Used by the
 * HDF5 writer and by `check --data`, so both count the same samples.
 */
export function conversationProblem(rec: LlavaRecord, imageToken = "<image>"): ConversationProblem | undefined {
  // (indexed loops and plain compares: this runs for every record `check --data` reads)
  const turns = rec.conversations;
  for (let i = 0; i < turns.length; i++) {
    const from = turns[i]!.from;
    const prompt = i % 2 === 0;
    const asPrompt = isPromptRole(from);
    if (!asPrompt && !isAnswerRole(from))
      return { reason: "bad_role", detail: `conversations[${i}].from is ${JSON.stringify(from)}: expected human or gpt` };
    if (prompt !== asPrompt)
      return {
        reason: "role_order",
        detail: `conversations[${i}] is a ${from} turn where a ${prompt ? "human" : "gpt"} turn belongs (turns alternate human, gpt, ...)`,
      };
  }
  let count = 0;
  for (let i = 0; i < turns.length; i++) {
    const v = turns[i]!.value;
    for (let at = v.indexOf(imageToken); at >= 0; at = v.indexOf(imageToken, at + imageToken.length)) count++;
  }
  if (rec.image !== undefined && count !== 1)
    return { reason: "image_token_count", detail: `${count} ${imageToken} placeholders for one image (expected exactly 1)` };
  if (rec.image === undefined && count > 0)
    return {
      reason: "image_token_count",
      detail: `${count} ${imageToken} placeholder${count > 1 ? "s" : ""} in a sample without an image`,
    };
  return undefined;
}
