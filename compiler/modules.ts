// Modules and imports: find, read and parse every module a spec reaches, and report missing modules and
// import cycles at the import that causes them.
import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readFileSync, type Stats } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, type ImportDecl, type Module, type ParseResult, type Span } from "../grammar/index.js";
import type { ErrorCode } from "./codes.js";
import type { DiagnosticBag, SourceLookup } from "./diagnostics.js";

export const STDLIB_DIR = fileURLToPath(new URL("../stdlib/", import.meta.url));
export const PRELUDE = "std/core";

export interface SourceModule {
  /** Absolute path. */
  path: string;
  /** How messages name it: `std/vision.llava`, or a path relative to the working directory. */
  display: string;
  isStd: boolean;
  text: string;
  ast: Module;
  comments: ParseResult["comments"];
  imports: { decl: ImportDecl; target: SourceModule | undefined }[];
}

export interface FileSystem {
  read(file: string): string | undefined;
  exists(file: string): boolean;
  /** Why `read` gave nothing for a path that exists (a folder, a FIFO, a device, too large). */
  whyUnreadable?(file: string): string | undefined;
}

/** Spec and config files are small; a larger one is a mistake (or /dev/zero behind a link), not a spec. */
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024;

/** What is wrong with a path as a source file, from its status alone (a stat never blocks, a read of a FIFO does). */
function refusal(st: Stats, limit: number): string | undefined {
  if (st.isDirectory()) return "it is a folder, not a file";
  if (st.isFIFO()) return "it is a named pipe (FIFO), not a regular file";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "it is a device, not a regular file";
  if (st.isSocket()) return "it is a socket, not a regular file";
  if (!st.isFile()) return "it is not a regular file";
  if (st.size > limit) return `it is ${(st.size / 1048576).toFixed(1)} MiB; a source file may be at most ${limit / 1048576} MiB`;
  return undefined;
}

/** Read a regular file as UTF-8 text, or say why not. The type is checked on the open descriptor (opened
 *  non-blocking, so a FIFO without a writer cannot hang us), and the size again after reading. */
export function readSource(file: string, limit = MAX_SOURCE_BYTES): { text: string } | { problem: string; missing?: true } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { problem: "no such file", missing: true };
    if (code === "EACCES" || code === "EPERM") return { problem: "permission denied" };
    if (code === "EISDIR") return { problem: "it is a folder, not a file" };
    return { problem: (err as Error).message };
  }
  try {
    const why = refusal(fstatSync(fd), limit);
    if (why) return { problem: why };
    const buf = readFileSync(fd);
    if (buf.length > limit) return { problem: `it is larger than ${limit / 1048576} MiB` };
    return { text: buf.toString("utf8") };
  } catch (err) {
    return { problem: (err as Error).message };
  } finally {
    closeSync(fd);
  }
}

export const nodeFs: FileSystem = {
  read(file) {
    const r = readSource(file);
    return "text" in r ? r.text : undefined;
  },
  exists: existsSync,
  whyUnreadable(file) {
    const r = readSource(file);
    return "problem" in r && !r.missing ? r.problem : undefined;
  },
};

// Parsing the standard library is the same work every time; keep it for the life of the process. By file,
// then text: a key of the whole text would be hashed on every lookup (8 modules in every compile).
const parseCache = new Map<string, { text: string; result: ParseResult }[]>();

// A long-lived process (the language server) re-compiles after every edit: an imported file that did not
// change keeps its parse. One entry per file (its latest text), so an edited file does not pile up versions.
const userParseCache = new Map<string, { text: string; result: ParseResult }>();
let cacheUserParses = false;

/** Keep the latest parse of each user file for the life of the process (the language server turns it on). */
export function keepUserParses(on = true): void {
  cacheUserParses = on;
  if (!on) userParseCache.clear();
}

/** The catalog code of a syntax problem: its own, or by its kind. */
export function problemCode(p: ParseResult["problems"][number]): ErrorCode {
  return (
    (p.code as ErrorCode | undefined) ??
    (p.kind === "lex" ? "E0002" : /unterminated|escape|too large|out of range/.test(p.message) ? "E0003" : "E0001")
  );
}

function parseCached(text: string, file: string, isStd: boolean): ParseResult {
  if (!isStd) {
    if (!cacheUserParses) return parse(text, file);
    const hit = userParseCache.get(file);
    if (hit && hit.text === text) return hit.result;
    const result = parse(text, file);
    userParseCache.set(file, { text, result });
    return result;
  }
  const seen = parseCache.get(file) ?? [];
  const hit = seen.find((e) => e.text === text);
  if (hit) return hit.result;
  const result = prebuiltParse(text, file) ?? parse(text, file);
  parseCache.set(file, [...seen, { text, result }]);
  return result;
}

/** Where the build writes the standard library's parses (scripts/build.mjs; the same path from the
 *  bundle in dist/ and from the sources). Spans name the files `${STDLIB_MARK}core.llava`. */
export const STDLIB_PARSES = fileURLToPath(new URL("../dist/stdlib-parses.json", import.meta.url));
export const STDLIB_MARK = "\u0000std/";
let prebuilt: Record<string, { sha256: string; result: ParseResult }> | null | undefined;

/**
 * A standard module's parse as the build made it, if it was made from exactly this text (by its hash):
 * reading it costs ~10 ms where parsing the standard library costs a command ~250 ms at start-up. Any
 * other text (an edited or newer stdlib, no build) is parsed.
 */
export function prebuiltParse(text: string, file: string): ParseResult | undefined {
  if (prebuilt === undefined) {
    try {
      const dir = JSON.stringify(STDLIB_DIR).slice(1, -1);
      prebuilt = JSON.parse(readFileSync(STDLIB_PARSES, "utf8").replaceAll(JSON.stringify(STDLIB_MARK).slice(1, -1), () => dir));
    } catch {
      prebuilt = null;
    }
  }
  const entry = prebuilt?.[path.relative(STDLIB_DIR, file).split(path.sep).join("/")];
  if (!entry || entry.sha256 !== createHash("sha256").update(text).digest("hex")) return undefined;
  return entry.result;
}

let stdExports: Map<string, string[]> | undefined;

/** Every standard module's own declarations: name → the modules (`std/vision`) that declare it, which is
 *  what `import { name } from "std/..."` can import. Read and parsed once, on first use (only when a name
 *  is unknown), from the standard library itself, so import hints cannot drift from it. */
export function stdlibExports(): Map<string, string[]> {
  if (stdExports) return stdExports;
  const index = new Map<string, string[]>();
  let files: string[] = [];
  try {
    files = readdirSync(STDLIB_DIR)
      .filter((f) => f.endsWith(".llava"))
      .sort();
  } catch {
    /* no stdlib: no hints */
  }
  for (const f of files) {
    const file = path.join(STDLIB_DIR, f);
    const r = readSource(file);
    if (!("text" in r)) continue;
    const mod = "std/" + f.slice(0, -".llava".length);
    for (const d of parseCached(r.text, file, true).module.decls) {
      if (d.name.name) index.set(d.name.name, [...(index.get(d.name.name) ?? []), mod]);
    }
  }
  stdExports = index;
  return index;
}

export class ModuleGraph implements SourceLookup {
  readonly modules = new Map<string, SourceModule>();
  private readonly overlay = new Map<string, string>();
  /** Sources that are not files (a command-line `--set`): named as given, never resolved or imported. */
  private readonly virtual = new Map<string, string>();
  /** Paths that exist but are not readable sources, with the reason. */
  readonly unreadable = new Map<string, string>();

  constructor(
    private readonly diags: DiagnosticBag,
    private readonly fs: FileSystem = nodeFs,
    private readonly cwd = process.cwd(),
  ) {}

  /** Use this text for a path instead of reading the disk (the fuzzer and editors use it). */
  setOverlay(file: string, text: string): void {
    this.overlay.set(path.resolve(file), text);
  }

  /** A source that is not a file, such as `--set #1`: diagnostics show its text like a spec line. */
  setVirtual(name: string, text: string): void {
    this.virtual.set(name, text);
  }

  isVirtual(name: string): boolean {
    return this.virtual.has(name);
  }

  text(file: string): string | undefined {
    return this.virtual.get(file) ?? this.modules.get(file)?.text ?? this.overlay.get(file) ?? this.fs.read(file);
  }

  display(file: string): string {
    if (this.virtual.has(file)) return file;
    const m = this.modules.get(file);
    if (m) return m.display;
    return this.displayOf(file);
  }

  private displayOf(file: string): string {
    if (file.startsWith(STDLIB_DIR)) return "std/" + path.relative(STDLIB_DIR, file).split(path.sep).join("/");
    const rel = path.relative(this.cwd, file);
    return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel.split(path.sep).join("/") : file;
  }

  /** Resolve an import path as written, relative to the importing file. */
  resolve(spec: string, from: string): string | undefined {
    const withExt = (p: string) => (p.endsWith(".llava") ? p : p + ".llava");
    if (spec.startsWith("std/")) {
      const rel = spec.slice(4);
      if (rel.includes("..")) return undefined;
      return path.join(STDLIB_DIR, withExt(rel));
    }
    if (spec.startsWith("./") || spec.startsWith("../") || path.isAbsolute(spec)) return path.resolve(path.dirname(from), withExt(spec));
    return undefined;
  }

  /** Load the root module and everything it imports. Returns undefined if the root cannot be read. */
  load(rootFile: string): SourceModule | undefined {
    const root = path.resolve(rootFile);
    const m = this.loadFile(root, []);
    // The prelude also for a standard module compiled on its own: lowering reads its `cerebras` defaults.
    if (m) this.loadPrelude();
    return m;
  }

  loadPrelude(): SourceModule | undefined {
    const file = this.resolve(PRELUDE, STDLIB_DIR)!;
    return this.loadFile(file, []);
  }

  private loadFile(file: string, stack: string[]): SourceModule | undefined {
    const existing = this.modules.get(file);
    if (existing) return existing;
    const text = this.overlay.get(file) ?? this.fs.read(file);
    if (text === undefined) {
      const why = this.fs.whyUnreadable?.(file);
      if (why) this.unreadable.set(file, why);
      return undefined;
    }
    const isStd = file.startsWith(STDLIB_DIR);
    const parsed = parseCached(text, file, isStd);
    const m: SourceModule = {
      path: file,
      display: this.displayOf(file),
      isStd,
      text,
      ast: parsed.module,
      comments: parsed.comments,
      imports: [],
    };
    this.modules.set(file, m);
    for (const p of parsed.problems) this.diags.error(problemCode(p), p.message, p.span, p.notes ? { notes: p.notes } : {});
    const here = [...stack, file];
    for (const decl of parsed.module.imports) {
      const target = this.resolve(decl.path, file);
      if (!target) {
        this.diags.error("E0107", `cannot resolve module "${decl.path}"`, decl.pathSpan, {
          help: 'standard modules are written "std/<name>"; files are written "./<path>" relative to this file',
        });
        m.imports.push({ decl, target: undefined });
        continue;
      }
      const cycleAt = here.indexOf(target);
      if (cycleAt >= 0) {
        const chain = [...here.slice(cycleAt), target].map((f) => this.displayOf(f)).join(" → ");
        this.diags.error("E0102", `import cycle: ${chain}`, decl.pathSpan, {
          help: "move the declarations both modules need into a third module",
        });
        m.imports.push({ decl, target: undefined });
        continue;
      }
      const loaded = this.loadFile(target, here);
      const why = loaded ? undefined : this.unreadable.get(target);
      if (why) {
        this.diags.error("E0106", `module "${decl.path}" cannot be read: ${why}`, decl.pathSpan, {
          help: "an import names a .llava source file",
        });
      } else if (!loaded) {
        this.diags.error(
          "E0101",
          `module "${decl.path}" not found (looked for ${this.displayOf(target)})`,
          decl.pathSpan,
          isStd ? {} : { help: stdHint(decl.path) },
        );
      }
      m.imports.push({ decl, target: loaded });
    }
    return m;
  }
}

function stdHint(spec: string): string {
  return spec.startsWith("std/")
    ? "the standard library has std/core, std/vision, std/language, std/projectors, std/templates, std/transforms and std/datasets"
    : "check the path; it is relative to the importing file";
}

export function spanOfFile(m: SourceModule): Span {
  return m.ast.span;
}
