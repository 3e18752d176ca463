// The held-out evaluation: `eval_every` is a positive number of steps within the phase, it needs a
// held-out split (`eval.data`) with its own HDF5 folder, agrees with a `run.eval_frequency` that is
// written out, and the split should not be one the phase trains on.
import type { CheckContext } from "../context.js";
import type { PartialDerived } from "../derive.js";
import { sound, type PhaseUnit } from "../ir.js";
import { thousands } from "../../runtime/util/format.js";

export function checkEval(unit: PhaseUnit, d: PartialDerived, ctx: CheckContext): void {
  const ir = unit.ir;
  const data = sound(unit, "eval.data") ? (ir.eval?.data ?? []) : undefined;
  if (data && data.length > 0 && sound(unit, "eval.hdf5") && ir.eval?.hdf5 === undefined) {
    ctx.diags.error("E0423", {}, ctx.spanOf(unit, "eval.data"), {
      notes: [{ message: `without it, evaluation would read the training files in ${ir.hdf5}` }],
      help: 'give the split its own folder: `eval = eval_input { data: ..., hdf5: "./h5/heldout" }`',
    });
  }
  if (data) {
    data.forEach((e, i) => {
      const same = ir.data.find((t) => (t.$name !== undefined && t.$name === e.$name) || (t.jsonl !== undefined && t.jsonl === e.jsonl));
      if (!same) return;
      ctx.diags.warning(
        "W0420",
        {
          name: e.$name ?? e.jsonl ?? `#${i}`,
          reason: same.$name === e.$name ? "the phase trains on it" : `it reads the training folder ${e.jsonl}`,
        },
        ctx.spanOf(unit, `eval.data.${i}`),
        {
          notes: [{ message: "the training data", span: ctx.spanOf(unit, "data") }],
          help: "evaluate on samples the phase does not train on, so the eval loss measures generalisation",
        },
      );
    });
  }
  const every = sound(unit, "eval_every") ? ir.eval_every : undefined;
  if (every === undefined) return;
  const at = ctx.spanOf(unit, "eval_every");
  if (!Number.isInteger(every.value) || every.value < 1) {
    ctx.diags.error("E0420", { value: every.value }, at, { help: "evaluate every N steps with N ≥ 1, e.g. `eval_every = 100 steps`" });
    return;
  }
  const steps = d.schedule?.maxSteps;
  if (steps !== undefined && every.value > steps)
    ctx.diags.error("E0421", { every: thousands(every.value), steps: thousands(steps) }, at, {
      label: `the phase runs ${thousands(steps)} steps`,
      help: `use at most ${thousands(steps)} steps, or remove \`eval_every\` (the end of the phase is always evaluated when it is set)`,
    });
  if (data !== undefined && data.length === 0)
    ctx.diags.error("E0422", {}, at, {
      help: 'declare the held-out datasets: `eval = eval_input { data: my_heldout, hdf5: "./h5/heldout" }` (a `dataset` like the training ones)',
    });
  const freq = ir.run.eval_frequency;
  const origin = unit.spans.get("run.eval_frequency")?.origin;
  if (
    freq !== undefined &&
    origin === "explicit" &&
    ctx.isUser(ctx.rawSpan(unit, "run.eval_frequency") ?? unit.nameSpan) &&
    freq !== every.value
  )
    ctx.diags.error("E0424", { every: every.value, frequency: freq }, at, {
      notes: [{ message: `run.eval_frequency is ${freq}`, span: ctx.rawSpan(unit, "run.eval_frequency")! }],
      help: "remove `run.eval_frequency`: with `eval_every` set, it is emitted as the Cerebras eval_frequency",
    });
}
