// `llavac params`: the parameter tree of each phase's model, with shapes, counts and the freeze pattern
// that froze each parameter. Everything comes from the same freeze split the compiler counts and the
// runtime trains with (runtime/model/arch.ts applyFreeze), so what is listed here is what trains.
import type { Command } from "commander";
import { numel, type FreezeResult, type ParamSpec } from "../../runtime/model/arch.js";
import { thousands } from "../../runtime/util/format.js";
import type { CompileResult } from "../compile.js";
import { renderDiagnostic, toJson, type Painter } from "../diagnostics.js";
import type { RegexIR } from "../ir.js";

interface Io {
  paint: (color?: boolean) => Painter;
  compileSpec(spec: string): Promise<CompileResult>;
  usage(message: string): Error;
  setExit(code: number): void;
}

export interface ParamRow {
  name: string;
  shape: number[];
  count: number;
  trainable: boolean;
  /** The freeze patterns (as the spec writes them, `/source/flags`) that freeze this parameter. */
  frozen_by: string[];
  /** Other names of the same tensor, which freeze patterns also search. */
  aliases: string[];
}

export interface PhaseParams {
  name: string;
  total: number;
  trainable: number;
  frozen: number;
  patterns: { pattern: string; modules: number; params: number }[];
  /** The parameters, in the model's order (only those --match selects). */
  parameters: ParamRow[];
}

export const patternText = (f: { source: string; flags: string }): string => `/${f.source}/${f.flags}`;

/** One phase's listing, from its parameter list and freeze split. */
export function phaseParams(
  name: string,
  params: readonly ParamSpec[],
  split: FreezeResult,
  freeze: readonly RegexIR[],
  match?: RegExp,
): PhaseParams {
  const texts = freeze.map(patternText);
  const rows: ParamRow[] = params.map((p) => {
    const by = split.reasons.get(p) ?? [];
    return {
      name: p.name,
      shape: [...p.shape],
      count: numel(p.shape),
      trainable: by.length === 0,
      frozen_by: by.map((i) => texts[i]!),
      aliases: [...p.aliases],
    };
  });
  const sum = (ps: readonly ParamSpec[]) => ps.reduce((a, p) => a + numel(p.shape), 0);
  return {
    name,
    total: sum(params),
    trainable: sum(split.trainable),
    frozen: sum(split.frozen),
    patterns: texts.map((pattern, i) => ({ pattern, modules: split.matches[i]!.length, params: sum(split.frozenBy[i]!) })),
    parameters: match ? rows.filter((r) => [r.name, ...r.aliases].some((n) => match.test(n))) : rows,
  };
}

/** `/source/flags` or a bare source, as a JS RegExp (flags as the spec allows them: i, m, s). */
function parseMatch(text: string, io: Io): RegExp {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(text);
  const [source, flags] = m ? [m[1]!, m[2]!] : [text, ""];
  if (/[^ims]/.test(flags)) throw io.usage(`--match: unsupported regex flag(s) \`${flags.replace(/[ims]/g, "")}\` (i, m and s)`);
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw io.usage(`--match: ${(err as Error).message}`);
  }
}

function human(p: PhaseParams, shown: boolean, paint: Painter): string {
  const n = thousands;
  const lines = [
    paint.bold(`phase ${p.name}`) + `: ${paint.green(n(p.trainable))} trainable · ${n(p.frozen)} frozen · ${n(p.total)} total`,
  ];
  for (const f of p.patterns) {
    const what =
      f.modules === 0 ? paint.red("matches no module") : `${n(f.modules)} module${f.modules === 1 ? "" : "s"}, ${n(f.params)} parameters`;
    lines.push(`  freeze ${f.pattern.padEnd(Math.max(...p.patterns.map((x) => x.pattern.length)))}  ${what}`);
  }
  if (p.parameters.length === 0) {
    lines.push(`  ${paint.dim(shown ? "no parameter matches --match" : "no parameters")}`);
    return lines.join("\n") + "\n";
  }
  const shape = (r: ParamRow) => `[${r.shape.join(", ")}]`;
  const leaf = (r: ParamRow) => r.name.slice(r.name.lastIndexOf(".") + 1);
  const wLeaf = Math.max(...p.parameters.map((r) => leaf(r).length));
  const wShape = Math.max(...p.parameters.map((r) => shape(r).length));
  const wCount = Math.max(...p.parameters.map((r) => n(r.count).length));
  let module: string | undefined;
  for (const r of p.parameters) {
    const m = r.name.slice(0, r.name.lastIndexOf("."));
    if (m !== module) {
      lines.push(`  ${paint.cyan(m)}`);
      module = m;
    }
    const state = r.trainable ? paint.green("trainable") : `frozen by ${r.frozen_by.join(", ")}`;
    const also = r.aliases.length ? paint.dim(`  (also ${r.aliases.join(", ")})`) : "";
    lines.push(`    ${leaf(r).padEnd(wLeaf)}  ${shape(r).padEnd(wShape)}  ${n(r.count).padStart(wCount)}  ${state}${also}`);
  }
  if (shown) {
    const count = p.parameters.reduce((a, r) => a + r.count, 0);
    const frozen = p.parameters.filter((r) => !r.trainable).reduce((a, r) => a + r.count, 0);
    lines.push(`  ${paint.dim(`${p.parameters.length} tensors match: ${n(count - frozen)} trainable · ${n(frozen)} frozen`)}`);
  }
  return lines.join("\n") + "\n";
}

export function registerParamsCommand(program: Command, io: Io): void {
  program
    .command("params")
    .description("list each phase's parameters with shapes, counts, and the freeze pattern that froze each")
    .argument("<spec>", "the .llava file")
    .option("--phase <name>", "only this phase")
    .option("--match <regex>", "only parameters whose name (or alias) matches, e.g. 'layers\\.0\\.' or /ln_f/i")
    .option("--format <format>", "human or json", "human")
    .option("--no-color", "no ANSI colours")
    .action(async (spec: string, o: { phase?: string; match?: string; format: string; color?: boolean }) => {
      if (o.format !== "human" && o.format !== "json") throw io.usage(`unknown format "${o.format}" (use human or json)`);
      const match = o.match === undefined ? undefined : parseMatch(o.match, io);
      const result = await io.compileSpec(spec);
      const names = result.phases.map((p) => p.unit.ir.$name);
      if (o.phase !== undefined && !names.includes(o.phase))
        throw io.usage(`no phase \`${o.phase}\` (the spec has ${names.join(", ") || "none"})`);
      const listed: PhaseParams[] = [];
      for (const p of result.phases) {
        const name = p.unit.ir.$name;
        if (o.phase !== undefined && name !== o.phase) continue;
        // Partial results too: a spec with a wrong pattern is exactly when the tree is wanted.
        const d = p.partial;
        if (d.params && d.freeze) listed.push(phaseParams(name, d.params, d.freeze, p.unit.ir.freeze, match));
      }
      const paint = io.paint(o.color);
      if (o.format === "json") {
        process.stdout.write(
          JSON.stringify(
            {
              phases: listed,
              diagnostics: result.diags.sorted().map((d) => toJson(d, result.graph)),
              errors: result.diags.errorCount,
              warnings: result.diags.warningCount,
            },
            null,
            2,
          ) + "\n",
        );
      } else {
        // Errors only: warnings (missing data folders, say) do not change the tree; `check` shows them.
        for (const d of result.diags.sorted())
          if (d.severity === "error") process.stderr.write(renderDiagnostic(d, result.graph, paint) + "\n\n");
        process.stdout.write(listed.map((p) => human(p, match !== undefined, paint)).join("\n"));
        if (listed.length === 0) process.stderr.write("llavac: no phase's model could be built (see the errors above)\n");
      }
      io.setExit(result.diags.errorCount > 0 || listed.length === 0 ? 1 : 0);
    });
}
