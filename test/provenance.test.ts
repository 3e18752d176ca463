// Provenance: `build --annotate` writes each key's origin as a YAML comment and the files stay the same
// documents (equal to the goldens, valid for the release's schema); `llavac why` explains one key.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { load } from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { filesToWrite, writeAtomically } from "../compiler/build.js";
import { compile } from "../compiler/compile.js";
import { STDLIB_DIR } from "../compiler/modules.js";
import { linePaths, renderWhy, why, WhyError } from "../compiler/provenance.js";
import { LlavaConfig, PhaseOnePreprocess, PhaseTwoPreprocess } from "../compiler/schemas/cerebras-2.2.1.js";
import { TrainerConfig } from "../compiler/schemas/cerebras-2.10.js";
import { ROOT } from "./helpers.js";

const SEVEN = path.join(ROOT, "examples/llava-v1.5-7b/llava.llava");
const out = mkdtempSync(path.join(tmpdir(), "llavac-why-"));
let files: Map<string, string>;

beforeAll(async () => {
  const r = await compile(SEVEN, { env: {}, cwd: ROOT, outDir: out, annotate: true });
  expect(r.diags.errorCount).toBe(0);
  const written = filesToWrite(r.emitted);
  writeAtomically(out, written);
  files = new Map(written.map((f) => [f.path, f.content]));
  return () => rmSync(out, { recursive: true, force: true });
});

const golden = (f: string) => load(readFileSync(path.join(ROOT, "test/golden/llava-v1.5-7b", f), "utf8"));
const opts = { spec: SEVEN, stdlibDir: STDLIB_DIR, loadYaml: (t: string) => load(t) };

describe("build --annotate", () => {
  it("comments every key with its origin, and the documents equal the goldens and pass the 2.2.1 schemas", () => {
    const params = files.get("pretrain/params.yaml")!;
    expect(params).toMatch(/^ {2}max_steps: 2180 {2}# derived: ⌊558,128 \/ 256⌋ \(llava\.llava:29\)$/m);
    expect(params).toMatch(/^ {2}drop_last: true {2}# std\/core\.llava:58 \(default\)$/m);
    expect(params).toMatch(/^ {4}- scheduler: Linear {2}# derived: linear warm-up/m);
    const manifest = JSON.parse(files.get("manifest.json")!);
    for (const [f, schema] of [
      ["pretrain/params.yaml", LlavaConfig],
      ["finetune/params.yaml", LlavaConfig],
      ["pretrain/preprocess.yaml", PhaseOnePreprocess],
      ["finetune/preprocess.yaml", PhaseTwoPreprocess],
    ] as const) {
      const text = files.get(f)!;
      const doc = load(text);
      expect(doc, f).toEqual(golden(f));
      expect(schema.safeParse(doc).success, f).toBe(true);
      // Every key line whose path the source map knows carries its comment.
      const map = manifest.phases[f.split("/")[0]!].source_map[path.basename(f)];
      const lines = text.split("\n"),
        paths = linePaths(text);
      const keyed = lines.filter((_, i) => paths[i] !== undefined && map[paths[i]!]);
      expect(keyed.length).toBeGreaterThan(20);
      for (const l of keyed) expect(l, f).toMatch(/ {2}# \S/);
      expect(lines.filter((l) => / # /.test(l)).length).toBe(keyed.length);
    }
  });

  it("the 2.10 trainer layout stays valid for its schema when annotated", async () => {
    const r = await compile(path.join(ROOT, "examples/llava-v1.5-7b/release-2.10.llava"), { env: {}, cwd: ROOT, annotate: true });
    const text = filesToWrite(r.emitted).find((f) => f.path === "pretrain/params.yaml")!.content;
    expect(text).toMatch(/# derived: ⌊558,128 \/ 256⌋/);
    expect(TrainerConfig.safeParse(load(text)).success).toBe(true);
  });
});

describe("llavac why", () => {
  it("a derived value: its formula, and the spec line it starts from", () => {
    const a = why(path.join(out, "pretrain/params.yaml"), "runconfig.max_steps", opts);
    expect(a.value).toBe(2180);
    expect(a.location).toMatchObject({ file: "llava.llava", line: 29, origin: "derived", derived: "⌊558,128 / 256⌋" });
    const text = renderWhy(a);
    expect(text).toContain("derived: ⌊558,128 / 256⌋");
    expect(text).toContain("29 |   data       = lcs_558k");
  });

  it("a standard-library default and an explicit spec value", () => {
    const d = why(path.join(out, "pretrain/params.yaml"), "train_input.drop_last", opts);
    expect(d.location).toMatchObject({ file: "std/core.llava", line: 58, origin: "default" });
    expect(d.source?.text).toBe("  drop_last: bool = true");
    const e = why(path.join(out, "finetune/params.yaml"), "train_input.batch_size", opts);
    expect(e.value).toBe(216);
    expect(e.location.origin).toBe("explicit");
    expect(e.source?.text).toContain("batch      = 216 per step");
  });

  it("a key that is not in the file, or a file without its manifest, is a clear error", () => {
    expect(() => why(path.join(out, "pretrain/params.yaml"), "runconfig.max_stepz", opts)).toThrow(
      /has no key `runconfig.max_stepz`.*max_steps/,
    );
    expect(() => why(path.join(ROOT, "test/golden/llava-v1.5-7b/nope/params.yaml"), "a", opts)).toThrow(WhyError);
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin/llavac.js"), "why", path.join(out, "pretrain/params.yaml"), "model.nope"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/has no key `model.nope`/);
  });
});
