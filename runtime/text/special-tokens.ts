// How a Hugging Face tokenizer folder names its special tokens (bos, eos, pad, unk), read by both tokenizer
// kinds: the sentencepiece one for its pad rule (tokenizer.ts folderPadRule) and the tokenizer.json one for
// all four (hf-tokenizer.ts). One home for where the names live and in which order they are looked up.

/** The files that name special tokens, in the order transformers consults them. */
export const SPECIAL_TOKEN_FILES = ["tokenizer_config.json", "special_tokens_map.json"] as const;

/** A special token as the files write it: a string, or an AddedToken object with its `content`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return undefined;
}

/**
 * The token `key` names in the first of `files` (read in SPECIAL_TOKEN_FILES' order) that names one. With
 * `nullStops`, a file's explicit `null` is the answer (no such token); without it, a null is passed over like
 * a missing key. (The two readers differ there; which of the two transformers 4.3x follows was not settled: no
 * such version is at hand to compare against.)
 */
export function specialToken(
  files: readonly (Record<string, unknown> | undefined)[],
  key: string,
  nullStops: boolean,
): string | null | undefined {
  for (const o of files) {
    if (!o || !(key in o)) continue;
    const v = o[key];
    if (v === null) {
      if (nullStops) return null;
      continue;
    }
    const t = tokenText(v);
    if (t !== undefined) return t;
  }
  return undefined;
}
