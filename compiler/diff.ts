// `llavac diff`: what a change to a spec does. Both sides are compiled in full; the report lists the changed
// values of each phase (the checked IR, as the spec and its defaults give them), then their knock-ons: the
// derived numbers (steps, warm-up, image_start_idx, parameter counts, trainable share) and every emitted
// YAML key, each with its old and new value. One side may be a spec at a git revision: its relative imports
// are read at that revision too.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { load } from "js-yaml";
import { thousands } from "../runtime/util/format.js";
import { filesToWrite } from "./build.js";
import type { CompileResult } from "./compile.js";
import { nodeFs, STDLIB_DIR, type FileSystem } from "./modules.js";

export interface Change {
  /** `phase.path` for values and derived numbers, the YAML key path for emitted keys. */
  key: string;
  old: unknown;
  new: unknown;
  /** Where the new value (or the old one, when it is gone) is written: `file:line`. */
  at?: string;
}

export interface SpecDiff {
  a: string;
  b: string;
  values: Change[];
  derived: Change[];
  /** Emitted file (`pretrain/params.yaml`) → its changed keys. */
  emitted: Record<string, Change[]>;
}

export class DiffError extends Error {}

const MISSING = undefined;

function flatten(v: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (v instanceof RegExp) out.set(prefix, `/${v.source}/${v.flags}`);
  else if (Array.isArray(v)) {
    if (v.length === 0) out.set(prefix, []);
    v.forEach((x, i) => flatten(x, `${prefix}.${i}`, out));
  } else if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).filter(([k, x]) => k !== "$schema" && x !== undefined);
    if (entries.length === 0) out.set(prefix, {});
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, v);
  return out;
}

function changes(a: Map<string, unknown>, b: Map<string, unknown>, at?: (key: string, side: "a" | "b") => string | undefined): Change[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const out: Change[] = [];
  for (const k of keys) {
    const x = a.get(k),
      y = b.get(k);
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    const where = at?.(k, b.has(k) ? "b" : "a");
    out.push({ key: k, old: x, new: y, ...(where ? { at: where } : {}) });
  }
  return out;
}

function derivedOf(r: CompileResult): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const p of r.phases) {
    const d = p.derived,
      n = p.unit.ir.$name;
    if (!d) continue;
    const s = d.schedule;
    const put = (k: string, v: unknown) => m.set(`${n}.${k}`, v ?? null);
    put("num_patches", d.numPatches);
    put("image_start_idx", d.imageStartIdx);
    put("max_sequence_length", d.msl);
    put("text_budget", d.textBudget);
    put("max_steps", s.maxSteps);
    put("warmup_steps", s.warmup);
    put("decay_steps", s.decay);
    put("parameters.total", d.counts.total);
    put("parameters.trainable", d.counts.trainable);
    put("parameters.frozen", d.counts.frozen);
    put("trainable_share", d.counts.total ? `${((100 * d.counts.trainable) / d.counts.total).toFixed(2)}%` : "0%");
  }
  return m;
}

function emittedOf(r: CompileResult): Map<string, Map<string, unknown>> {
  const m = new Map<string, Map<string, unknown>>();
  for (const f of filesToWrite(r.emitted)) if (f.path.endsWith(".yaml")) m.set(f.path, flatten(load(f.content), "", new Map()));
  return m;
}

/** The changes from compiled spec `a` to compiled spec `b` (both without errors). */
export function diffSpecs(a: CompileResult, b: CompileResult, names: { a: string; b: string }): SpecDiff {
  const values = (r: CompileResult) => {
    const m = new Map<string, unknown>();
    for (const p of r.phases) flatten(p.unit.ir, p.unit.ir.$name, m);
    if (r.program) flatten(r.program.target, "target", m);
    return m;
  };
  const where = (r: CompileResult, key: string): string | undefined => {
    const dot = key.indexOf(".");
    const phase = r.phases.find((p) => p.unit.ir.$name === key.slice(0, dot));
    if (!phase) return undefined;
    for (let p = key.slice(dot + 1); p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
      const s = phase.unit.spans.get(p);
      if (s) return `${r.graph.display(s.span.file)}:${s.span.line}`;
    }
    return undefined;
  };
  const emitted: Record<string, Change[]> = {};
  const ea = emittedOf(a),
    eb = emittedOf(b);
  for (const f of [...new Set([...ea.keys(), ...eb.keys()])].sort()) {
    const c = changes(ea.get(f) ?? new Map(), eb.get(f) ?? new Map());
    if (c.length) emitted[f] = c;
  }
  return {
    a: names.a,
    b: names.b,
    values: changes(values(a), values(b), (k, side) => where(side === "a" ? a : b, k)),
    derived: changes(derivedOf(a), derivedOf(b)),
    emitted,
  };
}

const show = (v: unknown): string =>
  v === MISSING ? "(absent)" : typeof v === "number" && Number.isInteger(v) && Math.abs(v) >= 10_000 ? thousands(v) : JSON.stringify(v);

export function renderDiff(d: SpecDiff): string {
  const out = [`--- ${d.a}`, `+++ ${d.b}`];
  const section = (title: string, cs: Change[]) => {
    if (!cs.length) return;
    out.push("", title);
    const w = Math.max(...cs.map((c) => c.key.length));
    for (const c of cs) out.push(`  ${c.key.padEnd(w)}  ${show(c.old)} → ${show(c.new)}${c.at ? `   (${c.at})` : ""}`);
  };
  section("spec values", d.values);
  section("derived", d.derived);
  for (const [f, cs] of Object.entries(d.emitted)) section(f, cs);
  if (!d.values.length && !d.derived.length && !Object.keys(d.emitted).length) out.push("", "no changes");
  return out.join("\n") + "\n";
}

function git(cwd: string, args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

/**
 * The spec at a git revision: a file system that reads the repository's files at `rev` (so relative imports
 * resolve at that revision too) and everything else as it is now. Throws DiffError for an unknown revision or
 * a spec the revision does not have.
 */
export function atRevision(spec: string, rev: string): { fs: FileSystem; commit: string } {
  const abs = path.resolve(spec);
  let top: string, commit: string;
  try {
    top = git(path.dirname(abs), ["rev-parse", "--show-toplevel"]).trim();
  } catch {
    throw new DiffError(`${spec} is not in a git repository: --rev needs one`);
  }
  try {
    commit = git(top, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]).trim();
  } catch {
    throw new DiffError(`unknown revision "${rev}" (git rev-parse --verify found no commit)`);
  }
  const inRepo = (f: string) => {
    const rel = path.relative(top, f);
    return rel.startsWith("..") || path.isAbsolute(rel) ? undefined : rel.split(path.sep).join("/");
  };
  const cache = new Map<string, string | undefined>();
  const readAt = (f: string): string | undefined => {
    const rel = inRepo(f);
    if (rel === undefined) return nodeFs.read(f);
    if (!cache.has(rel)) {
      try {
        cache.set(rel, git(top, ["show", `${commit}:${rel}`]));
      } catch {
        cache.set(rel, undefined);
      }
    }
    return cache.get(rel);
  };
  if (readAt(abs) === undefined) throw new DiffError(`${spec} does not exist at revision ${rev} (${commit.slice(0, 12)})`);
  // The standard library is the one of this llavac, wherever the repository is.
  return {
    fs: { read: (f) => (f.endsWith(".llava") && !f.startsWith(STDLIB_DIR) ? readAt(f) : nodeFs.read(f)), exists: (f) => nodeFs.exists(f) },
    commit,
  };
}
