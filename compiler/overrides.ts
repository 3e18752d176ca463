// Command-line overrides: `--set finetune.optimizer.lr=2e-5`. Each argument becomes a source of its own
// (`--set #1`) so its diagnostics are shown like a spec line with a caret; the value is parsed with the
// spec grammar and checked by the checker at the field's schema, like a value written in the file.
import { lineStarts, parseValue, type Expr, type Ident, type Span } from "../grammar/index.js";
import type { Command } from "commander";
import type { DiagnosticBag } from "./diagnostics.js";
import type { ModuleGraph } from "./modules.js";

export interface Override {
  /** The `--set` argument as given. */
  text: string;
  /** Its source name in diagnostics and the manifest. */
  file: string;
  /** A declaration name, then field names. */
  path: Ident[];
  valueText: string;
  value: Expr;
  /** The whole argument. */
  span: Span;
}

export const overrideSource = (n: number) => `--set #${n}`;

function spanIn(file: string, text: string, starts: number[], start: number, end: number): Span {
  const pos = (o: number): [number, number] => {
    let l = 0;
    while (l + 1 < starts.length && starts[l + 1]! <= o) l++;
    return [l + 1, o - starts[l]! + 1];
  };
  const [line, col] = pos(start),
    [endLine, endCol] = pos(end);
  return { file, start, end, line, col, endLine, endCol };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parse every `--set`; malformed ones are reported (E0701, E0704) and left out. */
export function parseOverrides(args: readonly string[], graph: ModuleGraph, diags: DiagnosticBag): Override[] {
  const out: Override[] = [];
  args.forEach((text, i) => {
    const file = overrideSource(i + 1);
    graph.setVirtual(file, text);
    const starts = lineStarts(text);
    const at = (s: number, e: number) => spanIn(file, text, starts, s, e);
    const eq = text.indexOf("=");
    if (eq < 0) {
      diags.error("E0701", `\`--set\` wants \`path=value\`, found no \`=\``, at(0, text.length), {
        help: "write `--set finetune.optimizer.lr=2e-5`",
      });
      return;
    }
    const path: Ident[] = [];
    let offset = 0,
      ok = true;
    for (const raw of text.slice(0, eq).split(".")) {
      const lead = raw.length - raw.trimStart().length;
      const name = raw.trim();
      const s = offset + lead;
      if (!NAME.test(name)) {
        diags.error(
          "E0701",
          name === "" ? "empty name in the `--set` path" : `\`${name}\` is not a name`,
          at(s, Math.max(s + 1, s + name.length)),
          {
            help: "a path is a declaration of the spec and its fields, separated by `.`: `finetune.optimizer.lr`",
          },
        );
        ok = false;
        break;
      }
      path.push({ name, span: at(s, s + name.length) });
      offset += raw.length + 1;
    }
    if (!ok) return;
    const parsed = parseValue(text, file, eq + 1);
    if (parsed.problems.length > 0) {
      for (const p of parsed.problems)
        diags.error("E0704", `the value of \`--set ${path.map((p) => p.name).join(".")}\` does not parse: ${p.message}`, p.span, {
          help: 'write the value as in the spec: `2e-5`, `"./data"` (quoted for the shell too), `128 per step`, `[a, b]`',
        });
      return;
    }
    out.push({ text, file, path, valueText: text.slice(eq + 1).trim(), value: parsed.value, span: at(0, text.length) });
  });
  return out;
}

/** `--set <path=value>`, repeatable, on the commands that compile a spec (check, build, run). */
export function addSetOption(cmd: Command): Command {
  return cmd.option(
    "--set <path=value>",
    "override a value of the spec, written as in the spec: --set finetune.optimizer.lr=2e-5 (repeatable)",
    (v: string, prev: string[]) => [...prev, v],
    [] as string[],
  );
}
