// The diagnostics catalog (compiler/codes.ts): every code has a trigger spec that produces it, every code
// produced by a trigger or an example is in the catalog (the fuzz tests check the same for their corpus, in
// fuzz-support.ts), messages are instances of their templates, and levels follow --deny/--allow/--strict.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  CODES,
  defaultLevel,
  fill,
  fitsTemplate,
  isCode,
  levelPolicy,
  LevelUsageError,
  STRICT_CODES,
  type Code,
  type CodeInfo,
  type Trigger,
} from "../compiler/codes.js";
import { compile, type CompileResult } from "../compiler/compile.js";
import { ROOT, TINY, TINY_DIRS, tinyWith } from "./helpers.js";

const ALL = Object.keys(CODES) as Code[];
const INTERNAL = ALL.filter((c) => (CODES[c] as CodeInfo).trigger?.internal !== undefined);
/** Every code the triggers and the examples produced (for the internal-code check at the end). */
const produced = new Set<string>();

/** The trigger's spec and files in a fresh folder, compiled as `check` (and `build` where it says so). */
async function runTrigger(t: Trigger, levels: { deny?: string[]; allow?: string[]; strict?: boolean } = {}): Promise<CompileResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "llavac-catalog-"));
  let spec = t.spec ?? TINY;
  if (t.edit) spec = tinyWith(t.edit[0], t.edit[1]);
  if (t.append) spec += t.append;
  writeFileSync(path.join(dir, "spec.llava"), spec);
  for (const [f, text] of Object.entries(t.files ?? {})) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  for (const [f, b64] of Object.entries(t.bytes ?? {})) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), Buffer.from(b64, "base64"));
  }
  if (!t.noData) for (const d of TINY_DIRS) mkdirSync(path.join(dir, d), { recursive: true });
  const result = await compile(path.join(dir, "spec.llava"), {
    cwd: dir,
    env: { ...t.env },
    ...levels,
    ...(t.weights ? { weights: t.weights } : {}),
    ...(t.data ? { data: { images: "probe" as const } } : {}),
    ...(t.set ? { overrides: t.set } : {}),
  });
  // compile() emits too (check is build without writing), so `build` triggers need nothing more.
  return result;
}

function described(r: CompileResult): string {
  return (
    r.diags
      .sorted()
      .map((d) => `${d.code} ${d.message}`)
      .join("; ") || "(none)"
  );
}

describe("catalog: one home for every code", () => {
  it("every code has a title, an explanation and a trigger; the letter is the default level", () => {
    for (const c of ALL) {
      const info: CodeInfo = CODES[c];
      expect(c, c).toMatch(/^[EW]\d{4}$/);
      expect(info.title.length, c).toBeGreaterThan(3);
      expect(info.explain.length, c).toBeGreaterThan(20);
      expect(info.trigger, `${c} needs a trigger spec`).toBeDefined();
      expect(defaultLevel(c)).toBe(c.startsWith("W") ? "warning" : "error");
    }
    expect(isCode("E0201")).toBe(true);
    expect(isCode("E0408")).toBe(false); // one code for the data folder, W0408, whose level is configurable
    expect(isCode("toString")).toBe(false);
  });

  it("titles are distinct: one condition per code", () => {
    const titles = ALL.map((c) => CODES[c].title);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it("templates fill their holes, and a message that is not an instance of its template is told apart", () => {
    expect(fill("E0221", { op: "+", left: "int 1", right: 'string "x"' })).toBe('`+` cannot combine int 1 and string "x"');
    expect(fitsTemplate("E0221", '`+` cannot combine int 1 and string "x"')).toBe(true);
    expect(fitsTemplate("E0221", "cannot combine")).toBe(false);
    expect(fitsTemplate("E0222", "division by zero")).toBe(true);
    expect(fitsTemplate("E0222", "integer overflow")).toBe(false);
  });

  // One test per code, so a failing trigger names its code.
  it.each(ALL.filter((c) => !INTERNAL.includes(c)))(
    "%s is produced by its trigger spec, and everything the trigger produces is catalogued",
    async (code) => {
      const r = await runTrigger(CODES[code].trigger!);
      for (const d of r.diags.items) produced.add(d.code);
      expect(
        r.diags.items.map((d) => d.code as string),
        `${code}'s trigger produced: ${described(r)}`,
      ).toContain(code);
      for (const d of r.diags.items) {
        expect(isCode(d.code), `${d.code} is not in the catalog`).toBe(true);
        expect(fitsTemplate(d.code, d.message), `${d.code} "${d.message}" does not fit "${(CODES[d.code] as CodeInfo).message}"`).toBe(
          true,
        );
        expect(d.severity).toBe(defaultLevel(d.code));
      }
    },
  );

  it("every code produced by the examples (checked and built) is in the catalog, with its template's message", async () => {
    const specs = readdirSync(path.join(ROOT, "examples"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".llava"));
    expect(specs.length).toBeGreaterThan(5);
    for (const f of specs) {
      const r = await compile(path.join(ROOT, "examples", f), { cwd: ROOT, env: {} });
      for (const d of r.diags.items) {
        produced.add(d.code);
        expect(isCode(d.code), `${f}: ${d.code}`).toBe(true);
        expect(fitsTemplate(d.code, d.message), `${f}: ${d.code} "${d.message}"`).toBe(true);
      }
    }
  });

  it("an internal code (a bug in llavac) says why no spec produces it, and no trigger or example produces it", () => {
    for (const c of INTERNAL) {
      expect((CODES[c] as CodeInfo).trigger!.internal!.length, c).toBeGreaterThan(10);
      expect(produced.has(c), `${c} is internal but a trigger or an example produced it`).toBe(false);
    }
    expect(produced.size).toBeGreaterThan(ALL.length - INTERNAL.length - 1);
  });
});

describe("catalog: levels (--deny, --allow, --strict)", () => {
  const missingData = CODES.W0408.trigger;

  it("a missing data folder is a warning by default, an error when denied or with --strict", async () => {
    const lenient = await runTrigger(missingData);
    expect(lenient.diags.items.filter((d) => d.code === "W0408").every((d) => d.severity === "warning")).toBe(true);
    expect(lenient.diags.errorCount).toBe(0);
    for (const levels of [{ deny: ["W0408"] }, { deny: ["w0408"] }, { strict: true }]) {
      const strict = await runTrigger(missingData, levels);
      const found = strict.diags.items.filter((d) => d.code === "W0408");
      expect(found.length).toBe(lenient.diags.items.filter((d) => d.code === "W0408").length);
      expect(found.every((d) => d.severity === "error")).toBe(true);
      expect(strict.diags.errorCount).toBe(found.length);
    }
    // The data-presence warning, and what `check --data` finds in the data.
    expect(STRICT_CODES).toEqual(["W0408", ...Array.from({ length: 14 }, (_, i) => `W07${10 + i}`)]);
  });

  it("--allow silences a warning and only that warning", async () => {
    const t = { ...CODES.W0302.trigger, noData: true as const };
    const both = await runTrigger(t);
    expect(both.diags.items.map((d) => d.code)).toEqual(expect.arrayContaining(["W0302", "W0408"]));
    const allowed = await runTrigger(t, { allow: ["W0302"] });
    expect(allowed.diags.items.map((d) => d.code)).not.toContain("W0302");
    expect(allowed.diags.items.map((d) => d.code)).toContain("W0408");
  });

  it("an error cannot be allowed, an unknown code is refused, and a code cannot be both allowed and denied", () => {
    expect(() => levelPolicy({ allow: ["E0401"] })).toThrow(LevelUsageError);
    expect(() => levelPolicy({ allow: ["E0401"] })).toThrow(/E0401 is an error, and an error cannot be allowed/);
    expect(() => levelPolicy({ deny: ["W9999"] })).toThrow(/--deny W9999: unknown code/);
    expect(() => levelPolicy({ allow: ["W0408"], strict: true })).toThrow(/both allowed and denied/);
    expect([...levelPolicy({ deny: ["W0301", "W0302"], allow: ["W0303"] })]).toEqual([
      ["W0303", "allow"],
      ["W0301", "error"],
      ["W0302", "error"],
    ]);
    // Denying an error changes nothing.
    expect(levelPolicy({ deny: ["E0401"] }).get("E0401")).toBe("error");
  });
});
