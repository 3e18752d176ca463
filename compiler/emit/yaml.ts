// YAML values as the emitters build them, and their rendering through js-yaml's presenter. Floats are
// kept apart from ints so a float field prints as `1.0`, never `1` (and never `1e-08`, which PyYAML
// would read as a string); short lists print inline like the reference configs. Quoting of strings is
// left to js-yaml, so no string can ever add a key or break the document.
import { COLLECTION_STYLE, DUMP_SCHEMA, SCALAR_STYLE, present, type Node } from "js-yaml";

export class Float {
  constructor(readonly value: number) {}
}

/** A sequence printed on one line: `[0.9, 0.999]`. */
export class Flow {
  constructor(readonly items: YValue[]) {}
}

export type YValue = string | number | boolean | null | Float | Flow | YValue[] | { [key: string]: YValue };

export const float = (v: number) => new Float(v);
export const flow = (items: YValue[]) => new Flow(items);

/** The plain JavaScript value a YAML parser would return. */
export function toPlain(v: YValue): unknown {
  if (v instanceof Float) return v.value;
  if (v instanceof Flow) return v.items.map(toPlain);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

/** A float spelled so both PyYAML (YAML 1.1) and YAML 1.2 parsers read it back as a float. */
export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return ".nan";
  if (!Number.isFinite(x)) return x > 0 ? ".inf" : "-.inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  let s = String(x);
  if (s.includes("e")) {
    let [mant, exp] = s.split("e") as [string, string];
    if (!mant.includes(".")) mant += ".0";
    if (!exp.startsWith("-") && !exp.startsWith("+")) exp = "+" + exp;
    s = `${mant}e${exp}`;
  }
  return s;
}

const TAG = "tag:yaml.org,2002:";
const scalar = (value: string, tag: string): Node => ({ kind: "scalar", tag: TAG + tag, tagged: false, style: SCALAR_STYLE.PLAIN, value });

function toNode(v: YValue): Node {
  if (v === null) return scalar("null", "null");
  if (v instanceof Float) return scalar(formatFloat(v.value), "float");
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
    return scalar(String(v), "int");
  }
  if (typeof v === "boolean") return scalar(v ? "true" : "false", "bool");
  if (typeof v === "string") return scalar(v, "str");
  if (v instanceof Flow)
    return { kind: "sequence", tag: TAG + "seq", tagged: false, style: COLLECTION_STYLE.FLOW, items: v.items.map(toNode) };
  if (Array.isArray(v)) return { kind: "sequence", tag: TAG + "seq", tagged: false, style: COLLECTION_STYLE.BLOCK, items: v.map(toNode) };
  return {
    kind: "mapping",
    tag: TAG + "map",
    tagged: false,
    style: COLLECTION_STYLE.BLOCK,
    items: Object.entries(v).map(([k, x]) => ({ key: scalar(k, "str"), value: toNode(x) })),
  };
}

/** Render a document; `header` lines become `# ` comments at the top. */
export function renderYaml(v: YValue, header: string[] = []): string {
  const body = present([{ contents: toNode(v), directives: [] }], { schema: DUMP_SCHEMA, lineWidth: -1, indent: 2 });
  const comments = header.map((h) => `# ${h.replace(/[\r\n]+/g, " ")}`.trimEnd()).join("\n");
  return (comments ? comments + "\n" : "") + body;
}
