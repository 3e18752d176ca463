// What becomes of one jsonl line: a sample the HDF5 writer writes, or the reason it skips it. The writer
// (hdf5-worker-core.ts) and `llavac check --data` (check-data.ts) both classify through here, in the same
// order (the line, the record, the conversation, the image, the token layout), so check counts exactly
// what the writer then skips.
import { existsSync } from "node:fs";
import path from "node:path";
import { ftfyNormalization } from "../text/ftfy.js";
import {
  type LayoutMeasure,
  type LayoutOptions,
  type LayoutPlan,
  measureConversation,
  planConversation,
  type SkipReason,
  type Template,
  type TextCleaning,
} from "../text/layout.js";
import type { Tokenizer } from "../text/tokenizer.js";
import { staysInside, unsafeRelativePath } from "./paths.js";
import { conversationProblem, isProblem, parseRecord, type LlavaRecord, type RecordProblem } from "./records.js";

export type SkipKind =
  | SkipReason
  | "malformed_json"
  | "invalid_utf8"
  | "invalid_record"
  | "bad_role"
  | "role_order"
  | "image_token_count"
  | "unsafe_image_path"
  | "missing_image"
  | "bad_image";

/** The reasons in the order a record meets them (reports list them in this order). */
export const SKIP_KINDS: readonly SkipKind[] = [
  "invalid_utf8",
  "malformed_json",
  "invalid_record",
  "bad_role",
  "role_order",
  "image_token_count",
  "unsafe_image_path",
  "missing_image",
  "bad_image",
  "no_turns",
  "odd_turns",
  "too_long",
  "no_supervised_tokens",
];

/** A line of a batch (jsonl.ts batchLines): its text, or `invalid` when it is not UTF-8. */
export interface InputLine {
  line: number;
  text: string;
  invalid?: true;
}

/** The first stage: the line as a record, or why it is none. */
export function parseLine(l: InputLine): LlavaRecord | RecordProblem {
  return l.invalid ? { reason: "invalid_utf8", detail: "the line is not valid UTF-8" } : parseRecord(l.text);
}

// sharp is loaded when an image is first checked, not with this module: a worker that checks no image (text
// records, `--no-image-check`) starts without it.
const sharp = () => import("sharp");

/** A full decode, the training loader's own (images.ts decodeRgb): a truncated file fails here, not in the job. */
export async function decodes(file: string): Promise<boolean> {
  try {
    const img = await (await import("./images.js")).decodeRgb(file);
    return img.width > 0 && img.height > 0;
  } catch {
    return false;
  }
}

/** The image's header only: its format and size can be read (a file cut after its header passes). */
export async function headerReads(file: string): Promise<boolean> {
  try {
    const m = await (await sharp()).default(file).metadata();
    return (m.width ?? 0) > 0 && (m.height ?? 0) > 0;
  } catch {
    return false;
  }
}

/**
 * How far images are checked: `none` only refuses unsafe paths (the writer's --no-image-check), `probe`
 * also needs the file inside the root with a readable header, `decode` decodes it fully (the writer's
 * default).
 */
export type ImageCheck = "none" | "probe" | "decode";

export type ImageProblem = Extract<SkipKind, "unsafe_image_path" | "missing_image" | "bad_image">;

/** The images of one root, checked once each (records share images). */
export class ImageChecker {
  private readonly cache = new Map<string, ImageProblem | null>();
  constructor(
    readonly root: string,
    readonly mode: ImageCheck,
  ) {}

  async problem(rel: string): Promise<ImageProblem | null> {
    const cached = this.cache.get(rel);
    if (cached !== undefined) return cached;
    let problem: ImageProblem | null = null;
    if (unsafeRelativePath(rel)) problem = "unsafe_image_path";
    else if (this.mode !== "none") {
      const full = path.join(this.root, rel);
      if (!existsSync(full)) problem = "missing_image";
      else if (!staysInside(this.root, full)) problem = "unsafe_image_path";
      else problem = (await (this.mode === "decode" ? decodes(full) : headerReads(full))) ? null : "bad_image";
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(rel, problem);
    return problem;
  }

  /**
   * The problems of a batch's records, checked concurrently (null: no image, or a good one). Images checked
   * before are answered from the cache here, without a promise per record.
   */
  batch(records: (LlavaRecord | RecordProblem | undefined)[]): Promise<(ImageProblem | null)[]> {
    const out = new Array<ImageProblem | null>(records.length).fill(null);
    let pending: Promise<void>[] | undefined;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (!r || isProblem(r) || r.image === undefined) continue;
      const cached = this.cache.get(r.image);
      if (cached !== undefined) out[i] = cached;
      else (pending ??= []).push(this.problem(r.image).then((p) => void (out[i] = p)));
    }
    return pending ? Promise.all(pending).then(() => out) : Promise.resolve(out);
  }

  detail(problem: ImageProblem, rel: string): string {
    return problem === "unsafe_image_path"
      ? `${rel}: ${unsafeRelativePath(rel) ?? `leaves ${this.root} through a symlink`}`
      : problem === "missing_image"
        ? `${rel} not found under ${this.root}`
        : this.mode === "decode"
          ? `${rel} cannot be decoded`
          : `${rel}: its header cannot be read`;
  }
}

export interface ClassifyConfig {
  template: Template;
  msl: number;
  numPatches: number;
  overLength: "drop" | "truncate";
  /** The placeholder of the image in the text (the writer's `image_token`). */
  imageToken?: string;
  /** The preprocess config's `use_ftfy` and `ftfy_normalizer` (default: true, "NFC"). */
  useFtfy?: boolean;
  ftfyNormalizer?: string;
}

/** The text cleaning a writer config asks for. */
export function cleaningOf(c: Pick<ClassifyConfig, "useFtfy" | "ftfyNormalizer">): TextCleaning {
  return { useFtfy: c.useFtfy ?? true, normalizer: ftfyNormalization(c.ftfyNormalizer ?? "NFC") };
}

export type Verdict<P = Extract<LayoutPlan, { ok: true }>> =
  | { ok: true; rec: LlavaRecord; plan: P }
  /** `fullLength`: the tokens the sample needs, when it got as far as the layout. */
  | { ok: false; reason: SkipKind; detail: string; id: unknown; fullLength?: number };

// The layout options of a config, built once per config object (not once per record).
const layoutOptionsOf = new WeakMap<ClassifyConfig, LayoutOptions>();
function layoutOptions(c: ClassifyConfig): LayoutOptions {
  let o = layoutOptionsOf.get(c);
  if (!o) {
    o = {
      numPatches: c.numPatches,
      msl: c.msl,
      overLength: c.overLength,
      cleaning: cleaningOf(c),
      ...(c.imageToken !== undefined ? { imageToken: c.imageToken } : {}),
    };
    layoutOptionsOf.set(c, o);
  }
  return o;
}

/**
 * The one classification of a record: kept with its token plan, or skipped with the reason. `image` is
 * the ImageChecker's verdict on its image (checked concurrently for a batch before this runs).
 */
export function classifyRecord(
  tok: Tokenizer,
  c: ClassifyConfig,
  parsed: LlavaRecord | RecordProblem,
  image: ImageProblem | null,
  images: ImageChecker,
): Verdict {
  return classify(tok, c, parsed, image, images, planConversation);
}

/** `classifyRecord` without the token ids (`check --data`): the same verdict, lengths and supervised count. */
export function measureRecord(
  tok: Tokenizer,
  c: ClassifyConfig,
  parsed: LlavaRecord | RecordProblem,
  image: ImageProblem | null,
  images: ImageChecker,
): Verdict<Extract<LayoutMeasure, { ok: true }>> {
  return classify(tok, c, parsed, image, images, measureConversation);
}

function classify<P extends LayoutPlan | LayoutMeasure>(
  tok: Tokenizer,
  c: ClassifyConfig,
  parsed: LlavaRecord | RecordProblem,
  image: ImageProblem | null,
  images: ImageChecker,
  layout: (tok: Tokenizer, t: Template, turns: LlavaRecord["conversations"], hasImage: boolean, o: LayoutOptions) => P,
): Verdict<Extract<P, { ok: true }>> {
  if (isProblem(parsed)) return { ok: false, reason: parsed.reason, detail: parsed.detail, id: null };
  const rec = parsed;
  // The image first, as the writer's check_valid_doc does: a record with a bad image is not read further.
  if (image) return { ok: false, reason: image, detail: images.detail(image, rec.image!), id: rec.id };
  const bad = conversationProblem(rec, c.imageToken);
  if (bad) return { ok: false, reason: bad.reason, detail: bad.detail, id: rec.id };
  const plan = layout(tok, c.template, rec.conversations, rec.image !== undefined, layoutOptions(c));
  if (!plan.ok) {
    const f = plan as Extract<LayoutPlan, { ok: false }>;
    return {
      ok: false,
      reason: f.reason,
      detail: f.detail,
      id: rec.id,
      ...(f.fullLength !== undefined ? { fullLength: f.fullLength } : {}),
    };
  }
  return { ok: true, rec, plan: plan as Extract<P, { ok: true }> };
}
