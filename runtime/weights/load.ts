// Loading pretrained weights into the model: safetensors files (or folders of them) in any of the HF
// LLaVA layouts, or with Cerebras names. Every tensor is accounted for: loaded, dropped with a reason,
// or unknown; every model parameter is either loaded or reported missing.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import * as tf from "../backend/tf.js";
import { VISION_NAMES } from "../model/arch.js";
import type { ParamStore } from "../model/params.js";
import { OPTIMIZER_PREFIX } from "../train/checkpoint.js";
import { clsRowToLast, hfToCerebras, type HfLayout } from "./names.js";
import { openSafetensors } from "./safetensors.js";

export interface WeightReport {
  loaded: string[];
  layouts: HfLayout[];
  dropped: { name: string; reason: string }[];
  unknown: string[];
  mismatched: { name: string; cs: string; expected: number[]; got: number[] }[];
  /** Model parameters no file provided. */
  missing: string[];
}

export class WeightsError extends Error {}

export function safetensorsFiles(sources: string[]): string[] {
  const out: string[] = [];
  for (const s of sources) {
    if (!existsSync(s)) throw new WeightsError(`weights not found: ${s}`);
    if (statSync(s).isDirectory()) {
      const found = readdirSync(s)
        .filter((f) => f.endsWith(".safetensors"))
        .sort()
        .map((f) => path.join(s, f));
      if (found.length === 0) throw new WeightsError(`no .safetensors files in ${s}`);
      out.push(...found);
    } else out.push(s);
  }
  return out;
}

/** Names in a Cerebras checkpoint may carry LlavaModel's `model.` prefix. */
function cerebrasName(store: ParamStore, name: string): string | undefined {
  if (store.has(name)) return store.canonical(name);
  if (name.startsWith("model.") && store.has(name.slice(6))) return store.canonical(name.slice(6));
  return undefined;
}

export function loadWeights(store: ParamStore, sources: string[]): WeightReport {
  const report: WeightReport = { loaded: [], layouts: [], dropped: [], unknown: [], mismatched: [], missing: [] };
  const layouts = new Set<HfLayout>();
  const loaded = new Set<string>();
  for (const file of safetensorsFiles(sources)) {
    const f = openSafetensors(file);
    try {
      for (const name of f.names()) {
        // llavac checkpoints carry the optimizer's moments beside the weights.
        if (name.startsWith(OPTIMIZER_PREFIX)) {
          report.dropped.push({ name, reason: "optimizer state (a run resumes it from its own checkpoints)" });
          continue;
        }
        let cs = cerebrasName(store, name);
        let clsRowFirst = false;
        if (cs === undefined) {
          const m = hfToCerebras(name);
          if (m.kind === "dropped") {
            report.dropped.push({ name, reason: m.reason });
            continue;
          }
          if (m.kind === "unknown") {
            report.unknown.push(name);
            continue;
          }
          if (!store.has(m.cs)) {
            report.dropped.push({ name, reason: `the model has no ${m.cs} (its configuration differs)` });
            continue;
          }
          cs = store.canonical(m.cs)!;
          // Only a table with a CLS row has one to move (SigLIP's positions are the patches' alone).
          clsRowFirst = m.clsRowFirst === true && store.has(VISION_NAMES.cls);
          layouts.add(m.layout);
        }
        const target = store.get(cs);
        const info = f.info(name)!;
        if (info.shape.join() !== target.shape.join()) {
          report.mismatched.push({ name, cs, expected: target.shape, got: info.shape });
          continue;
        }
        let values = f.float32(name);
        if (clsRowFirst) values = clsRowToLast(values, info.shape[0]!, info.shape[1]!);
        tf.tidy(() => store.assign(cs!, tf.tensor(values, info.shape)));
        loaded.add(cs);
        report.loaded.push(cs);
      }
    } finally {
      f.close();
    }
  }
  report.layouts = [...layouts];
  report.missing = store.names().filter((n) => !loaded.has(n));
  return report;
}
