// Data folders: what the job reads must exist (a warning, an error with `--strict`),
// and the HDF5 writer and the trainer must agree on the image root.
import type { CheckContext } from "../context.js";
import { sound, type PhaseUnit } from "../ir.js";

export function checkDataFolders(unit: PhaseUnit, ctx: CheckContext): void {
  const ir = unit.ir;
  const folders: [string, string | undefined, string][] = [
    ["images", ir.images, "image root"],
    ["hdf5", ir.hdf5, "HDF5 folder"],
    ["eval.images", ir.eval?.images, "evaluation image root"],
    ["eval.hdf5", ir.eval?.hdf5, "evaluation HDF5 folder"],
  ];
  for (const [path, dir, what] of folders) {
    if (dir === undefined || !sound(unit, path) || ctx.fs.exists(ctx.resolvePath(dir))) continue;
    // A warning unless denied (`--strict`): the data may be prepared after the check.
    ctx.diags.warning("W0408", { what, dir }, ctx.spanOf(unit, path), {
      help: path.endsWith("hdf5")
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
