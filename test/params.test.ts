// `llavac params` and the manifest's per-pattern freeze counts: both come from the one freeze split
// (runtime/model/arch.ts applyFreeze) that the runtime trains with, so they must agree exactly.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tinyArch } from "./arch-fixture.js";
import { compile } from "../compiler/compile.js";
import { applyFreeze, llavaParameters, numel, type LlavaArch } from "../runtime/model/arch.js";
import { ROOT } from "./helpers.js";

const BIN = path.join(ROOT, "bin/llavac.js");
const SPEC = "examples/tiny-shapes/tiny.llava";

function llavac(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", LLAVAC_TINY_DATA: "" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Row {
  name: string;
  shape: number[];
  count: number;
  trainable: boolean;
  frozen_by: string[];
  aliases: string[];
}
interface Listing {
  phases: {
    name: string;
    total: number;
    trainable: number;
    frozen: number;
    patterns: { pattern: string; modules: number; params: number }[];
    parameters: Row[];
  }[];
  errors: number;
  diagnostics: { code: string }[];
}
interface ManifestPattern {
  source: string;
  flags?: string;
  modules: number;
  params: number;
}

/** The tiny example with both phases' freeze lists replaced. */
function tinyFrozenBy(patterns: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "llavac-params-"));
  const text = readFileSync(path.join(ROOT, SPEC), "utf8").replaceAll("freeze     = [/^image_model/]", `freeze     = [${patterns}]`);
  expect(text).toContain(patterns);
  const file = path.join(dir, "tiny.llava");
  writeFileSync(file, text);
  return file;
}

function listing(spec: string, extra: string[] = []): { code: number | null; json: Listing } {
  const r = llavac(["params", spec, "--phase", "finetune", "--format", "json", ...extra]);
  return { code: r.code, json: JSON.parse(r.stdout) as Listing };
}

function manifestPatterns(spec: string): ManifestPattern[] {
  const out = mkdtempSync(path.join(tmpdir(), "llavac-params-out-"));
  const r = llavac(["build", spec, "-o", out]);
  expect(r.code, r.stderr).toBe(0);
  const m = JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8"));
  return m.phases.finetune.parameters.freeze_patterns as ManifestPattern[];
}

/** Σ count over the rows a pattern froze, per pattern, as the listing says. */
function sumsOver(rows: Row[], patterns: string[]): number[] {
  return patterns.map((p) => rows.filter((r) => r.frozen_by.includes(p)).reduce((a, r) => a + r.count, 0));
}

describe("llavac params", () => {
  it("lists every parameter of the tiny example's finetune phase, and the manifest's per-pattern counts are sums over it", async () => {
    const { code, json } = listing(SPEC);
    expect(code).toBe(0);
    expect(json.phases.map((p) => p.name)).toEqual(["finetune"]);
    const phase = json.phases[0]!;
    // Every parameter of the compiled model, once, with its real shape.
    const compiled = await compile(path.join(ROOT, SPEC), { cwd: ROOT, env: {} });
    const d = compiled.phases.find((p) => p.unit.ir.$name === "finetune")!.partial;
    expect(phase.parameters.map((r) => r.name)).toEqual(d.params!.map((p) => p.name));
    expect(phase.parameters.map((r) => r.shape)).toEqual(d.params!.map((p) => p.shape));
    expect(phase.parameters.every((r) => r.count === numel(r.shape))).toBe(true);
    expect(phase.parameters.reduce((a, r) => a + r.count, 0)).toBe(phase.total);
    expect(phase.parameters.filter((r) => r.trainable).reduce((a, r) => a + r.count, 0)).toBe(phase.trainable);
    expect(phase.parameters.filter((r) => !r.trainable).every((r) => r.frozen_by.length > 0)).toBe(true);

    const manifest = manifestPatterns(SPEC);
    expect(manifest.map((p) => `/${p.source}/${p.flags ?? ""}`)).toEqual(phase.patterns.map((p) => p.pattern));
    expect(manifest.map((p) => p.params)).toEqual(
      sumsOver(
        phase.parameters,
        phase.patterns.map((p) => p.pattern),
      ),
    );
    expect(manifest[0]!.params).toBe(80_640);
  });

  it("counts aliases and regex flags: /ln_f/ freezes the final norm, /^IMAGE_MODEL/i the whole vision tower", () => {
    const spec = tinyFrozenBy("/ln_f/, /^IMAGE_MODEL/i");
    const { code, json } = listing(spec);
    expect(code).toBe(0);
    const phase = json.phases[0]!;
    const norm = phase.parameters.find((r) => r.name === "text_model.transformer_decoder.norm.weight")!;
    expect(norm).toMatchObject({ trainable: false, frozen_by: ["/ln_f/"], aliases: ["text_model.ln_f.weight"] });
    // The CLS embedding matches no leaf module; /i still finds it by its own name.
    expect(phase.parameters.find((r) => r.name === "image_model.embedding_layer.cls_embedding")!.frozen_by).toEqual(["/^IMAGE_MODEL/i"]);
    const manifest = manifestPatterns(spec);
    expect(manifest).toEqual([
      { source: "ln_f", modules: 1, params: 64 },
      { source: "^IMAGE_MODEL", flags: "i", modules: 20, params: 80_640 },
    ]);
    expect(manifest.map((p) => p.params)).toEqual(sumsOver(phase.parameters, ["/ln_f/", "/^IMAGE_MODEL/i"]));
    expect(phase.frozen).toBe(64 + 80_640);
  });

  it("a pattern that matches nothing: E0401, exit 1, zero modules and parameters, and no row frozen by it", async () => {
    const spec = tinyFrozenBy("/^image_model/, /no_such_module/");
    const { code, json } = listing(spec);
    expect(code).toBe(1);
    expect(json.diagnostics.map((d) => d.code)).toContain("E0401");
    const phase = json.phases[0]!;
    expect(phase.patterns[1]).toEqual({ pattern: "/no_such_module/", modules: 0, params: 0 });
    expect(phase.parameters.some((r) => r.frozen_by.includes("/no_such_module/"))).toBe(false);
    // The counts the manifest would carry (build refuses the spec) are the same sums.
    const compiled = await compile(spec, { cwd: ROOT, env: {} });
    const counts = compiled.phases.find((p) => p.unit.ir.$name === "finetune")!.partial.counts!;
    expect(counts.patterns.map((p) => p.params)).toEqual(sumsOver(phase.parameters, ["/^image_model/", "/no_such_module/"]));
    const human = llavac(["params", spec, "--phase", "finetune"]);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain("error[E0401]");
    expect(human.stdout).toMatch(/freeze \/no_such_module\/\s+matches no module/);
  });

  it("--match filters by name or alias; human output groups by module with shape, count and the freezing pattern", () => {
    const { json } = listing(SPEC, ["--match", "/LN_F/i"]);
    expect(json.phases[0]!.parameters.map((r) => r.name)).toEqual(["text_model.transformer_decoder.norm.weight"]);
    const r = llavac(["params", SPEC, "--phase", "pretrain", "--match", "layers\\.0\\.norm1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("phase pretrain: ");
    expect(r.stdout).toMatch(
      /^ {2}image_model\.encoder\.transformer_encoder\.layers\.0\.norm1\n {4}weight +\[64\] +64 +frozen by \/\^image_model\//m,
    );
    expect(r.stdout).toMatch(/^ {2}text_model\.transformer_decoder\.layers\.0\.norm1\n {4}weight +\[64\] +64 +trainable/m);
    expect(r.stdout).not.toContain("phase finetune");
  });

  it("the README's example prints what the README shows", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const m = /```sh\n(npx llavac params [^\n]*)\n```\n\n```\n([\s\S]*?)```/.exec(readme);
    expect(m, "README has a `llavac params` example followed by its output").not.toBeNull();
    // Shell words: plain, or in single quotes.
    const words = [...m![1]!.replace(/^npx llavac /, "").matchAll(/'([^']*)'|(\S+)/g)].map((w) => w[1] ?? w[2]!);
    const r = llavac(words);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(m![2]);
  });

  it("usage errors exit 2: unknown phase, bad --match, bad format", () => {
    expect(llavac(["params", SPEC, "--phase", "nope"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("no phase `nope` (the spec has pretrain, finetune)"),
    });
    expect(llavac(["params", SPEC, "--match", "(unclosed"]).code).toBe(2);
    expect(llavac(["params", SPEC, "--match", "/x/g"]).code).toBe(2);
    expect(llavac(["params", SPEC, "--format", "xml"]).code).toBe(2);
  });
});

describe("applyFreeze per pattern", () => {
  const arch: LlavaArch = tinyArch({ text: { share_embedding_weights: true }, projector: { layers_units: [8] } });
  const params = llavaParameters(arch);

  it("each pattern's list is what it freezes alone, the union is the frozen set, and reasons agree", () => {
    const patterns = [/lm_head/, /^TEXT_MODEL\.ln_f/i, /^image_model/, /nothing/];
    const all = applyFreeze(params, patterns);
    patterns.forEach((re, i) => {
      expect(all.frozenBy[i]!.map((p) => p.name)).toEqual(applyFreeze(params, [re]).frozen.map((p) => p.name));
    });
    // Tied embeddings: /lm_head/ freezes the word embeddings through their alias.
    expect(all.frozenBy[0]!.map((p) => p.name)).toEqual(["text_model.embedding_layer.word_embeddings.weight"]);
    expect(all.frozenBy[1]!.map((p) => p.name)).toEqual(["text_model.transformer_decoder.norm.weight"]);
    expect(all.frozenBy[3]).toEqual([]);
    expect(new Set(all.frozenBy.flat())).toEqual(new Set(all.frozen));
    for (const p of params) expect(all.reasons.get(p)!.length > 0).toBe(all.frozen.includes(p));
  });
});
