// Data folders: what the job reads must exist (a warning, an error with `--strict`),
// and the HDF5 writer and the trainer must agree on the image root.
import path from "node:path";
import type { CheckContext } from "../context.js";
import { type PartialDerived, writerPadId } from "../derive.js";
import { sound, type PhaseUnit } from "../ir.js";
import { shownPath } from "../../runtime/util/format.js";

export function checkDataFolders(unit: PhaseUnit, ctx: CheckContext, d: PartialDerived): void {
  const ir = unit.ir;
  const folders: [string, string | undefined, string][] = [
    ["images", ir.images, "image root"],
    ["hdf5", ir.hdf5, "HDF5 folder"],
    ["eval.images", ir.eval?.images, "evaluation image root"],
    ["eval.hdf5", ir.eval?.hdf5, "evaluation HDF5 folder"],
  ];
  for (const [field, dir, what] of folders) {
    if (dir === undefined || !sound(unit, field)) continue;
    if (ctx.fs.exists(ctx.resolvePath(dir))) {
      if (field.endsWith("hdf5")) checkWrittenLayout(unit, ctx, d, field, dir);
      continue;
    }
    // A warning unless denied (`--strict`): the data may be prepared after the check.
    ctx.diags.warning("W0408", { what, dir }, ctx.spanOf(unit, field), {
      help: field.endsWith("hdf5")
        ? "create it with `llavac data hdf5` and `llavac data shuffle`"
        : "download the images, or point the path at them",
    });
  }
  const writerImages = sound(unit, "preprocess") ? ir.preprocess?.images : undefined;
  if (writerImages !== undefined && ir.images !== undefined && writerImages !== ir.images) {
    ctx.diags.warning("W0304", { writer: writerImages, trainer: ir.images }, ctx.spanOf(unit, "preprocess.images"), {
      notes: ctx.noteAt(unit, "images", "the training image root"),
      help: "remove `preprocess.images` so both use the phase's `images`",
    });
  }
}

/** A number at `keys` in parsed JSON, or undefined. */
function numberAt(o: unknown, ...keys: string[]): number | undefined {
  for (const k of keys) o = typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined;
  return typeof o === "number" ? o : undefined;
}

/**
 * An HDF5 folder that exists was written for some layout, which its data_params.json records (the Cerebras
 * writer's fields; llavac's writer writes the same): the tokenizer's vocabulary, eos and pad ids, the MSL and
 * the image slots. Data written for another layout would train on the wrong tokens, or fail inside the
 * model with a token id past its vocabulary, so a folder that disagrees with the phase is an error here.
 * A folder without a readable data_params.json is `data verify`'s to report.
 */
function checkWrittenLayout(unit: PhaseUnit, ctx: CheckContext, d: PartialDerived, field: string, dir: string): void {
  const text = ctx.fs.read(path.join(ctx.resolvePath(dir), "data_params.json"));
  if (text === undefined) return;
  let params: unknown;
  try {
    params = JSON.parse(text);
  } catch {
    return;
  }
  const rows: [string, number | undefined, number | undefined][] = [
    ["vocab_size", numberAt(params, "post-process", "vocab_size"), d.tokenizer?.vocabSize],
    ["eos_id", numberAt(params, "post-process", "eos_id"), d.tokenizer?.eos],
    ["pad_id", numberAt(params, "post-process", "pad_id"), writerPadId(unit.ir, d)],
    ["max_seq_length", numberAt(params, "processing", "max_seq_length"), d.msl],
    ["num_patches", numberAt(params, "image_patch_info", "num_patches"), d.numPatches],
    ["image_patch_start_idx", numberAt(params, "image_patch_info", "image_patch_start_idx"), d.imageStartIdx],
  ];
  const differ = rows.filter(([, written, wanted]) => written !== undefined && wanted !== undefined && written !== wanted);
  if (differ.length === 0) return;
  const span = ctx.spanOf(unit, field);
  ctx.diags.error(
    "E0411",
    { dir, differences: differ.map(([k, written, wanted]) => `${k} ${written} (this phase: ${wanted})`).join(", ") },
    span,
    {
      notes: [{ message: `recorded in ${path.join(dir, "data_params.json")}` }],
      help:
        field === "hdf5" && unit.ir.preprocess?.output !== undefined && ctx.resolvePath(unit.ir.preprocess.output) === ctx.resolvePath(dir)
          ? `rewrite it for this phase (\`llavac data hdf5 ${shownPath(span.file)} --phase ${unit.ir.$name} --force\`), or point \`${field}\` at data written for it`
          : `write it again for this phase (remove it and \`llavac run\` writes it; or \`llavac data hdf5\` with \`--force\`, then \`llavac data shuffle\` into it), or point \`${field}\` at data written for it`,
    },
  );
}
