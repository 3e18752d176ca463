// What `llavac check` prints after the diagnostics: each phase's derived values and parameter counts.
import type { CompileResult } from "./compile.js";
import type { Painter } from "./diagnostics.js";
import { shownPath, thousands } from "../runtime/util/format.js";

const n = thousands;

export function phaseSummary(result: CompileResult, paint: Painter): string {
  const lines: string[] = [];
  for (const p of result.phases) {
    const ir = p.unit.ir;
    const d = p.derived;
    const head = `phase ${paint.bold(ir.$name)}${ir.model?.$name ? `  model ${ir.model.$name}` : ""}${ir.from?.states ? `  from ${ir.from.phase} (${ir.from.states.join(", ")})` : ""}`;
    lines.push(head);
    if (!d) {
      lines.push(paint.dim("  not derived: fix the errors above first"));
      continue;
    }
    const s = d.schedule;
    const rows: [string, string, string][] = [
      ["num_patches", n(d.numPatches), d.numPatchesFormula],
      [
        "image_start_idx",
        d.imageStartIdx === undefined ? "?" : String(d.imageStartIdx),
        `template ${ir.template.$name ?? ir.template.layout}, ${d.tokenizer ? shownPath(d.tokenizer.source) : "no tokenizer"}`,
      ],
      ["max_sequence_length", n(d.msl), "language.max_position_embeddings"],
      ["text_budget", n(d.textBudget), `${n(d.msl)} − ${n(d.numPatches)} − 1`],
      ["max_steps", s.maxSteps === undefined ? "?" : n(s.maxSteps), s.formula.maxSteps ?? ""],
    ];
    if (s.warmup !== undefined) rows.push(["warmup_steps", n(s.warmup), s.formula.warmup ?? ""]);
    if (s.decay !== undefined) rows.push(["decay_steps", n(s.decay), s.formula.decay ?? ""]);
    const w = Math.max(...rows.map((r) => r[1].length));
    for (const [k, v, f] of rows) lines.push(`  ${k.padEnd(20)}${v.padStart(w)}   ${paint.dim(f ? "= " + f : "")}`);
    const c = d.counts;
    lines.push(`  ${"parameters".padEnd(20)}${paint.green(n(c.trainable))} trainable · ${n(c.frozen)} frozen · ${n(c.total)} total`);
    for (const [comp, v] of Object.entries(c.byComponent)) {
      const state = v.trainable === v.total ? "trainable" : v.trainable === 0 ? "frozen" : `${n(v.trainable)} trainable`;
      lines.push(paint.dim(`    ${comp.padEnd(24)}${n(v.total).padStart(15)}  ${state}`));
    }
    lines.push("");
  }
  return lines.join("\n");
}
