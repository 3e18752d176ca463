// Binding: every module's declarations, then its imports and the prelude (std/core) wired into one scope
// per module. Names are looked up here; what a name's declaration evaluates to is evaluation.ts's work.
import type { Ident, Span } from "../grammar/ast.js";
import { didYouMean, type DiagnosticBag } from "./diagnostics.js";
import { PRELUDE, stdlibExports, type ModuleGraph, type SourceModule } from "./modules.js";
import { PRIMITIVE_TYPES, type EnumSym, type SchemaSym, type Sym } from "./types.js";

export class Binder {
  private readonly scopes = new Map<SourceModule, Map<string, Sym>>();
  private readonly locals = new Map<SourceModule, Map<string, Sym>>();
  private prelude: Map<string, Sym> | undefined;
  private readonly env: Sym = { k: "builtin", name: "env" };

  constructor(
    readonly graph: ModuleGraph,
    readonly diags: DiagnosticBag,
  ) {}

  // ------------------------------------------------------------------ names

  /** Declare every module's names, then wire up imports. Call once, after loading. */
  bind(): void {
    for (const m of this.graph.modules.values()) this.localsOf(m);
    for (const m of this.graph.modules.values()) this.scopeOf(m);
  }

  localsOf(m: SourceModule): Map<string, Sym> {
    let scope = this.locals.get(m);
    if (scope) return scope;
    scope = new Map();
    this.locals.set(m, scope);
    for (const d of m.ast.decls) {
      const name = d.name.name;
      if (!name) continue;
      const prev = scope.get(name);
      if (prev) {
        this.diags.error("E0105", `\`${name}\` is declared twice in this module`, d.name.span, {
          notes: [{ message: "first declared here", span: declSpan(prev) }],
        });
        continue;
      }
      if (PRIMITIVE_TYPES[name] && d.kind !== "let" && d.kind !== "instance") {
        this.diags.error("E0108", `\`${name}\` is a built-in type and cannot be redeclared`, d.name.span);
        continue;
      }
      let sym: Sym;
      switch (d.kind) {
        case "schema":
          sym = { k: "schema", name, decl: d, module: m };
          break;
        case "enum":
          sym = { k: "enum", name, decl: d, module: m, members: d.members.map((x) => x.name) };
          break;
        case "type":
          sym = { k: "alias", name, decl: d, module: m };
          break;
        default:
          sym = { k: "value", name, decl: d, module: m, state: "pending" };
      }
      scope.set(name, sym);
    }
    return scope;
  }

  scopeOf(m: SourceModule): Map<string, Sym> {
    let scope = this.scopes.get(m);
    if (scope) return scope;
    scope = new Map(this.localsOf(m));
    this.scopes.set(m, scope);
    for (const { decl, target } of m.imports) {
      if (!target) continue;
      const exported = this.localsOf(target);
      if (decl.namespace) {
        this.define(scope, decl.namespace, { k: "namespace", name: decl.namespace.name, target });
      }
      for (const { name, alias } of decl.names) {
        const sym = exported.get(name.name);
        if (!sym) {
          const hint = didYouMean(name.name, exported.keys());
          this.diags.error("E0103", { module: `"${decl.path}"`, name: name.name }, name.span, {
            help: hint ? `did you mean \`${hint}\`?` : `it declares: ${[...exported.keys()].slice(0, 12).join(", ")}`,
          });
          continue;
        }
        this.define(scope, alias ?? name, sym);
      }
    }
    return scope;
  }

  protected define(scope: Map<string, Sym>, id: Ident, sym: Sym): void {
    const prev = scope.get(id.name);
    if (prev && prev !== sym) {
      this.diags.error("E0105", `\`${id.name}\` is already declared in this module`, id.span, {
        notes: [{ message: "the other declaration", span: declSpan(prev) }],
        help: `import it under another name: \`${id.name} as other_name\``,
      });
      return;
    }
    scope.set(id.name, sym);
  }

  /** The names every user module sees without importing: std/core's declarations and its imports. */
  protected preludeScope(): Map<string, Sym> {
    if (this.prelude) return this.prelude;
    const core = [...this.graph.modules.values()].find((m) => m.display === PRELUDE + ".llava");
    this.prelude = core ? this.scopeOf(core) : new Map();
    return this.prelude;
  }

  lookup(name: string, m: SourceModule): Sym | undefined {
    const local = this.scopeOf(m).get(name);
    if (local) return local;
    if (!m.isStd) {
      const p = this.preludeScope().get(name);
      if (p) return p;
    }
    if (name === "env") return this.env;
    return undefined;
  }

  protected visibleNames(m: SourceModule): string[] {
    const names = new Set(this.scopeOf(m).keys());
    if (!m.isStd) for (const n of this.preludeScope().keys()) names.add(n);
    names.add("env");
    return [...names];
  }

  /** Enum `phase_state` and friends, for built-in syntax that needs them. */
  preludeEnum(name: string): EnumSym | undefined {
    const s = this.preludeScope().get(name);
    return s?.k === "enum" ? s : undefined;
  }

  preludeSchema(name: string): SchemaSym | undefined {
    const s = this.preludeScope().get(name);
    return s?.k === "schema" ? s : undefined;
  }
}

export function declSpan(s: Sym): Span | undefined {
  switch (s.k) {
    case "schema":
    case "enum":
    case "alias":
    case "value":
      return s.decl.name.span;
    default:
      return undefined;
  }
}

/** For a name nothing in scope resembles: the standard module that really declares it (or a close name). */
export function importHint(name: string): string {
  const exports = stdlibExports();
  const at = (n: string) =>
    exports
      .get(n)!
      .map((mod) => `import { ${n} } from "${mod}"`)
      .join(" or ");
  if (exports.has(name)) return `\`${name}\` is declared in ${exports.get(name)!.join(" and ")}: ${at(name)}`;
  const close = didYouMean(name, exports.keys());
  if (close) return `did you mean \`${close}\`? ${at(close)}`;
  return "declare it, or import it from the module that declares it";
}
