// Where each emitted YAML value came from, shown to people: `build --annotate` writes each key's origin (from
// the manifest's source map) as a YAML comment on its line, and `llavac why` explains one key of a built file.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { SourceLocation } from "./build.js";

/** The comment for one key: `llava.llava:23`, `std/core.llava:58 (default)`, `derived: ⌊558,128 / 256⌋ (llava.llava:29)`. */
export function originComment(loc: SourceLocation): string {
  const at = `${loc.file}:${loc.line}`;
  if (loc.origin === "derived") return `derived: ${loc.derived ?? "?"} (${at})`;
  return loc.origin === "default" ? `${at} (default)` : at;
}

const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#:-][^:#]*?):(?: (.*))?$/;
const unquote = (k: string) => (k.startsWith('"') ? (JSON.parse(k) as string) : k.startsWith("'") ? k.slice(1, -1).replace(/''/g, "'") : k);

/**
 * The YAML key path of every line of a block-style document as js-yaml writes it (2-space indents, block
 * sequences indented under their key, `- key: value` items): line index → dotted path (list items by index).
 * Continuation lines of block scalars have no path of their own.
 */
export function linePaths(yaml: string): (string | undefined)[] {
  const lines = yaml.split("\n");
  const out: (string | undefined)[] = [];
  type Frame = { col: number; path: string[]; seq: boolean; idx: number };
  const frames: Frame[] = [{ col: 0, path: [], seq: false, idx: -1 }];
  let pending: { col: number; path: string[] } | undefined;
  let blockScalarCol: number | undefined;
  for (const line of lines) {
    const col = line.length - line.trimStart().length;
    let rest = line.slice(col);
    if (blockScalarCol !== undefined && (rest === "" || col > blockScalarCol)) {
      out.push(undefined);
      continue;
    }
    blockScalarCol = undefined;
    if (rest === "" || rest.startsWith("#")) {
      out.push(undefined);
      continue;
    }
    const dash = rest.startsWith("- ");
    if (pending && (col > pending.col || (col === pending.col && dash))) frames.push({ col, path: pending.path, seq: dash, idx: -1 });
    pending = undefined;
    for (
      let top = frames[frames.length - 1]!;
      frames.length > 1 && (top.col > col || (top.col === col && top.seq !== dash));
      top = frames[frames.length - 1]!
    )
      frames.pop();
    let frame = frames[frames.length - 1]!;
    let c = col,
      scalarItem: string[] | undefined;
    while (frame.seq && rest.startsWith("- ")) {
      frame.idx++;
      const itemPath = [...frame.path, String(frame.idx)];
      rest = rest.slice(2);
      c += 2;
      if (rest.startsWith("- ")) frame = { col: c, path: itemPath, seq: true, idx: -1 };
      else if (KEY.test(rest)) frame = { col: c, path: itemPath, seq: false, idx: -1 };
      else {
        scalarItem = itemPath;
        break;
      }
      frames.push(frame);
    }
    if (scalarItem) {
      out.push(scalarItem.join("."));
      continue;
    }
    const m = KEY.exec(rest);
    if (!m || frame.seq) {
      out.push(undefined);
      continue;
    }
    const keyPath = [...frame.path, unquote(m[1]!)];
    out.push(keyPath.join("."));
    // A value that is only a comment is no value (a key of an annotated file opening a block).
    const raw = (m[2] ?? "").trim();
    const value = raw.startsWith("#") ? "" : raw;
    if (value === "") pending = { col: c, path: keyPath };
    else if (/^[|>][-+0-9]*$/.test(value)) blockScalarCol = c;
  }
  return out;
}

/** `yaml` with each line that has an origin in `sourceMap` ending in `# <origin>`. */
export function annotateYaml(yaml: string, sourceMap: Record<string, SourceLocation>): string {
  const paths = linePaths(yaml);
  return yaml
    .split("\n")
    .map((line, i) => {
      const p = paths[i];
      const loc = p === undefined ? undefined : sourceMap[p];
      return loc ? `${line}  # ${originComment(loc).replace(/[\r\n]+/g, " ")}` : line;
    })
    .join("\n");
}

export interface Manifest {
  spec: string;
  phases: Record<string, { source_map: Record<string, Record<string, SourceLocation>>; formulas?: Record<string, string> }>;
}

export interface WhyAnswer {
  file: string;
  phase: string;
  key: string;
  value: unknown;
  location: SourceLocation;
  /** The source line, when its file can be found (`std/…` always; the spec's files through `specDir`). */
  source?: { file: string; line: number; text: string };
  /** When the key itself has no origin: the nearest enclosing key that has one. */
  via?: string;
}

export class WhyError extends Error {}

/** `llavac why <out>/<phase>/<file>.yaml <key>`: the key's origin from `<out>/manifest.json`. */
export function why(
  yamlFile: string,
  key: string,
  opts: { spec?: string; stdlibDir: string; loadYaml: (t: string) => unknown },
): WhyAnswer {
  const phaseDir = path.dirname(path.resolve(yamlFile));
  const phase = path.basename(phaseDir),
    name = path.basename(yamlFile);
  const manifestFile = path.join(path.dirname(phaseDir), "manifest.json");
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  } catch (err) {
    throw new WhyError(
      `cannot read ${path.relative(process.cwd(), manifestFile) || manifestFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): \`why\` reads the manifest \`llavac build\` writes beside the phase folders`,
    );
  }
  const map = manifest.phases?.[phase]?.source_map?.[name];
  if (!map) throw new WhyError(`${yamlFile}: the manifest has no source map for phase "${phase}", file ${name}`);
  let text: string;
  try {
    text = readFileSync(yamlFile, "utf8");
  } catch (err) {
    throw new WhyError(`cannot read ${yamlFile}: ${(err as Error).message}`);
  }
  const doc = opts.loadYaml(text);
  let value: unknown = doc;
  for (const part of key.split(".")) {
    if (value === null || typeof value !== "object" || !(part in (value as object))) {
      const keys = value !== null && typeof value === "object" ? Object.keys(value as object) : [];
      throw new WhyError(
        `${yamlFile} has no key \`${key}\` (at \`${part}\`${keys.length ? `; there: ${keys.slice(0, 12).join(", ")}` : ""})`,
      );
    }
    value = (value as Record<string, unknown>)[part];
  }
  let probe = key,
    location = map[probe];
  while (!location && probe.includes(".")) {
    probe = probe.slice(0, probe.lastIndexOf("."));
    location = map[probe];
  }
  if (!location) throw new WhyError(`the source map has no origin for \`${key}\``);
  const answer: WhyAnswer = { file: yamlFile, phase, key, value, location, ...(probe !== key ? { via: probe } : {}) };
  const specDir = opts.spec ? path.dirname(path.resolve(opts.spec)) : undefined;
  const source = location.file.startsWith("std/")
    ? path.join(opts.stdlibDir, location.file.slice(4))
    : specDir
      ? path.resolve(specDir, location.file)
      : undefined;
  if (source) {
    try {
      const lineText = readFileSync(source, "utf8").split(/\r?\n/)[location.line - 1];
      if (lineText !== undefined) answer.source = { file: location.file, line: location.line, text: lineText };
    } catch {
      // The spec moved since the build: the location is still printed.
    }
  }
  return answer;
}

export function renderWhy(a: WhyAnswer): string {
  const loc = a.location;
  const out = [`${a.key} = ${JSON.stringify(a.value)}   (${a.file}, phase ${a.phase})`];
  if (a.via) out.push(`  (no origin of its own: it is part of \`${a.via}\`)`);
  const where = `${loc.file}:${loc.line}:${loc.column}`;
  if (loc.origin === "derived") out.push(`  derived: ${loc.derived ?? "?"}`, `  from ${where}`);
  else if (loc.origin === "default") out.push(`  the standard library's default, ${where}`);
  else out.push(`  written at ${where}`);
  if (a.source) {
    const g = String(a.source.line);
    out.push(
      `  ${" ".repeat(g.length)} |`,
      `  ${g} | ${a.source.text}`,
      `  ${" ".repeat(g.length)} | ${" ".repeat(Math.max(0, loc.column - 1))}^`,
    );
  } else if (!loc.file.startsWith("std/")) out.push(`  (pass --spec <the .llava file> to show the line)`);
  return out.join("\n") + "\n";
}
