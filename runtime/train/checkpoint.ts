// Checkpoints: the model's parameters (Cerebras names) and the optimizer's moments in one safetensors
// file, and a JSON state beside it (step, data position, loss history). The safetensors file is written
// first and the JSON last, each atomically, so a checkpoint exists exactly when its JSON does; a run
// killed mid-write leaves the previous checkpoint intact.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import * as tf from "../backend/tf.js";
import type { ParamStore } from "../model/params.js";
import { f32Entry, openSafetensors, writeSafetensors, type TensorEntry } from "../weights/safetensors.js";
import type { AdamW } from "./optimizer.js";
import { writeFileAtomic } from "../util/atomic.js";

export interface StepLog {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  supervised: number;
  seconds: number;
}

export interface TrainState {
  format: "llavac-checkpoint/1";
  phase: string;
  /** Updates done. */
  step: number;
  /** Samples consumed from the sampler's stream. */
  cursor: number;
  seed: number;
  history: StepLog[];
  /** Trainable parameters whose moments are in the file. */
  trainable: string[];
}

export interface CheckpointRef {
  step: number;
  json: string;
  weights: string;
}

/** Checkpoint tensors under this prefix are the optimizer's, not the model's. */
export const OPTIMIZER_PREFIX = "optimizer.";
const M = `${OPTIMIZER_PREFIX}exp_avg.`;
const V = `${OPTIMIZER_PREFIX}exp_avg_sq.`;

export function checkpointsIn(dir: string): CheckpointRef[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^checkpoint_(\d+)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), json: path.join(dir, m[0]), weights: path.join(dir, `checkpoint_${m[1]}.safetensors`) }))
    .filter((c) => existsSync(c.weights))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(dir: string): CheckpointRef | undefined {
  const all = checkpointsIn(dir);
  return all[all.length - 1];
}


export async function saveCheckpoint(dir: string, store: ParamStore, opt: AdamW, state: TrainState, keep: number): Promise<CheckpointRef> {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, TensorEntry>();
  const put = async (name: string, v: tf.Tensor) => tensors.set(name, f32Entry(v.shape, (await v.data()) as Float32Array));
  for (const name of store.names()) await put(name, store.get(name));
  for (const [name, m] of opt.m) await put(M + name, m);
  for (const [name, v] of opt.v) await put(V + name, v);
  const ref: CheckpointRef = { step: state.step, json: path.join(dir, `checkpoint_${state.step}.json`), weights: path.join(dir, `checkpoint_${state.step}.safetensors`) };
  writeSafetensors(ref.weights, tensors, { format: "llavac-checkpoint/1", phase: state.phase, step: String(state.step) });
  writeFileAtomic(ref.json, JSON.stringify(state, null, 1) + "\n");
  // Keep the newest `keep`.
  const all = checkpointsIn(dir);
  for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) {
    rmSync(old.json, { force: true });
    rmSync(old.weights, { force: true });
  }
  return ref;
}

export function readState(ref: CheckpointRef): TrainState {
  const s = JSON.parse(readFileSync(ref.json, "utf8")) as TrainState;
  if (s.format !== "llavac-checkpoint/1") throw new Error(`${ref.json}: not a llavac checkpoint`);
  return s;
}

/** Load parameters (and, with an optimizer, its moments) from a checkpoint. */
export function loadCheckpoint(ref: CheckpointRef, store: ParamStore, opt?: AdamW): void {
  const f = openSafetensors(ref.weights);
  try {
    for (const name of store.names()) {
      const info = f.info(name);
      if (!info) throw new Error(`${ref.weights} has no ${name}`);
      tf.tidy(() => store.assign(name, tf.tensor(f.float32(name), info.shape)));
    }
    if (opt) {
      for (const [kind, table] of [[M, opt.m], [V, opt.v]] as const) {
        for (const [name, variable] of table) {
          const info = f.info(kind + name);
          if (!info) throw new Error(`${ref.weights} has no optimizer state for ${name} (was it trained with other freeze patterns?)`);
          tf.tidy(() => variable.assign(tf.tensor(f.float32(kind + name), info.shape)));
        }
      }
    }
  } finally {
    f.close();
  }
}
