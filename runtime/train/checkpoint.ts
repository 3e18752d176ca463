// Checkpoints: the model's parameters (Cerebras names) and the optimizer's moments in one safetensors
// file, and a JSON state beside it (step, data position, loss history). The safetensors file is written
// first and the JSON last, each atomically, so a checkpoint exists exactly when its JSON does; a run
// killed mid-write leaves the previous checkpoint intact.
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
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
  /** Mean held-out loss at the steps it was evaluated (absent when the phase has no eval split). */
  eval?: { step: number; loss: number }[];
  /** Trainable parameters whose moments are in the file. */
  trainable: string[];
  /** The tensor file's size and SHA-256, checked before it is loaded. */
  weights_bytes?: number;
  weights_sha256?: string;
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
  const ref: CheckpointRef = {
    step: state.step,
    json: path.join(dir, `checkpoint_${state.step}.json`),
    weights: path.join(dir, `checkpoint_${state.step}.safetensors`),
  };
  writeSafetensors(ref.weights, tensors, { format: "llavac-checkpoint/1", phase: state.phase, step: String(state.step) });
  // Hashed as read back from the disk, so the recorded checksum is of what a resumed run will read.
  const written = fileDigest(ref.weights);
  writeFileAtomic(ref.json, JSON.stringify({ ...state, weights_bytes: written.bytes, weights_sha256: written.sha256 }, null, 1) + "\n");
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

function fileDigest(file: string): { bytes: number; sha256: string } {
  const h = createHash("sha256");
  const fd = openSync(file, "r");
  let bytes = 0;
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; bytes += n) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: h.digest("hex") };
}

/** What is wrong with a checkpoint (unreadable state, missing, short or altered tensor file), or undefined. */
export function checkpointProblem(ref: CheckpointRef): string | undefined {
  let state: TrainState;
  try {
    state = readState(ref);
  } catch (err) {
    return `its state ${path.basename(ref.json)} cannot be read (${(err as Error).message})`;
  }
  if (!existsSync(ref.weights)) return `${path.basename(ref.weights)} is missing`;
  if (state.weights_sha256 === undefined) return undefined; // written before checksums: nothing to compare
  const size = statSync(ref.weights).size;
  if (size !== state.weights_bytes)
    return `${path.basename(ref.weights)} has ${size} bytes, the state says ${state.weights_bytes} (a partial write?)`;
  if (fileDigest(ref.weights).sha256 !== state.weights_sha256)
    return `${path.basename(ref.weights)} does not match its recorded SHA-256 (the file was altered or corrupted)`;
  return undefined;
}

export interface VerifiedCheckpoint {
  ref: CheckpointRef;
  state: TrainState;
}

/**
 * The newest checkpoint that passes its checks, and each newer one that did not (with the reason), so a
 * corrupt or partial newest checkpoint is reported by name and the run falls back to the one before.
 */
export function latestVerifiedCheckpoint(dir: string): { found?: VerifiedCheckpoint; rejected: { ref: CheckpointRef; problem: string }[] } {
  const rejected: { ref: CheckpointRef; problem: string }[] = [];
  const all = existsSync(dir)
    ? readdirSync(dir)
        .map((f) => /^checkpoint_(\d+)\.json$/.exec(f))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ step: Number(m[1]), json: path.join(dir, m[0]), weights: path.join(dir, `checkpoint_${m[1]}.safetensors`) }))
        .sort((a, b) => b.step - a.step)
    : [];
  for (const ref of all) {
    const problem = checkpointProblem(ref);
    if (problem) {
      rejected.push({ ref, problem });
      continue;
    }
    return { found: { ref, state: readState(ref) }, rejected };
  }
  return { rejected };
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
      for (const [kind, table] of [
        [M, opt.m],
        [V, opt.v],
      ] as const) {
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
