// Training setup: freeze patterns against the real parameter tree, batch arithmetic, loss settings,
// and the schedule.
import { didYouMean } from "../diagnostics.js";
import type { CheckContext } from "../context.js";
import type { PartialDerived } from "../derive.js";
import { sound, type CerebrasTargetIR, type PhaseUnit, type SpanMap } from "../ir.js";
import { thousands } from "../../runtime/util/format.js";

const fmt = thousands;

/** The literal text a regex starts with, for "did you mean": `^image_models` → `image_models`. */
function literalPrefix(source: string): string {
  return source.replace(/^\^/, "").split(/[\\.*+?()[\]{}|$]/)[0] ?? "";
}

export function checkFreeze(unit: PhaseUnit, d: PartialDerived, ctx: CheckContext): void {
  if (!d.params || !d.freezeMatches) return;
  const matches = d.freezeMatches;
  const params = d.params;
  unit.ir.freeze.forEach((f, i) => {
    if (matches[i]!.length > 0) return;
    // Prefixes people write: components and their first few levels.
    const prefixes = new Set<string>();
    for (const p of params) {
      const parts = p.module.split(".");
      for (let k = 1; k <= Math.min(3, parts.length); k++) prefixes.add(parts.slice(0, k).join("."));
    }
    const lit = literalPrefix(f.source);
    const hint = lit ? didYouMean(lit, prefixes) : undefined;
    ctx.diags.error("E0401", { pattern: f.source, model: unit.ir.model.$name ?? "the model" }, ctx.spanOf(unit, `freeze.${i}`), {
      notes: [
        {
          message:
            "Cerebras would raise `ValueError` when building the model; the patterns are searched in names such as `image_model.encoder...`, `projector_image_model.ffn.0...`, `text_model.transformer_decoder...` (`llavac params <spec>` lists them all)",
        },
      ],
      help: hint
        ? `did you mean /${f.source.replace(lit, hint)}/?`
        : "the top-level modules are `image_model`, `projector_image_model` and `text_model`",
    });
  });
}

export function checkBatch(unit: PhaseUnit, target: CerebrasTargetIR, targetSpans: SpanMap, ctx: CheckContext): void {
  if (!sound(unit, "batch")) return;
  const { global, micro } = unit.ir.batch;
  const csx = target.num_csx;
  const csxNote = targetSpans.get("num_csx")
    ? [{ message: `num_csx is ${csx}`, span: targetSpans.get("num_csx")!.span }]
    : [{ message: `num_csx is ${csx} (the default)` }];
  if (global % csx !== 0) {
    ctx.diags.error("E0402", { batch: global, systems: csx }, ctx.spanOf(unit, "batch.global"), {
      label: `${global} % ${csx} = ${global % csx}`,
      notes: csxNote,
      help: `use a multiple of ${csx}, such as ${Math.max(csx, Math.round(global / csx) * csx)}`,
    });
    return;
  }
  if (micro !== undefined) {
    const per = global / csx;
    if (per % micro !== 0) {
      const options = [];
      for (let m = 1; m <= per; m++) if (per % m === 0) options.push(m);
      ctx.diags.error("E0403", { per, micro }, ctx.spanOf(unit, "batch.micro"), {
        label: `${per} % ${micro} = ${per % micro}`,
        notes: csx > 1 ? csxNote : [],
        help: `micro-batch sizes that divide ${per}: ${options
          .filter((m) => m > 1)
          .slice(-8)
          .join(", ")}`,
      });
    }
  }
}

export function checkLoss(unit: PhaseUnit, ctx: CheckContext): void {
  const ir = unit.ir;
  if (sound(unit, "loss_scaling", "loss_weight") && ir.loss_scaling === "num_tokens" && ir.loss_weight !== 1) {
    ctx.diags.error("E0404", { weight: ir.loss_weight }, ctx.spanOf(unit, "loss_weight"), {
      notes: [
        {
          message: "loss_scaling is num_tokens: the loss is already divided by the number of supervised tokens",
          span: ctx.rawSpan(unit, "loss_scaling"),
        },
      ],
      help: "remove loss_weight, or use `loss_scaling: batch_size` to scale by a weight",
    });
  }
}

export function checkSchedule(unit: PhaseUnit, d: PartialDerived, ctx: CheckContext): void {
  const ir = unit.ir;
  const s = d.schedule;
  if (!s) return;
  if (s.maxSteps === undefined) {
    const unknown = ir.data.map((ds, i) => [ds, i] as const).filter(([ds]) => ds.samples === undefined);
    const first = unknown[0];
    ctx.diags.error(
      "E0306",
      {
        length: `${ir.schedule.length.value} epoch${ir.schedule.length.value === 1 ? "" : "s"}`,
        why: first ? `dataset ${first[0].$name ?? "#" + first[1]} has no known sample count` : "the phase has no data",
      },
      ctx.spanOf(unit, first ? `data.${first[1]}` : "data"),
      {
        help: first ? `set \`samples: N\` on the dataset, or give the length in steps: \`length: 5000 steps\`` : "add a dataset",
      },
    );
  }
  if (sound(unit, "max_steps") && ir.max_steps !== undefined && s.maxSteps !== undefined && ir.max_steps.value !== s.maxSteps) {
    ctx.diags.error("E0305", `max_steps is ${ir.max_steps.value} here, but llavac derives ${s.maxSteps}`, ctx.spanOf(unit, "max_steps"), {
      label: `derived: ${s.maxSteps}`,
      notes: [{ message: `max_steps = ${s.formula.maxSteps} = ${s.maxSteps}` }],
      help: "remove `max_steps`, or set the schedule's `length` in steps",
    });
  }
  if (s.maxSteps !== undefined && s.warmup !== undefined && s.decay !== undefined) {
    if (s.warmup > s.maxSteps) {
      ctx.diags.error(
        "E0313",
        `the warm-up (${s.warmup} steps) is longer than the whole schedule (${s.maxSteps})`,
        ctx.spanOf(unit, "schedule.warmup"),
      );
    } else if (s.warmup + s.decay !== s.maxSteps) {
      ctx.diags.warning(
        "W0301",
        { warmup: s.warmup, decay: s.decay, sum: s.warmup + s.decay, steps: s.maxSteps },
        ctx.spanOf(unit, "schedule.decay"),
        {
          notes: [
            {
              message:
                s.warmup + s.decay > s.maxSteps
                  ? `the cosine never reaches its final lr: training stops ${s.warmup + s.decay - s.maxSteps} steps early`
                  : `the last ${s.maxSteps - s.warmup - s.decay} steps run at the final lr`,
            },
          ],
          help: `remove \`decay\` to derive ${s.maxSteps - s.warmup}`,
        },
      );
    }
  }
  if (s.stepsBatch !== s.runBatch && s.samples !== undefined && s.maxSteps !== undefined) {
    const seen = s.maxSteps * s.runBatch;
    ctx.diags.warning("W0302", { reference: s.stepsBatch, batch: s.runBatch }, ctx.spanOf(unit, "schedule.reference_batch"), {
      notes: [
        {
          message: `${fmt(s.maxSteps)} steps × ${s.runBatch} = ${fmt(seen)} samples: ${(seen / s.samples).toFixed(2)} passes over ${fmt(s.samples)}`,
        },
      ],
      help: "remove `reference_batch` to make one epoch one pass over the data",
    });
  }
}

export function checkBackendDefaults(unit: PhaseUnit, ctx: CheckContext): void {
  if (sound(unit, "model.language") && unit.ir.model.language.embd_pdrop === undefined) {
    ctx.diags.warning(
      "W0303",
      { field: "embd_pdrop", default: "embedding dropout of 0.1" },
      ctx.spanOf(unit, "model.language.embd_pdrop"),
      {
        help: "set `embd_pdrop: 0.0` for no dropout (what the other LLaVA-1.5 configs use)",
      },
    );
  }
}
