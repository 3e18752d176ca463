// Modules and imports: find, read and parse every module a spec reaches, and report missing modules and
// import cycles at the import that causes them.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, type ImportDecl, type Module, type ParseResult, type Span } from "../grammar/index.js";
import type { Code } from "./codes.js";
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
}

export const nodeFs: FileSystem = {
  read(file) {
    try { return readFileSync(file, "utf8"); } catch { return undefined; }
  },
  exists: existsSync,
};

// Parsing the standard library is the same work every time; keep it for the life of the process.
const parseCache = new Map<string, ParseResult>();

function parseCached(text: string, file: string, isStd: boolean): ParseResult {
  if (!isStd) return parse(text, file);
  const key = file + "\0" + text;
  let r = parseCache.get(key);
  if (!r) { r = parse(text, file); parseCache.set(key, r); }
  return r;
}

export class ModuleGraph implements SourceLookup {
  readonly modules = new Map<string, SourceModule>();
  private readonly overlay = new Map<string, string>();

  constructor(private readonly diags: DiagnosticBag, private readonly fs: FileSystem = nodeFs, private readonly cwd = process.cwd()) {}

  /** Use this text for a path instead of reading the disk (the fuzzer and editors use it). */
  setOverlay(file: string, text: string): void {
    this.overlay.set(path.resolve(file), text);
  }

  text(file: string): string | undefined {
    return this.modules.get(file)?.text ?? this.overlay.get(file) ?? this.fs.read(file);
  }

  display(file: string): string {
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
    if (m && !m.isStd) this.loadPrelude();
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
    if (text === undefined) return undefined;
    const isStd = file.startsWith(STDLIB_DIR);
    const parsed = parseCached(text, file, isStd);
    const m: SourceModule = { path: file, display: this.displayOf(file), isStd, text, ast: parsed.module, comments: parsed.comments, imports: [] };
    this.modules.set(file, m);
    for (const p of parsed.problems) {
      const code = (p.code as Code | undefined) ?? (p.kind === "lex" ? "E0002" : /unterminated|escape|too large|out of range/.test(p.message) ? "E0003" : "E0001");
      this.diags.error(code, p.message, p.span, p.notes ? { notes: p.notes } : {});
    }
    const here = [...stack, file];
    for (const decl of parsed.module.imports) {
      const target = this.resolve(decl.path, file);
      if (!target) {
        this.diags.error("E0101", `cannot resolve module "${decl.path}"`, decl.pathSpan, { help: 'standard modules are written "std/<name>"; files are written "./<path>" relative to this file' });
        m.imports.push({ decl, target: undefined });
        continue;
      }
      const cycleAt = here.indexOf(target);
      if (cycleAt >= 0) {
        const chain = [...here.slice(cycleAt), target].map((f) => this.displayOf(f)).join(" → ");
        this.diags.error("E0102", `import cycle: ${chain}`, decl.pathSpan, { help: "move the declarations both modules need into a third module" });
        m.imports.push({ decl, target: undefined });
        continue;
      }
      const loaded = this.loadFile(target, here);
      if (!loaded) {
        this.diags.error("E0101", `module "${decl.path}" not found (looked for ${this.displayOf(target)})`, decl.pathSpan, isStd ? {} : { help: stdHint(decl.path) });
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
