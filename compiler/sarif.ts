// `--format sarif`: the diagnostics as a SARIF 2.1.0 log, for code-scanning systems (GitHub, Azure DevOps,
// VS Code's SARIF viewer). The rules are the catalog (compiler/codes.ts); each result points at its span,
// and a note with a span becomes a related location.
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Span } from "../grammar/ast.js";
import { CODES, defaultLevel, type Code, type CodeInfo } from "./codes.js";
import type { Diagnostic } from "./diagnostics.js";
import { VERSION } from "./version.js";

const SRCROOT = "SRCROOT";

/** A file as an artifact location: relative to the working directory when inside it, else a file: URI. */
function artifact(file: string, cwd: string): { uri: string; uriBaseId?: string } {
  if (!path.isAbsolute(file)) return { uri: file.split(/[\\/]/).map(encodeURIComponent).join("/"), uriBaseId: SRCROOT };
  const rel = path.relative(cwd, file);
  if (rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel))
    return { uri: rel.split(path.sep).map(encodeURIComponent).join("/"), uriBaseId: SRCROOT };
  return { uri: pathToFileURL(file).href };
}

function physical(span: Span, cwd: string, label?: string) {
  return {
    artifactLocation: artifact(span.file, cwd),
    // Spans count code points and end one past the last character, as SARIF's columns do.
    region: {
      startLine: span.line,
      startColumn: span.col,
      endLine: span.endLine,
      endColumn: span.endCol,
      ...(label !== undefined ? { message: { text: label } } : {}),
    },
  };
}

export function toSarif(diags: Diagnostic[], cwd: string): object {
  const codes = Object.keys(CODES) as Code[];
  const index = new Map(codes.map((c, i) => [c, i]));
  const rules = codes.map((c) => {
    const info: CodeInfo = CODES[c];
    return {
      id: c,
      shortDescription: { text: info.title },
      fullDescription: { text: info.explain },
      help: { text: `${info.explain}\n\n(llavac explain ${c})` },
      defaultConfiguration: { level: defaultLevel(c) },
    };
  });
  const results = diags.map((d) => {
    const related = d.notes
      .filter((n) => n.span !== undefined)
      .map((n, i) => ({ id: i + 1, message: { text: n.message }, physicalLocation: physical(n.span!, cwd) }));
    const text = [
      d.message,
      ...d.notes.filter((n) => n.span === undefined).map((n) => `note: ${n.message}`),
      ...d.help.map((h) => `help: ${h}`),
    ].join("\n");
    return {
      ruleId: d.code,
      ruleIndex: index.get(d.code)!,
      level: d.severity,
      message: { text },
      locations: [{ physicalLocation: physical(d.span, cwd, d.label) }],
      ...(related.length ? { relatedLocations: related } : {}),
    };
  });
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "llavac", version: VERSION, semanticVersion: VERSION, rules } },
        originalUriBaseIds: { [SRCROOT]: { uri: pathToFileURL(cwd.endsWith(path.sep) ? cwd : cwd + path.sep).href } },
        columnKind: "unicodeCodePoints",
        results,
      },
    ],
  };
}
