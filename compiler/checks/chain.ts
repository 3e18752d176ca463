// Phase chains: a phase that starts from another must name a phase of this spec, must not loop, and
// loads model weights only.
import type { CheckContext } from "../context.js";
import { sound, type PhaseIR, type PhaseUnit } from "../ir.js";

export function checkChains(units: PhaseUnit[], ctx: CheckContext): void {
  const byName = new Map(units.map((u) => [u.ir.$name, u]));
  for (const u of units) {
    const from = u.ir.from;
    if (!from || !sound(u, "from")) continue;
    if (!byName.has(from.phase)) {
      ctx.diags.error("E0406", `phase \`${from.phase}\` is not declared in this spec`, ctx.spanOf(u, "from.phase"), {
        help: "a phase can only start from another phase of the same spec file",
      });
    }
    const extra = from.states.filter((s) => s !== "model");
    if (extra.length > 0) {
      const i = from.states.indexOf(extra[0]!);
      ctx.diags.error("E0407", { states: extra.map((s) => `\`${s}\``).join(", ") }, ctx.spanOf(u, `from.states.${i}`), {
        notes: [
          {
            message: 'the optimizer, schedule and data position of the new phase start fresh (Cerebras `load_checkpoint_states: "model"`)',
          },
        ],
        help: `write \`${from.phase}(states: model)\``,
      });
    }
  }
  // Cycles: follow `from` links.
  const reported = new Set<string>();
  for (const u of units) {
    const seen: string[] = [];
    let cur: PhaseUnit | undefined = u;
    while (cur && cur.ir.from && sound(cur, "from") && !seen.includes(cur.ir.$name)) {
      seen.push(cur.ir.$name);
      cur = byName.get(cur.ir.from.phase);
    }
    if (cur && seen.includes(cur.ir.$name) && cur.ir.$name === u.ir.$name) {
      const loop = seen.slice(seen.indexOf(cur.ir.$name));
      const key = [...loop].sort().join(",");
      if (reported.has(key)) continue;
      reported.add(key);
      ctx.diags.error("E0405", { loop: [...loop, loop[0]].join(" → ") }, ctx.spanOf(u, "from"), {
        notes: loop.slice(1).map((n) => ({
          message: `\`${n}\` starts from \`${byName.get(n)!.ir.from!.phase}\` here`,
          span: ctx.spanOf(byName.get(n)!, "from"),
        })),
        help: "one phase must start from pretrained weights: remove its `from`",
      });
    }
  }
}

/** Items ordered so that each phase comes after the phase it starts from (checkChains rejects cycles). */
export function chainOrder<T>(items: readonly T[], phaseOf: (item: T) => PhaseIR): T[] {
  const out: T[] = [];
  const visit = (item: T, seen: Set<string>) => {
    const p = phaseOf(item);
    if (out.includes(item) || seen.has(p.$name)) return;
    seen.add(p.$name);
    const from = p.from && items.find((q) => phaseOf(q).$name === p.from!.phase);
    if (from) visit(from, seen);
    out.push(item);
  };
  for (const item of items) visit(item, new Set());
  return out;
}
