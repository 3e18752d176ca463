// A YAML config with the positions of its keys and its comments, for `llavac import`: js-yaml's event
// stream gives each key's offset; comments are read from the lines themselves.
import { EVENT_ID, load, parseEvents } from "js-yaml";

export interface YamlSource {
  file: string;
  text: string;
  value: unknown;
  /** Dotted key path → offset of the key in the text. */
  keys: Map<string, number>;
  /** Dotted key path → the comment at the end of its line. */
  trailing: Map<string, string>;
  /** Comments on lines of their own, with the key path that follows them ("" for the header). */
  standalone: { before: string; text: string; line: number }[];
  position(offset: number): { line: number; column: number };
}

function unquote(s: string): string {
  if ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'"))) return s.slice(1, -1);
  return s;
}

/** The comment of a line (after a `#` outside quotes), or undefined. */
function commentOf(line: string): { text: string; column: number } | undefined {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return { text: line.slice(i).replace(/^#+/, "").trim(), column: i };
  }
  return undefined;
}

/** A YAML document llavac refuses to read whole (an alias bomb, a recursive alias). */
export class YamlRefused extends Error {}

/** Aliases (`*name`) per document; a Model Zoo params file has none. */
export const MAX_ALIASES = 1000;
/** Values of the document with every alias expanded: a params file has a few hundred. */
export const MAX_EXPANDED = 100_000;

/** The document's size with aliases expanded, counted on the shared graph (each node once, with memo), so a
 *  "billion laughs" document is measured in microseconds instead of being expanded; a recursive alias
 *  (a node inside itself) has no finite expansion. */
function expansionProblem(root: unknown): string | undefined {
  const size = new Map<object, number>();
  const active = new Set<object>();
  let problem: string | undefined;
  const count = (v: unknown): number => {
    if (problem || v === null || typeof v !== "object") return 1;
    const known = size.get(v);
    if (known !== undefined) return known;
    if (active.has(v)) {
      problem = "it has a recursive alias (a node that contains itself), which has no finite value";
      return 1;
    }
    active.add(v);
    let n = 1;
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      n += count(x);
      if (n > MAX_EXPANDED) break;
    }
    active.delete(v);
    size.set(v, n);
    return n;
  };
  const n = count(root);
  if (problem) return problem;
  if (n > MAX_EXPANDED)
    return `its aliases (\`*name\`) expand it to more than ${MAX_EXPANDED.toLocaleString("en-US")} values; a params file has a few hundred`;
  return undefined;
}

export function readYaml(file: string, text: string): YamlSource {
  // js-yaml's default (core) schema: its YAML 1.1 schema would read the key `n` (KeepNCheckpoints.n) as
  // `false`, which PyYAML, and so the Model Zoo, does not.
  const value = load(text, { filename: file, maxAliases: MAX_ALIASES });
  const refused = expansionProblem(value);
  if (refused) throw new YamlRefused(`refused: ${refused}`);
  const keys = new Map<string, number>();
  type Frame = { kind: "map" | "seq"; path: string; index: number; key?: string | undefined };
  const stack: Frame[] = [];
  const childPath = (f: Frame) =>
    f.kind === "map" ? (f.path ? `${f.path}.${f.key}` : f.key!) : f.path ? `${f.path}.${f.index}` : String(f.index);
  const done = (f: Frame | undefined) => {
    if (!f) return;
    if (f.kind === "map") f.key = undefined;
    else f.index++;
  };
  for (const ev of parseEvents(text, { filename: file }) as Iterable<{ type: number; valueStart?: number; valueEnd?: number }>) {
    const top = stack[stack.length - 1];
    if (ev.type === EVENT_ID.MAPPING || ev.type === EVENT_ID.SEQUENCE) {
      stack.push({ kind: ev.type === EVENT_ID.MAPPING ? "map" : "seq", path: top ? childPath(top) : "", index: 0 });
    } else if (ev.type === EVENT_ID.SCALAR || ev.type === EVENT_ID.ALIAS) {
      if (top?.kind === "map" && top.key === undefined && ev.type === EVENT_ID.SCALAR) {
        top.key = unquote(text.slice(ev.valueStart!, ev.valueEnd!));
        keys.set(childPath(top), ev.valueStart!);
      } else done(top);
    } else if (ev.type === EVENT_ID.POP) {
      stack.pop();
      done(stack[stack.length - 1]);
    }
  }

  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0,
      hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const keyAtLine = new Map<number, string>();
  for (const [k, off] of keys) if (!keyAtLine.has(lineOf(off))) keyAtLine.set(lineOf(off), k);
  const trailing = new Map<string, string>();
  const standalone: YamlSource["standalone"] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const c = commentOf(line);
    if (!c) return;
    if (line.slice(0, c.column).trim() !== "") {
      const key = keyAtLine.get(i);
      if (key && c.text) trailing.set(key, c.text);
      return;
    }
    // A comment on its own line belongs with the next key.
    let before = "";
    for (let j = i + 1; j < lines.length; j++) {
      const k = keyAtLine.get(j);
      if (k) {
        before = k;
        break;
      }
    }
    const firstKey = Math.min(...[...keys.values()].map(lineOf));
    standalone.push({ before: i < firstKey ? "" : before, text: c.text, line: i + 1 });
  });
  return {
    file,
    text,
    value,
    keys,
    trailing,
    standalone,
    position: (offset) => ({ line: lineOf(offset) + 1, column: offset - lineStarts[lineOf(offset)]! + 1 }),
  };
}
