// A run folder's fingerprint: every setting of the resolved phase configuration that changes what is
// trained (model, data, freeze, batch, optimizer and schedule, loader, seed, the phase it starts from),
// one line per key. Resuming checkpoints trained with other settings would silently mix two runs, so
// a changed fingerprint stops the run with what changed. Not in it: where the run writes, how often it
// logs, evaluates and checkpoints, `--steps` (it only stops early), and `--weights` (read only by a
// fresh start).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { PhaseRunConfig } from "./config.js";

export interface Fingerprint {
  format: "llavac-fingerprint/1";
  phase: string;
  /** sha256 of `settings`. */
  hash: string;
  /** Dotted key → the value as JSON. */
  settings: Record<string, string>;
}

export interface SettingChange {
  key: string;
  /** Absent when the key is new or gone. */
  old?: string;
  now?: string;
}

const NOT_TRAINING = new Set(["llavac", "spec", "output", "run.log_steps", "run.checkpoint_steps", "run.max_checkpoints", "init.weights"]);
// The held-out split: evaluating it never changes the weights.
NOT_TRAINING.add("eval");

function flatten(v: unknown, key: string, out: Record<string, string>): void {
  if (NOT_TRAINING.has(key)) return;
  const nested = v !== null && typeof v === "object" && (!Array.isArray(v) || v.some((x) => x !== null && typeof x === "object"));
  if (!nested) {
    out[key] = JSON.stringify(v) ?? "undefined";
    return;
  }
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) out[key] = Array.isArray(v) ? "[]" : "{}";
  for (const [k, x] of entries) flatten(x, key ? `${key}.${k}` : k, out);
}

export function fingerprintOf(cfg: PhaseRunConfig): Fingerprint {
  const flat: Record<string, string> = {};
  flatten(cfg, "", flat);
  const settings = Object.fromEntries(Object.entries(flat).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const hash = createHash("sha256").update(JSON.stringify(settings)).digest("hex");
  return { format: "llavac-fingerprint/1", phase: cfg.phase, hash, settings };
}

/** The recorded fingerprint, or undefined when there is none (or it cannot be read). */
export function readFingerprint(file: string): Fingerprint | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const f = JSON.parse(readFileSync(file, "utf8")) as Fingerprint;
    return f?.format === "llavac-fingerprint/1" && typeof f.settings === "object" ? f : undefined;
  } catch {
    return undefined;
  }
}

export function fingerprintChanges(old: Fingerprint, now: Fingerprint): SettingChange[] {
  const keys = [...new Set([...Object.keys(old.settings), ...Object.keys(now.settings)])].sort();
  const out: SettingChange[] = [];
  for (const key of keys) {
    const a = old.settings[key],
      b = now.settings[key];
    if (a === b) continue;
    out.push({ key, ...(a !== undefined ? { old: a } : {}), ...(b !== undefined ? { now: b } : {}) });
  }
  return out;
}

/** `key: old → new` lines, the longest lists cut (a new model changes hundreds of keys). */
export function describeChanges(changes: SettingChange[], limit = 20): string {
  const width = Math.min(48, Math.max(...changes.slice(0, limit).map((c) => c.key.length)));
  const lines = changes.slice(0, limit).map((c) => `  ${c.key.padEnd(width)}  ${c.old ?? "(unset)"} → ${c.now ?? "(unset)"}`);
  if (changes.length > limit) lines.push(`  … and ${changes.length - limit} more`);
  return lines.join("\n");
}
