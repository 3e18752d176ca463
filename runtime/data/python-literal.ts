// A safe reader for Python literals (dicts, lists, tuples, strings, numbers, True/False/None), for
// fields that upstream datasets store as `repr()` text. The Cerebras scripts `eval()` them.
export class LiteralError extends Error {}

export function parsePythonLiteral(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new LiteralError(`${what} at offset ${i}`);
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") return dict();
    if (c === "[" || c === "(") return seq(c === "[" ? "]" : ")");
    if (c === "'" || c === '"') return str();
    if (text.startsWith("True", i)) {
      i += 4;
      return true;
    }
    if (text.startsWith("False", i)) {
      i += 5;
      return false;
    }
    if (text.startsWith("None", i)) {
      i += 4;
      return null;
    }
    const m = /^[-+]?(\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?)/i.exec(text.slice(i));
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    return fail("unexpected character");
  };
  const dict = () => {
    i++;
    const out: Record<string, unknown> = {};
    ws();
    while (text[i] !== "}") {
      const k = value();
      ws();
      if (text[i] !== ":") fail("expected ':'");
      i++;
      out[String(k)] = value();
      ws();
      if (text[i] === ",") {
        i++;
        ws();
      } else if (text[i] !== "}") fail("expected ',' or '}'");
    }
    i++;
    return out;
  };
  const seq = (close: string) => {
    i++;
    const out: unknown[] = [];
    ws();
    while (text[i] !== close) {
      out.push(value());
      ws();
      if (text[i] === ",") {
        i++;
        ws();
      } else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      if (i >= text.length) fail("unterminated sequence");
    }
    i++;
    return out;
  };
  const str = () => {
    const q = text[i]!;
    const triple = text.startsWith(q.repeat(3), i);
    const end = triple ? q.repeat(3) : q;
    i += end.length;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      if (text.startsWith(end, i)) {
        i += end.length;
        return out;
      }
      const c = text[i++]!;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[i++];
      const simple: Record<string, string> = {
        n: "\n",
        t: "\t",
        r: "\r",
        "\\": "\\",
        "'": "'",
        '"': '"',
        "0": "\0",
        a: "\x07",
        b: "\b",
        f: "\f",
        v: "\v",
        "\n": "",
      };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === "x" || e === "u" || e === "U") {
        const n = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = text.slice(i, i + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail("bad escape");
        out += String.fromCodePoint(parseInt(hex, 16));
        i += n;
      } else out += "\\" + (e ?? "");
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing text");
  return v;
}
