// Model Zoo 2.10's `trainer:` format, from the flat (2.2.1/2.3.0) document: the same values, regrouped.
//   trainer.init: backend, seed, model (without its precision keys), optimizer {AdamW}, schedulers
//                 (SequentialLR of LinearLR and CosineDecayLR), precision, loop, checkpoint, logging,
//                 callbacks (micro-batch flags, ComputeNorm, KeepNCheckpoints, LoadCheckpointStates)
//   trainer.fit: train_dataloader, val_dataloader; trainer.validate, trainer.validate_all
// Every moved value keeps its source location: origins are carried from the flat key to the new one.
import type { KeyOrigins } from "./cerebras-params.js";
import { Float, type YValue } from "./yaml.js";

type Obj = { [key: string]: YValue };

/** The flat format's scheduler names (as llavac emits them) and the trainer format's classes. */
export const TRAINER_SCHEDULERS = { Linear: "LinearLR", cosinedecaylr: "CosineDecayLR", constant: "ConstantLR" } as const;
const SCHEDULERS: Record<string, string> = Object.fromEntries(
  Object.entries(TRAINER_SCHEDULERS).map(([flat, cls]) => [flat.toLowerCase(), cls]),
);
for (const [alias, flat] of [
  ["linearlr", "linear"],
  ["cosinedecay", "cosinedecaylr"],
  ["constantlr", "constant"],
] as const)
  SCHEDULERS[alias] = SCHEDULERS[flat]!;

/**
 * `variant` "2.10" is the Model Zoo 2.10 layout; "2.3.0" is 2.3.0's own trainer layout (its `_v2`
 * configs): the model keeps mixed_precision and fp16_type and has no name, the loaders keep
 * mixed_precision, and there is no backend block.
 */
export function toTrainer(flat: YValue, flatOrigins: KeyOrigins, variant: "2.3.0" | "2.10" = "2.10"): { doc: YValue; origins: KeyOrigins } {
  const v210 = variant === "2.10";
  const f = flat as Obj;
  const origins: KeyOrigins = new Map();
  /** Record that `to` (and everything under it) comes from `from` in the flat document. */
  const carry = (to: string, from: string) => {
    for (const [k, o] of flatOrigins) {
      if (k === from) origins.set(to, o);
      else if (k.startsWith(from + ".")) origins.set(to + k.slice(from.length), o);
    }
  };
  const get = (path: string): YValue | undefined =>
    path
      .split(".")
      .reduce<YValue | undefined>(
        (v, k) => (v && typeof v === "object" && !(v instanceof Float) && !Array.isArray(v) ? (v as Obj)[k] : undefined),
        f,
      );
  const take = (o: Obj, key: string, to: string, from: string) => {
    const v = get(from);
    if (v === undefined) return;
    o[key] = v;
    carry(to, from);
  };

  const model: Obj = v210 ? { name: "llava" } : {};
  const flatModel = f.model as Obj;
  for (const key of Object.keys(flatModel)) {
    if (v210 && (key === "mixed_precision" || key === "fp16_type")) continue; // → precision
    take(model, key, `trainer.init.model.${key}`, `model.${key}`);
  }
  carry("trainer.init.model.name", "model");

  const adamw: Obj = {};
  for (const key of ["betas", "eps", "weight_decay", "correct_bias"])
    take(adamw, key, `trainer.init.optimizer.AdamW.${key}`, `optimizer.${key}`);
  carry("trainer.init.optimizer.AdamW", "optimizer");

  const lr = get("optimizer.learning_rate");
  let schedulers: YValue;
  if (Array.isArray(lr)) {
    const parts = lr.map((seg, i) => {
      const s = seg as Obj;
      const name = SCHEDULERS[String(s.scheduler).toLowerCase()] ?? String(s.scheduler);
      const body: Obj = {};
      for (const k of Object.keys(s)) if (k !== "scheduler") body[k] = s[k]!;
      carry(
        lr.length > 1 ? `trainer.init.schedulers.0.SequentialLR.schedulers.${i}.${name}` : `trainer.init.schedulers.0.${name}`,
        `optimizer.learning_rate.${i}`,
      );
      return { [name]: body } as Obj;
    });
    schedulers = parts.length > 1 ? [{ SequentialLR: { schedulers: parts } }] : parts;
  } else {
    schedulers = [{ ConstantLR: { learning_rate: lr ?? null } }];
    carry("trainer.init.schedulers.0.ConstantLR.learning_rate", "optimizer.learning_rate");
  }

  const precision: Obj = {};
  take(precision, "enabled", "trainer.init.precision.enabled", "model.mixed_precision");
  take(precision, "fp16_type", "trainer.init.precision.fp16_type", "model.fp16_type");
  take(precision, "loss_scaling_factor", "trainer.init.precision.loss_scaling_factor", "optimizer.loss_scaling_factor");
  take(precision, "max_gradient_norm", "trainer.init.precision.max_gradient_norm", "optimizer.max_gradient_norm");
  if (get("optimizer.log_summaries") !== undefined) {
    precision.log_loss_scale = get("optimizer.log_summaries")!;
    carry("trainer.init.precision.log_loss_scale", "optimizer.log_summaries");
  }

  const loop: Obj = {};
  take(loop, "max_steps", "trainer.init.loop.max_steps", "runconfig.max_steps");
  take(loop, "eval_frequency", "trainer.init.loop.eval_frequency", "runconfig.eval_frequency");
  take(loop, "eval_steps", "trainer.init.loop.eval_steps", "runconfig.eval_steps");
  const checkpoint: Obj = {};
  take(checkpoint, "steps", "trainer.init.checkpoint.steps", "runconfig.checkpoint_steps");
  const logging: Obj = {};
  take(logging, "log_steps", "trainer.init.logging.log_steps", "runconfig.log_steps");

  const callbacks: YValue[] = [];
  const micro = get("train_input.micro_batch_size");
  if (micro !== undefined) {
    callbacks.push(
      { ScopedTrainFlags: { "csx.performance.micro_batch_size": micro } },
      { ScopedValidateFlags: { "csx.performance.micro_batch_size": get("eval_input.micro_batch_size") ?? micro } },
    );
    carry("trainer.init.callbacks.0.ScopedTrainFlags.csx.performance.micro_batch_size", "train_input.micro_batch_size");
    carry("trainer.init.callbacks.1.ScopedValidateFlags.csx.performance.micro_batch_size", "eval_input.micro_batch_size");
  }
  if (get("optimizer.log_summaries") === true) callbacks.push({ ComputeNorm: {} });
  if (get("runconfig.load_checkpoint_states") !== undefined) {
    carry(`trainer.init.callbacks.${callbacks.length}.LoadCheckpointStates.load_checkpoint_states`, "runconfig.load_checkpoint_states");
    callbacks.push({ LoadCheckpointStates: { load_checkpoint_states: get("runconfig.load_checkpoint_states")! } });
  }
  if (get("runconfig.max_checkpoints") !== undefined) {
    carry(`trainer.init.callbacks.${callbacks.length}.KeepNCheckpoints.n`, "runconfig.max_checkpoints");
    callbacks.push({ KeepNCheckpoints: { n: get("runconfig.max_checkpoints")! } });
  }

  const loader = (section: "train_input" | "eval_input", to: string): Obj => {
    const o: Obj = {};
    for (const key of Object.keys((f[section] as Obj | undefined) ?? {})) {
      if (key === "micro_batch_size" || (v210 && key === "mixed_precision")) continue; // → callbacks, precision
      take(o, key, `${to}.${key}`, `${section}.${key}`);
    }
    return o;
  };
  const init: Obj = v210 ? { backend: { backend_type: "CSX" } } : {};
  take(init, "seed", "trainer.init.seed", "runconfig.seed");
  Object.assign(init, { model, optimizer: { AdamW: adamw }, schedulers, precision, loop, checkpoint, logging, callbacks });
  const val = loader("eval_input", "trainer.fit.val_dataloader");
  carry("trainer.validate.val_dataloader", "eval_input");
  carry("trainer.validate_all.val_dataloaders", "eval_input");
  const doc: YValue = {
    trainer: {
      init,
      fit: { train_dataloader: loader("train_input", "trainer.fit.train_dataloader"), val_dataloader: val },
      validate: { val_dataloader: val },
      validate_all: { val_dataloaders: val },
    },
  };
  return { doc, origins };
}
