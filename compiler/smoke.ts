// Smoke runs: the spec's model with the same modules and names but tiny widths and depths, trained for a
// few steps on the first samples of the real HDF5 files with the real transforms, masks and freezing.
// What stays as the spec says: image size and patches (so the image slots and image_start_idx match
// the files), vocabulary and sequence length. The report checks what a cluster job would trip over.
import { applyFreeze, llavaParameters, type LlavaArch } from "../runtime/model/arch.js";
import type { PhaseRunConfig } from "../runtime/train/config.js";
import type { RunReport } from "../runtime/train/run.js";
import { thousands } from "../runtime/util/format.js";
import type { PhaseResult } from "./compile.js";
import { countParams, type Derived } from "./derive.js";
import type { Painter } from "./diagnostics.js";

export interface SmokeSettings {
  steps: number;
  batch: number;
  micro: number;
  /** A constant learning rate, so a trend shows within a few steps (the spec's warm-up would hide it). */
  lr: number;
}

const SMALL = { visionWidth: 32, visionHeads: 2, textWidth: 64, textHeads: 4, layers: 2 };

/** Grouped-query attention stays grouped (2 key/value heads of 4; 1 stays 1, multi-query). */
function smallKvHeads(t: LlavaArch["text"]): { num_key_value_heads?: number } {
  const kv = t.num_key_value_heads;
  if (kv === undefined) return {};
  return { num_key_value_heads: kv === t.num_heads ? SMALL.textHeads : kv === 1 ? 1 : 2 };
}

export function shrinkArch(a: LlavaArch): LlavaArch {
  const glu = /glu$/i.test(a.text.nonlinearity);
  return {
    vision: {
      ...a.vision,
      hidden_size: SMALL.visionWidth,
      num_heads: SMALL.visionHeads,
      filter_size: 2 * SMALL.visionWidth,
      num_hidden_layers: Math.min(SMALL.layers, a.vision.num_hidden_layers),
    },
    text: {
      ...a.text,
      hidden_size: SMALL.textWidth,
      num_heads: SMALL.textHeads,
      ...smallKvHeads(a.text),
      filter_size: glu ? 172 : 4 * SMALL.textWidth,
      num_hidden_layers: Math.min(SMALL.layers, a.text.num_hidden_layers),
    },
    ...(a.projector
      ? { projector: { ...a.projector, input_unit: SMALL.visionWidth, layers_units: a.projector.layers_units.map(() => SMALL.textWidth) } }
      : {}),
  };
}

export function smokeConfig(cfg: PhaseRunConfig, s: SmokeSettings): PhaseRunConfig {
  const arch = shrinkArch(cfg.model.arch);
  return {
    ...cfg,
    model: {
      ...cfg.model,
      arch,
      text: { ...cfg.model.text, rotary_dim: Math.min(cfg.model.text.rotary_dim, SMALL.textWidth / SMALL.textHeads) },
    },
    batch: { global: s.batch, micro: s.micro },
    optimizer: { ...cfg.optimizer, learning_rate: s.lr },
    max_steps: s.steps,
    // In order from the first sample; a dataset smaller than a batch wraps around.
    loader: { ...cfg.loader, shuffle: false, drop_last: false },
    run: { ...cfg.run, log_steps: Math.max(1, Math.floor(s.steps / 10)), checkpoint_steps: s.steps, max_checkpoints: 1 },
    init: cfg.init.from_phase ? { from_phase: cfg.init.from_phase } : {},
  };
}

export interface SmokeResult {
  ok: boolean;
  text: string;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export function smokeReport(p: PhaseResult & { derived: Derived }, r: RunReport, s: SmokeSettings, paint: Painter): SmokeResult {
  const ir = p.unit.ir;
  const problems: string[] = [];
  const ok = (b: boolean) => (b ? paint.green("✓") : paint.red("✗"));
  const rows: [string, string][] = [];

  const losses = r.steps.map((x) => x.loss);
  const k = Math.max(1, Math.min(5, Math.floor(losses.length / 4)));
  const head = mean(losses.slice(0, k)),
    tail = mean(losses.slice(-k));
  const finite = losses.every(Number.isFinite);
  const trend = !finite ? "not finite" : tail < head ? "falling" : "not falling";
  rows.push([
    "loss",
    `${head.toFixed(4)} → ${tail.toFixed(4)} (mean of the first and last ${k} steps of ${losses.length}): ${trend} ${ok(finite && tail < head)}`,
  ]);
  if (!finite) problems.push("the loss is not finite");

  // The compiler's count for the same shrunk model and freeze patterns, from the one architecture description.
  const arch = shrinkArch(p.derived.arch);
  const params = llavaParameters(arch);
  const split = applyFreeze(params, ir.freeze);
  const c = countParams(params, split, ir.freeze);
  const same = c.trainable === r.params.trainable && c.frozen === r.params.frozen;
  rows.push([
    "parameters",
    `${thousands(r.params.trainable)} trainable · ${thousands(r.params.frozen)} frozen in the runtime; the compiler counts ${thousands(c.trainable)} · ${thousands(c.frozen)} ${ok(same)}`,
  ]);
  rows.push([
    "",
    `full size: ${thousands(p.derived.counts.trainable)} trainable · ${thousands(p.derived.counts.frozen)} frozen, with the same freeze patterns`,
  ]);
  if (!same) problems.push("the runtime's parameter split differs from the compiler's");

  const n = r.noSupervised.length;
  rows.push([
    "supervision",
    n === 0
      ? `every sample read has supervised tokens ${ok(true)}`
      : `${n} sample(s) with no supervised token ${ok(false)}: ${r.noSupervised.slice(0, 10).join(", ")}${n > 10 ? ", …" : ""}`,
  ]);
  if (n) problems.push(`${n} sample(s) carry no loss (on Cerebras, a batch of only such samples divides by zero)`);

  const f = r.imageFailures.length;
  const read = Math.min(r.samples, s.steps * s.batch);
  rows.push([
    "images",
    f === 0 ? `all ${thousands(read)} loaded with the spec's transforms ${ok(true)}` : `${f} failed to load ${ok(false)}`,
  ]);
  for (const x of r.imageFailures.slice(0, 10)) rows.push(["", `${x.image} (${x.file} row ${x.row}): ${x.error}`]);
  if (f) problems.push(`${f} image(s) fail to load (the Cerebras loader raises on the first)`);

  const v = arch.vision,
    t = arch.text;
  const title = `smoke ${ir.$name}: ${r.taken} steps on the first ${thousands(read)} of ${thousands(r.samples)} samples in ${ir.hdf5} (ViT ${v.num_hidden_layers}×${v.hidden_size}, LLaMA ${t.num_hidden_layers}×${t.hidden_size}; ${p.derived.numPatches} image slots at ${p.derived.imageStartIdx}, MSL ${p.derived.msl}, vocabulary ${thousands(t.vocab_size)} as the spec says; constant lr ${s.lr})`;
  const w = Math.max(...rows.map(([a]) => a.length));
  const lines = [paint.bold(title), ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`)];
  lines.push(
    problems.length === 0
      ? `  ${paint.green("no problems found")}: the phase's data, masks, transforms and freezing work end to end`
      : `  ${paint.red(`${problems.length} problem(s)`)}: ${problems.join("; ")}`,
  );
  if (finite && !(tail < head)) lines.push(`  ${paint.yellow("note")}: the loss did not fall in ${losses.length} steps; try --steps 200`);
  return { ok: problems.length === 0, text: lines.join("\n") };
}
