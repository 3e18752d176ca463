// `llavac import`: Cerebras LLaVA params YAML → .llava. Importing and building again gives YAML equal to
// the input, key by key, for every LLaVA reference config of every release (when ../shared is there) and
// for the committed golden configs (always); the spec uses the standard library where values match;
// unknown keys are reported with line and column; comments that say something are kept.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { filesToWrite } from "../compiler/build.js";
import { compile } from "../compiler/compile.js";
import { importConfigs } from "../compiler/import/import.js";
import { flatten } from "./build-helpers.js";
import { ROOT, TINY } from "./helpers.js";

const REFERENCE = path.resolve(ROOT, "../shared/reference/cerebras");
const haveReference = existsSync(REFERENCE);
if (!haveReference)
  console.warn(`import: ${REFERENCE} is absent, so the round trip over the reference configs is skipped; the golden configs still run.`);

const read = (file: string) => ({ file, text: readFileSync(file, "utf8") });

/** Import the files, build the spec, and list every key where a rebuilt params.yaml differs from its input. */
async function roundTrip(files: string[]): Promise<{ spec: string; differences: string[]; problems: string[] }> {
  const r = await importConfigs(files.map(read), ROOT);
  const result = await compile(path.join(ROOT, "imported.llava"), { source: r.spec, cwd: ROOT, env: {} });
  expect(
    result.diags.errorCount,
    result.diags
      .sorted()
      .map((d) => d.message)
      .join("\n"),
  ).toBe(0);
  const built = new Map(filesToWrite(result.emitted).map((f) => [f.path, f.content]));
  const differences: string[] = [];
  for (const [i, file] of files.entries()) {
    const phase = result.phases[i]!.unit.ir.$name;
    const ours = flatten(load(built.get(`${phase}/params.yaml`)!));
    const theirs = flatten(load(readFileSync(file, "utf8")));
    for (const [k, v] of theirs)
      if (JSON.stringify(ours.get(k)) !== JSON.stringify(v))
        differences.push(`${path.basename(file)} ${k}: ours ${JSON.stringify(ours.get(k))}, input ${JSON.stringify(v)}`);
    for (const k of ours.keys()) if (!theirs.has(k)) differences.push(`${path.basename(file)} extra ${k}`);
  }
  return { spec: r.spec, differences, problems: r.problems.map((p) => `${p.file}:${p.line}: ${p.message}`) };
}

const PAIRS: [string, string, string][] = [];
for (const [release, dir] of [
  ["2.2.1", ""],
  ["2.3.0", "release_2.3.0/llava_configs"],
  ["2.10", "release_2.10.0_head/llava_configs"],
] as const) {
  for (const size of ["7b", "13b"])
    PAIRS.push([
      release,
      path.join(REFERENCE, dir, `params_llava_v1p5_pretrain_${size}_phase1_MSL2K.yaml`),
      path.join(REFERENCE, dir, `params_llava_v1p5_pretrain_${size}_phase2_MSL2K.yaml`),
    ]);
}

describe.skipIf(!haveReference)("import round-trips every LLaVA reference config", () => {
  it.each(PAIRS)("release %s: %s + phase 2", async (release, phase1, phase2) => {
    const r = await roundTrip([phase1, phase2]);
    expect(r.problems).toEqual([]);
    expect(r.differences).toEqual([]);
    expect(r.spec).toContain(`cerebras cluster { release: "${release}" }`);
  });

  it("2.3.0's trainer-layout config (_v2) round-trips too", async () => {
    const r = await roundTrip([path.join(REFERENCE, "release_2.3.0/llava_configs/params_llava_v1p5_pretrain_7b_phase1_MSL2K_v2.yaml")]);
    expect(r.problems).toEqual([]);
    expect(r.differences).toEqual([]);
    expect(r.spec).toContain('cerebras cluster { release: "2.3.0", format: "trainer" }');
  });

  it("configs it cannot import are named, not half-read", async () => {
    const mm = await importConfigs([
      read(path.join(REFERENCE, "release_2.10.0_head/multimodal_simple_configs/params_mm_llava_llama2_7b_phase1.yaml")),
    ]);
    expect(mm.problems).toEqual([
      expect.objectContaining({ line: 7, message: expect.stringMatching(/model `multimodal_simple` is not LLaVA/) }),
    ]);
    expect(mm.verified).toBe(false);
  });
});

describe("import", () => {
  const golden = (size: string, phase: string) => path.join(ROOT, "test/golden", `llava-v1.5-${size}`, phase, "params.yaml");

  it("round-trips the committed golden configs (2.2.1), and the spec is idiomatic", async () => {
    for (const size of ["7b", "13b"]) {
      const r = await roundTrip([golden(size, "pretrain"), golden(size, "finetune")]);
      expect(r.differences).toEqual([]);
      expect(r.problems).toEqual([]);
      // Standard-library models, and only the overrides that differ.
      expect(r.spec).toContain(`language  = vicuna_${size}_v1_5 { max_position_embeddings: 2048 }`);
      expect(r.spec).toContain("vision    = clip_vit_l14_336\n");
      expect(r.spec).toContain("projector = mlp2x_gelu");
      expect(r.spec).toMatch(/phase finetune \{\n  from {7}= pretrain\(states: model\)/);
    }
  });

  it("the bases, enum members and tuples come from the standard library: a tiny model's config imports as tiny_vit and tiny_llama", async () => {
    const built = await compile(path.join(ROOT, "tiny.llava"), {
      source: TINY.replace("language  = tiny_llama", "language  = tiny_llama { norm_type: layernorm }").replace(
        "adamw { lr: 1e-3 }",
        "adamw { lr: 1e-3, betas: (0.9, 0.95) }",
      ),
      cwd: ROOT,
      env: {},
    });
    const files = new Map(filesToWrite(built.emitted).map((f) => [f.path, f.content]));
    const r = await importConfigs(
      [
        { file: "align.yaml", text: files.get("align/params.yaml")! },
        { file: "tune.yaml", text: files.get("tune/params.yaml")! },
      ],
      ROOT,
    );
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.spec).toContain(
      'import { tiny_vit } from "std/vision"\nimport { tiny_llama } from "std/language"\nimport { mlp2x_gelu } from "std/projectors"\nimport { plain, vicuna_v1 } from "std/templates"\n',
    );
    // An enum-typed field is written as its member, not a string (norm_type's type is norm_kind).
    expect(r.spec).toContain("language  = tiny_llama { norm_type: layernorm }");
    // A tuple-typed field is written as a tuple (adamw.betas is a pair).
    expect(r.spec).toMatch(/optimizer {2}= adamw \{ lr: 0\.001, betas: \(0\.9, 0\.95\)/);
    expect(r.spec).toMatch(/^model llava \{/m);
  });

  it("a single params file imports to a spec that builds: `preprocess = none`, so no preprocess.yaml and nothing missing", async () => {
    const r = await importConfigs([read(golden("7b", "pretrain"))], ROOT);
    expect(r.verified).toBe(true);
    expect(r.spec).toMatch(
      /\n  \/\/ The HDF5 files exist already; to emit preprocess\.yaml instead, write hdf5_writer \{ input: .*\n  preprocess = none\n/,
    );
    const result = await compile(path.join(ROOT, "imported.llava"), { source: r.spec, cwd: ROOT, env: {} });
    expect(
      result.diags
        .sorted()
        .filter((d) => d.severity === "error")
        .map((d) => `${d.code} ${d.message}`),
    ).toEqual([]);
    expect(
      filesToWrite(result.emitted)
        .map((f) => f.path)
        .sort(),
    ).toEqual(["manifest.json", "pretrain/params.yaml", "pretrain/train.ts"]);
    expect(
      Object.keys(JSON.parse(filesToWrite(result.emitted).find((f) => f.path === "manifest.json")!.content).phases.pretrain.source_map),
    ).toEqual(["params.yaml"]);
    // Without the line, the writer has neither input nor output: two diagnostics at the phase, as `check` shows.
    const without = await compile(path.join(ROOT, "imported.llava"), {
      source: r.spec.replace("  preprocess = none\n", ""),
      cwd: ROOT,
      env: {},
    });
    expect(
      without.diags
        .sorted()
        .filter((d) => d.severity === "error")
        .map((d) => d.code),
    ).toEqual(["E0503", "E0504"]);
  });

  it("reports an unknown key with its line and column, and does not claim a round trip", async () => {
    const text = readFileSync(golden("7b", "pretrain"), "utf8").replace(
      "    vocab_size: 32000\n",
      "    vocab_size: 32000\n    secret_knob: 3\n",
    );
    const line = text.split("\n").findIndex((l) => l.includes("secret_knob")) + 1;
    const r = await importConfigs([{ file: "p1.yaml", text }]);
    expect(r.problems).toEqual([
      {
        file: "p1.yaml",
        line,
        column: 5,
        message: "unknown key `model.text_model.secret_knob` (llavac has no field for it; it is not in the spec)",
      },
    ]);
    expect(r.verified).toBe(false);
  });

  it("a phase-2 config alone: its load_checkpoint_states needs the phase it loads from", async () => {
    const r = await importConfigs([read(golden("7b", "finetune"))]);
    expect(r.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/load_checkpoint_states: this phase starts from another phase's checkpoint; import that phase's config too/),
    ]);
    expect(r.problems[0]!.line).toBeGreaterThan(1);
  });

  it("keeps the comments that say something: the header, disabled settings, notes; not section headings", async () => {
    const yaml =
      `# LLaVA - tiny test\n# Text model: Vicuna-7B\n` +
      readFileSync(golden("7b", "pretrain"), "utf8")
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .join("\n")
        .replace("optimizer:\n", "optimizer:\n  # weight_decay: 0.001\n  # Encoder ffn\n")
        .replace("    max_position_embeddings: 2048\n", "    max_position_embeddings: 2048 #### MSL 2K\n");
    const r = await importConfigs([{ file: "p1.yaml", text: yaml }]);
    expect(r.verified).toBe(true);
    expect(r.spec).toContain("// LLaVA - tiny test\n// Text model: Vicuna-7B\n");
    expect(r.spec).toMatch(/\/\/ p1.yaml:\d+: weight_decay: 0.001/);
    expect(r.spec).not.toContain("Encoder ffn");
    expect(r.spec).toContain("max_position_embeddings: 2048   /* MSL 2K */");
  });
});

describe("import refuses what is not a LLaVA config, with the reason", () => {
  /** `levels` anchors, each a list of `width` aliases of the one before: width^levels values once expanded. */
  const bomb = (levels: number, width: number) =>
    [
      `a0: &a0 ["lol"]`,
      ...Array.from({ length: levels }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(width).fill(`*a${i}`).join(", ")}]`),
      `model: *a${levels}`,
    ].join("\n") + "\n";

  it("an alias bomb is refused by its expanded size, without expanding it", async () => {
    const r = await importConfigs([{ file: "bomb.yaml", text: bomb(10, 9) }]);
    expect(r.problems).toEqual([
      { file: "bomb.yaml", message: expect.stringMatching(/^refused: its aliases \(`\*name`\) expand it to more than 100,000 values/) },
    ]);
    expect(r.spec).toBe("");
    expect(r.verified).toBe(false);
  });

  it("a recursive alias is refused", async () => {
    const r = await importConfigs([{ file: "rec.yaml", text: "model: &m\n  image_model: *m\n" }]);
    expect(r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/recursive alias/)]);
  });

  it("a few aliases, as a hand-written config may use, are read", async () => {
    const text = readFileSync(path.join(ROOT, "test/golden/llava-v1.5-7b/pretrain/params.yaml"), "utf8");
    const withAlias = text
      .replace(/^(\s+)mixed_precision: (\w+)$/m, "$1mixed_precision: &mp $2")
      .replace(/^(\s+)mixed_precision: (\w+)$/gm, (line, ws) => (line.includes("&mp") ? line : `${ws}mixed_precision: *mp`));
    expect(withAlias).toContain("*mp");
    const r = await importConfigs([{ file: "p1.yaml", text: withAlias }]);
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
  });

  it("a non-LLaVA model says what it lacks, and a document without a model says what it expected", async () => {
    const gpt2 = await importConfigs([{ file: "gpt2.yaml", text: "model: {name: gpt2}\n" }]);
    expect(gpt2.problems).toEqual([
      {
        file: "gpt2.yaml",
        line: 1,
        column: 1,
        message: expect.stringMatching(/^model `gpt2` is not LLaVA \(`llava`\): model has no `image_model` and `text_model` mapping/),
      },
    ]);
    const half = await importConfigs([{ file: "half.yaml", text: "model:\n  image_model: {hidden_size: 1024}\n" }]);
    expect(half.problems.map((p) => p.message)).toEqual([expect.stringMatching(/model has no `text_model` mapping/)]);
    const odd = await importConfigs([{ file: "odd.yaml", text: "model:\n  image_model: {hidden_size: big}\n  text_model: {}\n" }]);
    expect(odd.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/model.image_model.hidden_size must be a number, found "big"/),
    ]);
    const foo = await importConfigs([{ file: "foo.yaml", text: "foo: 1\n" }]);
    expect(foo.problems.map((p) => p.message)).toEqual([expect.stringMatching(/neither a flat LLaVA config/)]);
    for (const r of [gpt2, half, odd, foo]) {
      expect(r.spec).toBe("");
      expect(r.verified).toBe(false);
    }
  });
});
