// How one conversation becomes the four rows of a Cerebras LLaVA sample. This is the single home of the
// token layout: the compiler derives `image_start_idx` from it and the HDF5 writer writes its rows.
//
// Rows (each MSL long): 0 input_ids, 1 loss mask, 2 labels, 3 key-padding mask (1 = do not attend).
// input_ids = tokens[:-1] and labels = tokens[1:], so a mask value at position j is about predicting
// tokens[j + 1].
//
//  plain (phase 1): <s> [slots] caption </s>                         the human turn is dropped
//  chat  (phase 2): <s> SYSTEM USER: ▁ [slots] prompt ASSISTANT: answer </s> USER: ... </s>
//  turns          : [<s>] sys_h SYSTEM sys_f sep  user_h [slots] prompt user_f sep  asst_h answer asst_f sep ...
//                   (Llama-3, ChatML, Mistral [INST]: headers and footers hold special tokens; the answer and the
//                   assistant footer, its end-of-turn token, carry loss; text between special tokens is
//                   tokenised as one string, as Hugging Face tokenises a rendered chat template)
import { type FtfyNormalization, fixText } from "./ftfy.js";
import type { Tokenizer } from "./tokenizer.js";

export type TemplateLayout = "plain" | "chat" | "turns";

/** The parts of a `turns` template: per role a header and a footer (text in which the tokenizer's special tokens
 *  are written as their text), a separator after every footer, whether BOS starts the sample. */
export interface TurnParts {
  bos: boolean;
  systemHeader: string;
  systemFooter: string;
  userHeader: string;
  userFooter: string;
  assistantHeader: string;
  /** The assistant's end of turn (`<|eot_id|>`, `<|im_end|>`, `</s>`): it carries loss. */
  assistantFooter: string;
  separator: string;
  /** Strip each prompt and answer (Llama-3's template trims message contents). */
  trim: boolean;
}

export interface Template {
  name: string;
  layout: TemplateLayout;
  /** System prompt (chat only); tokenised with BOS in front, as the Cerebras writer does. */
  system: string;
  /** Role prefixes (chat only), e.g. "USER:" and "ASSISTANT:". */
  user: string;
  assistant: string;
  /** The `turns` layout's parts (absent for plain and chat). */
  turns?: TurnParts;
}

export interface Turn {
  from: string;
  value: string;
}

/** How the writer cleans each prompt and completion before tokenising: the preprocess config's `use_ftfy`
 *  and `ftfy_normalizer`. Without ftfy the text is left exactly as it is (no normalisation either). */
export interface TextCleaning {
  useFtfy: boolean;
  normalizer: FtfyNormalization;
}

/** The standard library's defaults (`use_ftfy: true`, `ftfy_normalizer: "NFC"`), as in Model Zoo's LLaVA configs. */
export const DEFAULT_CLEANING: TextCleaning = { useFtfy: true, normalizer: "NFC" };

/** One prompt or completion as the Cerebras writer cleans it (after removing the image placeholder). */
export function cleanText(text: string, c: TextCleaning = DEFAULT_CLEANING): string {
  return c.useFtfy ? fixText(text, { normalization: c.normalizer }) : text;
}

export interface LayoutOptions {
  numPatches: number;
  /** Maximum sequence length: the length of every row. */
  msl: number;
  /** The placeholder that marks the image; removed from every prompt of a sample with an image. */
  imageToken?: string;
  /** A sample longer than MSL is dropped (the Cerebras behaviour for phase 2) or cut to MSL. */
  overLength?: "drop" | "truncate";
  /** Text cleaning of prompts and completions; DEFAULT_CLEANING when absent. */
  cleaning?: TextCleaning;
}

export type SkipReason = "odd_turns" | "no_turns" | "too_long" | "no_supervised_tokens";

export type LayoutResult =
  | { ok: true; rows: [Int32Array, Int32Array, Int32Array, Int32Array]; imageStart: number; length: number; supervised: number }
  | { ok: false; reason: SkipReason; detail: string };

// Per-token roles, from which the loss and key-padding rows follow.
const TEXT = 0,
  SUPERVISED = 1,
  SLOT = 2,
  EOS_MID = 3;

/**
 * The token stream of a conversation before padding: each token's role as runs (role, count) and, when the
 * ids are wanted (the writer), the ids and per-token roles. `check --data` needs only the runs, so it counts
 * tokens instead of building them (Tokenizer.count); both go through this one function.
 */
interface TokenStream {
  tokens: number[] | null;
  roles: number[] | null;
  /** Flattened (role, count) runs over every token. */
  runs: number[];
  size: number;
  imageStart: number;
}

class StreamBuilder implements TokenStream {
  readonly tokens: number[] | null;
  readonly roles: number[] | null;
  readonly runs: number[] = [];
  size = 0;
  imageStart = -1;
  constructor(
    private readonly tok: Tokenizer,
    withIds: boolean,
  ) {
    this.tokens = withIds ? [] : null;
    this.roles = withIds ? [] : null;
  }
  private run(role: number, n: number): void {
    if (n === 0) return;
    const r = this.runs;
    if (r.length > 0 && r[r.length - 2] === role) r[r.length - 1]! += n;
    else r.push(role, n);
    this.size += n;
  }
  ids(ids: readonly number[], role: number): void {
    if (this.tokens)
      for (const id of ids) {
        this.tokens.push(id);
        this.roles!.push(role);
      }
    this.run(role, ids.length);
  }
  /** `text` tokenised, or only counted when the ids are not wanted. */
  text(text: string, role: number): void {
    if (this.tokens) this.ids(this.tok.encode(text), role);
    else this.run(role, this.tok.count ? this.tok.count(text) : this.tok.encode(text).length);
  }
  /**
   * `text` cleaned (cleanText), then tokenised or counted. When only counting, a text that cleaning leaves as
   * it is (clean ASCII) is told so by the tokenizer's counting pass itself (countClean), which then counts
   * it: cleanText's own test of it is not run.
   */
  cleaned(text: string, role: number, cleaning: TextCleaning): void {
    const n = !this.tokens && this.tok.countClean ? this.tok.countClean(text) : -1;
    if (n >= 0) this.run(role, n);
    else this.text(cleanText(text, cleaning), role);
  }
  repeat(id: number, n: number, role: number): void {
    if (this.tokens)
      for (let i = 0; i < n; i++) {
        this.tokens.push(id);
        this.roles!.push(role);
      }
    this.run(role, n);
  }
  /** Gives the last token another role. */
  relabelLast(role: number): void {
    if (this.size === 0) return;
    if (this.roles) this.roles[this.roles.length - 1] = role;
    const r = this.runs;
    if (r[r.length - 2] === role) return;
    this.size--;
    if (--r[r.length - 1]! === 0) r.length -= 2;
    this.run(role, 1);
  }
}

/** The token stream of a conversation before padding, with each token's role. */
function tokenStream(
  tok: Tokenizer,
  template: Template,
  turns: readonly Turn[],
  hasImage: boolean,
  numPatches: number,
  imageToken: string,
  cleaning: TextCleaning,
  withIds = true,
): TokenStream {
  const clean = (s: string) => cleanText(s, cleaning);
  const b = new StreamBuilder(tok, withIds);

  if (template.layout === "turns") {
    const t = template.turns!;
    const pieces: Piece[] = [];
    const text = (s: string, target = false) => {
      if (s !== "") pieces.push({ text: s, target });
    };
    const body = (s: string) => {
      const c = clean(s);
      return t.trim ? c.trim() : c;
    };
    if (template.system !== "") {
      text(t.systemHeader);
      text(template.system);
      text(t.systemFooter);
      text(t.separator);
    }
    for (let i = 0; i < turns.length; i += 2) {
      const prompt = hasImage ? turns[i]!.value.replaceAll(imageToken, "") : turns[i]!.value;
      text(t.userHeader);
      // (no slots, no break: a layout without an image tokenises the header and the prompt as one string)
      if (i === 0 && numPatches > 0) pieces.push("slots");
      text(body(prompt));
      text(t.userFooter);
      text(t.separator);
      text(t.assistantHeader);
      if (i + 1 === turns.length) break;
      text(body(turns[i + 1]!.value), true);
      text(t.assistantFooter, true);
      text(t.separator);
    }
    // Role at position j is about predicting tokens[j + 1]: a target token makes its predecessor supervised.
    // (This layout finds each token's piece from the ids, so it builds them even when only counting.)
    const tokens: number[] = [];
    const targets: boolean[] = [];
    let imageStart = -1;
    if (t.bos) {
      tokens.push(tok.bosId);
      targets.push(false);
    }
    encodePieces(
      tok,
      pieces,
      (ids, target) => {
        for (let k = 0; k < ids.length; k++) {
          tokens.push(ids[k]!);
          targets.push(target[k]!);
        }
      },
      () => {
        imageStart = tokens.length;
        for (let k = 0; k < numPatches; k++) {
          tokens.push(tok.padId);
          targets.push(false);
        }
      },
    );
    b.imageStart = imageStart;
    for (let j = 0; j < tokens.length; j++) {
      const slot = j >= imageStart && j < imageStart + numPatches && imageStart >= 0;
      b.ids([tokens[j]!], targets[j + 1] ? SUPERVISED : slot ? SLOT : TEXT);
    }
  } else if (template.layout === "plain") {
    b.ids([tok.bosId], TEXT);
    b.imageStart = b.size;
    b.repeat(tok.padId, numPatches, SLOT);
    for (let i = 0; i + 1 < turns.length; i += 2) {
      if (i > 0) b.relabelLast(EOS_MID);
      b.cleaned(turns[i + 1]!.value, SUPERVISED, cleaning);
      b.ids([tok.eosId], SUPERVISED);
    }
  } else {
    // The system prompt is the writer's own text: not cleaned.
    const fixed = templateIds(tok, template);
    b.ids(fixed.system, TEXT);
    // An odd last turn (a prompt still to be answered: generation) ends the stream after the assistant role.
    for (let i = 0; i < turns.length; i += 2) {
      // The Cerebras writer removes the placeholder from every prompt of an image sample, wherever it is.
      const prompt = hasImage ? turns[i]!.value.replaceAll(imageToken, "") : turns[i]!.value;
      b.ids(fixed.user, TEXT);
      if (i === 0) {
        b.ids([fixed.space], SLOT);
        b.imageStart = b.size;
        b.repeat(tok.padId, numPatches, SLOT);
      }
      b.cleaned(prompt, TEXT, cleaning);
      b.ids(fixed.assistantHead, TEXT);
      b.ids(fixed.assistantLast, SUPERVISED);
      if (i + 1 === turns.length) break;
      b.cleaned(turns[i + 1]!.value, SUPERVISED, cleaning);
      b.ids([tok.eosId], EOS_MID);
    }
  }
  return b;
}

interface TemplateIds {
  system: number[];
  user: number[];
  assistantHead: number[];
  assistantLast: number[];
  space: number;
  /** The texts these ids are of (a template object changed after use is tokenised again). */
  texts: readonly [string, string, string];
}
// A template's fixed pieces, tokenised once per tokenizer and template object (not once per record).
const templateCache = new WeakMap<Tokenizer, WeakMap<Template, TemplateIds>>();
function templateIds(tok: Tokenizer, t: Template): TemplateIds {
  let m = templateCache.get(tok);
  if (!m) templateCache.set(tok, (m = new WeakMap()));
  let ids = m.get(t);
  // (compared field by field: the same strings compare at once, with no key string built per record)
  if (!ids || ids.texts[0] !== t.system || ids.texts[1] !== t.user || ids.texts[2] !== t.assistant) {
    const system = [tok.bosId, ...tok.encode(t.system)];
    const user = tok.encode(t.user);
    const assistant = tok.encode(t.assistant);
    ids = {
      system,
      user,
      assistantHead: assistant.slice(0, -1),
      assistantLast: assistant.slice(-1),
      space: tok.pieceToId("\u2581"),
      texts: [t.system, t.user, t.assistant],
    };
    m.set(t, ids);
  }
  return ids;
}

type Piece = { text: string; target: boolean } | "slots";

/** Splits text on the tokenizer's special tokens (written as their text), longest first, as Hugging Face does. */
function splitSpecial(tok: Tokenizer, s: string): (string | number)[] {
  const specials = tok.specialTokens();
  if (specials.size === 0) return [s];
  let re = specialRegex.get(specials);
  if (!re) {
    const names = [...specials.keys()].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    specialRegex.set(specials, (re = new RegExp(`(${names.join("|")})`, "u")));
  }
  return s.split(re).flatMap((x, i): (string | number)[] => (i % 2 === 1 ? [specials.get(x)!] : x === "" ? [] : [x]));
}
const specialRegex = new WeakMap<ReadonlyMap<string, number>, RegExp>();

/**
 * Tokenises pieces as one rendered string would be: the text between special tokens (and the image slots) is
 * encoded as a whole, and each token belongs to the piece that completes it (a token merged across a boundary
 * goes to the later piece), found by encoding the run's prefixes.
 */
function encodePieces(
  tok: Tokenizer,
  pieces: readonly Piece[],
  emit: (ids: readonly number[], target: readonly boolean[]) => void,
  slots: () => void,
): void {
  let run: { text: string; target: boolean }[] = [];
  const flush = () => {
    if (run.length === 0) return;
    let ids: number[] = [];
    let target: boolean[] = [];
    let prefix = "";
    for (const p of run) {
      prefix += p.text;
      const next = tok.encode(prefix);
      let c = 0;
      while (c < ids.length && c < next.length && ids[c] === next[c]) c++;
      target = [...target.slice(0, c), ...new Array<boolean>(next.length - c).fill(p.target)];
      ids = next;
    }
    emit(ids, target);
    run = [];
  };
  for (const p of pieces) {
    if (p === "slots") {
      flush();
      slots();
      continue;
    }
    for (const part of splitSpecial(tok, p.text)) {
      if (typeof part === "number") {
        flush();
        emit([part], [p.target]);
      } else run.push({ text: part, target: p.target });
    }
  }
  flush();
}

/**
 * What the layout of a conversation comes to, without the rows: the skip reason, or the length, the
 * supervised positions, and the length before any cut. `layoutConversation` (the HDF5 writer) and
 * `check --data` both start here, so they agree on every sample.
 */
export type LayoutPlan =
  | {
      ok: true;
      tokens: number[];
      roles: number[];
      imageStart: number;
      /** Positions written (at most MSL). */
      length: number;
      /** Positions the sample needs: over MSL when it was cut (`over_length: truncate`). */
      fullLength: number;
      supervised: number;
    }
  | { ok: false; reason: SkipReason; detail: string; fullLength?: number };

/**
 * Loss and attention at position j (predicting tokens[j + 1]), as `loss | attend << 1` (no allocation per
 * position): the one rule the rows and the counts use.
 */
function positionMasks(layout: TemplateLayout, role: number, j: number, imageStart: number, numPatches: number, image: number): number {
  if (layout === "plain") {
    // BOS is supervised only without an image; the last slot predicts the first caption token.
    if (j === 0) return 1 - image + 2;
    if (role === SLOT) return (j === imageStart + numPatches - 1 ? image : 0) + image * 2;
    return role === SUPERVISED ? 3 : 0;
  }
  return (role === SUPERVISED ? 1 : 0) + (role === SLOT ? image : 1) * 2;
}

export function planConversation(
  tok: Tokenizer,
  template: Template,
  turns: readonly Turn[],
  hasImage: boolean,
  opts: LayoutOptions,
): LayoutPlan {
  return plan(tok, template, turns, hasImage, opts, true) as LayoutPlan;
}

/** What a sample measures without its ids: the plan's verdict and lengths (`check --data`). */
export type LayoutMeasure =
  | { ok: true; imageStart: number; length: number; fullLength: number; supervised: number }
  | Extract<LayoutPlan, { ok: false }>;

/**
 * `planConversation` without building the token ids (the tokenizer only counts): the same verdict,
 * lengths and supervised count, from the same stream and the same position rule.
 */
export function measureConversation(
  tok: Tokenizer,
  template: Template,
  turns: readonly Turn[],
  hasImage: boolean,
  opts: LayoutOptions,
): LayoutMeasure {
  return plan(tok, template, turns, hasImage, opts, false);
}

function plan(
  tok: Tokenizer,
  template: Template,
  turns: readonly Turn[],
  hasImage: boolean,
  opts: LayoutOptions,
  withIds: boolean,
): LayoutPlan | LayoutMeasure {
  if (turns.length === 0) return { ok: false, reason: "no_turns", detail: "the conversation has no turns" };
  if (turns.length % 2 !== 0) return { ok: false, reason: "odd_turns", detail: `${turns.length} turns: every human turn needs an answer` };
  const { tokens, roles, runs, size, imageStart } = tokenStream(
    tok,
    template,
    turns,
    hasImage,
    opts.numPatches,
    opts.imageToken ?? "<image>",
    opts.cleaning ?? DEFAULT_CLEANING,
    withIds,
  );

  const fullLength = size - 1;
  let length = fullLength;
  if (length > opts.msl) {
    if (opts.overLength !== "truncate")
      return { ok: false, reason: "too_long", detail: `${length} tokens with the image slots; the limit is ${opts.msl}`, fullLength };
    if (imageStart >= 0 && imageStart + opts.numPatches > opts.msl)
      return {
        ok: false,
        reason: "too_long",
        detail: `the image slots end at ${imageStart + opts.numPatches}, past the limit ${opts.msl}`,
        fullLength,
      };
    length = opts.msl;
  }
  const image = hasImage ? 1 : 0;
  let supervised = 0;
  // Position by position over the role runs: the same rule as the rows (layoutRows). Outside plain, a
  // position's loss is its role's alone, so a run counts whole.
  const plain = template.layout === "plain";
  for (let r = 0, j = 0; r < runs.length && j < length; r += 2) {
    const role = runs[r]!;
    const end = Math.min(length, j + runs[r + 1]!);
    if (!plain) {
      if (role === SUPERVISED) supervised += end - j;
      j = end;
      continue;
    }
    for (; j < end; j++) supervised += positionMasks(template.layout, role, j, imageStart, opts.numPatches, image) & 1;
  }
  if (supervised === 0) return { ok: false, reason: "no_supervised_tokens", detail: "no position carries loss", fullLength };
  return tokens
    ? { ok: true, tokens, roles: roles!, imageStart, length, fullLength, supervised }
    : { ok: true, imageStart, length, fullLength, supervised };
}

export function layoutConversation(
  tok: Tokenizer,
  template: Template,
  turns: readonly Turn[],
  hasImage: boolean,
  opts: LayoutOptions,
): LayoutResult {
  const plan = planConversation(tok, template, turns, hasImage, opts);
  if (!plan.ok) return { ok: false, reason: plan.reason, detail: plan.detail };
  return layoutRows(tok, template, plan, hasImage, opts);
}

/** The four rows of a planned sample. */
export function layoutRows(
  tok: Tokenizer,
  template: Template,
  plan: Extract<LayoutPlan, { ok: true }>,
  hasImage: boolean,
  opts: LayoutOptions,
): Extract<LayoutResult, { ok: true }> {
  const { tokens, roles, imageStart, length, supervised } = plan;
  const msl = opts.msl;
  const input = new Int32Array(msl).fill(tok.padId);
  const loss = new Int32Array(msl);
  const labels = new Int32Array(msl).fill(tok.padId);
  const masked = new Int32Array(msl).fill(1);
  const image = hasImage ? 1 : 0;
  for (let j = 0; j < length; j++) {
    input[j] = tokens[j]!;
    labels[j] = tokens[j + 1]!;
    const m = positionMasks(template.layout, roles[j]!, j, imageStart, opts.numPatches, image);
    loss[j] = m & 1;
    masked[j] = m & 2 ? 0 : 1;
  }
  return { ok: true, rows: [input, loss, labels, masked], imageStart, length, supervised };
}

/** Where the first image slot lands for a template: 1 for plain, 35 for vicuna_v1 with the LLaMA-2 vocabulary. */
export function imageStartIndex(tok: Tokenizer, template: Template, numPatches: number): number {
  const probe: Turn[] = [
    { from: "human", value: "<image>\nx" },
    { from: "gpt", value: "y" },
  ];
  return tokenStream(tok, template, probe, true, numPatches, "<image>", DEFAULT_CLEANING).imageStart;
}

/**
 * What generation feeds the model about an image: a conversation whose last turn is the prompt to answer, laid out as
 * training lays it out, up to where the answer starts: after the assistant role for a chat template (the
 * position trained to predict the answer's first token), after the image slots and the earlier captions
 * for plain (which drops the human turns, so the prompt's text does not reach the model).
 */
export function generationPrompt(
  tok: Tokenizer,
  template: Template,
  turns: readonly Turn[],
  numPatches: number,
  imageToken = "<image>",
  cleaning: TextCleaning = DEFAULT_CLEANING,
): { tokens: number[]; imageStart: number } {
  if (turns.length % 2 !== 1) throw new Error(`${turns.length} turns: a generation prompt ends with the turn to answer`);
  // With an image: its slots are attended, so the prompt has no padding. The text is cleaned as the writer
  // cleaned the training data, so a prompt reaches the model as the training prompts did.
  const { tokens, imageStart } = tokenStream(tok, template, turns, true, numPatches, imageToken, cleaning);
  return { tokens: tokens!, imageStart };
}
