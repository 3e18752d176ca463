// Command-line overrides (`--set path=value`) and typed env(): values are parsed with the spec grammar
// and checked at the field's schema; a bad one points into the command line like a spec line.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filesToWrite } from "../compiler/build.js";
import { renderDiagnostic } from "../compiler/diagnostics.js";
import { mutated } from "./fuzz-support.js";
import { check, ROOT, TINY, tinyWith } from "./helpers.js";

const phase = (r: Awaited<ReturnType<typeof check>>, name: string) => r.result.phases.find((p) => p.unit.ir.$name === name)!;

describe("--set overrides", () => {
  it("set a field deep inside a phase, checked and converted at the field's schema (int → float, enum by name, batch syntax)", async () => {
    const r = await check(TINY, {
      overrides: ["tune.optimizer.lr=5e-4", "align.batch=64 per step, 16 per micro-batch", "tune.optimizer.eps=1", "tune.template=plain"],
    });
    expect(r.errors).toEqual([]);
    const tune = phase(r, "tune").unit.ir,
      align = phase(r, "align").unit.ir;
    expect(tune.optimizer.lr).toBe(5e-4);
    expect(tune.optimizer.eps).toBe(1);
    expect(tune.template.$name).toBe("plain");
    expect(align.batch).toEqual({ global: 64, micro: 16 });
    expect(align.optimizer.lr).toBe(1e-3);
    // The derivations see the new batch: 2 epochs of ⌊1000 / 64⌋ steps (32 per step would be 62).
    expect(phase(r, "align").derived!.schedule.maxSteps).toBe(30);
  });

  it("a record shared by two phases changes only in the phase the path goes through; a top-level declaration changes everywhere", async () => {
    const one = await check(TINY, { overrides: ["align.model.language.max_position_embeddings=256"] });
    expect(one.errors).toEqual([]);
    expect(phase(one, "align").derived!.msl).toBe(256);
    expect(phase(one, "tune").derived!.msl).toBe(128);
    const both = await check(TINY, { overrides: ["tiny.language.max_position_embeddings=256"] });
    expect(both.errors).toEqual([]);
    expect([phase(both, "align").derived!.msl, phase(both, "tune").derived!.msl]).toEqual([256, 256]);
  });

  it("a bad override is a diagnostic in the command line: `--set #N`, the argument as the line, a caret under the mistake", async () => {
    const r = await check(TINY, { overrides: ["tune.optimizer.lr=2e-4", "tune.optimizer.lrr=2e-5"] });
    const d = r.one("E0703");
    expect(d.span.file).toBe("--set #2");
    expect(d.message).toBe("`tune.optimizer` (`adamw`) has no field `lrr`");
    expect(d.help).toEqual(["did you mean `lr`?"]);
    const shown = renderDiagnostic(d, r.result.graph);
    expect(shown).toContain(" --> --set #2:1:16\n");
    expect(shown).toMatch(/1 \| tune\.optimizer\.lrr=2e-5\n\s+\| {16}\^\^\^\n/);
  });

  it("unknown declaration (did you mean), no `=`, a bad name, set twice, a path through a non-record", async () => {
    const unknown = (await check(TINY, { overrides: ["tnue.batch=3 per step"] })).one("E0702");
    expect(unknown.message).toMatch(/declares no `tnue`/);
    expect(unknown.help).toEqual(["did you mean `tune`?"]);
    expect([unknown.span.col, unknown.span.endCol]).toEqual([1, 5]);
    // Imported names are not the spec's declarations.
    expect((await check(TINY, { overrides: ["tiny_llama.hidden_size=8"] })).one("E0702").message).toMatch(/declares no `tiny_llama`/);
    expect((await check(TINY, { overrides: ["tune"] })).one("E0701").message).toMatch(/no `=`/);
    expect((await check(TINY, { overrides: ["tune.3x=1"] })).one("E0701").span.col).toBe(6);
    const twice = await check(TINY, { overrides: ["tune.optimizer.lr=1e-3", "tune.optimizer=adamw { lr: 2e-3 }"] });
    expect(twice.one("E0706").span.file).toBe("--set #2");
    expect(twice.one("E0706").notes[0]!.span!.file).toBe("--set #1");
    const list = (await check(TINY, { overrides: ["tune.freeze.x=1"] })).one("E0703");
    expect(list.message).toMatch(/`tune.freeze` is a list .* which has no fields/);
    expect(list.help).toEqual(["set it whole: `--set tune.freeze=<value>`"]);
  });

  it("an unparsable value is a syntax diagnostic at the place in the argument", async () => {
    const r = await check(TINY, { overrides: ["tune.batch=32 per step )"] });
    const d = r.one("E0704");
    expect(d.message).toMatch(/does not parse: unexpected `\)` after the value/);
    expect([d.span.file, d.span.col]).toEqual(["--set #1", 24]);
    const empty = (await check(TINY, { overrides: ["tune.batch="] })).one("E0704");
    expect(empty.message).toMatch(/expected a value/);
  });

  it("type and constraint errors are the file's own diagnostics, pointing into the argument with a note at the schema", async () => {
    const type = (await check(TINY, { overrides: ['tune.optimizer.lr="fast"'] })).one("E0201");
    expect(type.span).toMatchObject({ file: "--set #1", col: 19, endCol: 25 });
    expect(type.notes.map((n) => n.message)).toContain("`lr` is declared as `float & > 0`");
    const range = (await check(TINY, { overrides: ["tune.optimizer.betas=(0.9, 1.5)"] })).one("E0204");
    expect(range.span).toMatchObject({ file: "--set #1", col: 28 });
    expect((await check(TINY, { overrides: ["align.schedule.warmup=10"] })).one("E0207").help).toEqual(["add the unit: `10%`"]);
    expect((await check(TINY, { overrides: ["tune.model=tinyy"] })).one("E0104").help).toEqual(["did you mean `tiny`?"]);
    expect((await check(TINY, { overrides: ["tune.optimizer.lr=none"] })).one("E0201").message).toMatch(/required and cannot be `none`/);
  });

  it("the manifest records the overrides, and the source map points the overridden keys at them", async () => {
    const r = await check(TINY, { overrides: ["tune.optimizer.lr=5e-4"] });
    const files = new Map(filesToWrite(r.result.emitted).map((f) => [f.path, f.content]));
    const manifest = JSON.parse(files.get("manifest.json")!);
    expect(manifest.overrides).toEqual([{ set: "tune.optimizer.lr=5e-4", path: "tune.optimizer.lr", value: "5e-4" }]);
    const map = manifest.phases.tune.source_map["params.yaml"] as Record<string, { file: string; column: number }>;
    const lr = Object.entries(map).find(
      ([k]) => /learning_rate.*end_learning_rate|initial_learning_rate/.test(k) && map[k]!.file === "--set #1",
    );
    expect(lr, JSON.stringify(map)).toBeDefined();
    expect(files.get("tune/params.yaml")).toMatch(/learning_rate: 0\.0005/);
    const none = await check(TINY);
    expect(JSON.parse(filesToWrite(none.result.emitted).find((f) => f.path === "manifest.json")!.content).overrides).toBeUndefined();
  });
});

describe("typed env()", () => {
  const spec = (value: string) => tinyWith("optimizer = adamw { lr: 2e-4 }", `optimizer = adamw { lr: ${value} }`);

  it("takes its default's type: a float default reads the variable as a number, the default when unset", async () => {
    const set = await check(spec('env("LR", 2e-5)'), { env: { LR: "1e-4" } });
    expect(set.errors).toEqual([]);
    expect(phase(set, "tune").unit.ir.optimizer.lr).toBe(1e-4);
    const unset = await check(spec('env("LR", 2e-5)'));
    expect(phase(unset, "tune").unit.ir.optimizer.lr).toBe(2e-5);
    const int = await check(spec('env("LR", 2e-5)'), { env: { LR: "1" } });
    expect(phase(int, "tune").unit.ir.optimizer.lr).toBe(1);
    // An int default where the field is a float reads a float, as the field takes `1` as one.
    const intDefault = await check(spec('env("LR", 1)'), { env: { LR: "3e-4" } });
    expect(intDefault.errors).toEqual([]);
    expect(phase(intDefault, "tune").unit.ir.optimizer.lr).toBe(3e-4);
  });

  it("ints, bools and quantities parse as in a spec", async () => {
    const src = tinyWith(
      "schedule  = warmup_cosine { length: 3 epochs }",
      'schedule  = warmup_cosine { length: env("LEN", 3 epochs), warmup: env("WARM", 5%) }\n  run = run { seed: env("SEED", 7), checkpoint_steps: 0 }\n  loader = loader { shuffle: env("SHUFFLE", true) }',
    );
    const r = await check(src, { env: { LEN: "2 epochs", WARM: "10%", SEED: "11", SHUFFLE: "false" } });
    expect(r.errors).toEqual([]);
    const ir = phase(r, "tune").unit.ir;
    expect([ir.schedule.length, (ir.schedule as { warmup: unknown }).warmup]).toEqual([
      { unit: "epochs", value: 2 },
      { unit: "percent", value: 10 },
    ]);
    expect([ir.run.seed, ir.loader.shuffle]).toEqual([11, false]);
    const bare = (await check(src, { env: { WARM: "10" } })).one("E0705");
    expect(bare.message).toBe('environment variable WARM is "10", which is not a percentage (`5%`)');
    expect(bare.help[0]).toBe('write the unit too: WARM="10%"');
    expect((await check(src, { env: { SEED: "2.5" } })).one("E0705").message).toMatch(/SEED is "2.5", which is not an integer/);
    expect((await check(src, { env: { SHUFFLE: "yes" } })).one("E0705").message).toMatch(
      /SHUFFLE is "yes", which is not `true` or `false`/,
    );
  });

  it("a bad value names the variable and its value and points at the env() call; the field's constraints still apply", async () => {
    const src = spec('env("LR", 2e-5)');
    const r = await check(src, { env: { LR: "fast" } });
    const d = r.one("E0705");
    expect(d.message).toBe('environment variable LR is "fast", which is not a number');
    const at = src.indexOf('env("LR"');
    expect(d.span.start).toBe(at);
    expect(d.span.end).toBe(at + 'env("LR", 2e-5)'.length);
    const negative = (await check(src, { env: { LR: "-1" } })).one("E0204");
    expect(negative.span.start).toBe(at);
    // A string default keeps today's meaning: the variable's text.
    expect((await check(spec('env("LR", "2e-5")'))).one("E0201").message).toMatch(/expected `float & > 0`, found string "2e-5"/);
    expect((await check(spec('env("LR", [1])'))).one("E0237").message).toMatch(/default is a string, a number, a bool or a quantity/);
  });
});

describe("--set on the command line", () => {
  const llavac = (args: string[], cwd: string) =>
    spawnSync(process.execPath, [path.join(ROOT, "bin/llavac.js"), ...args], {
      cwd,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });

  it("check shows the caret under the argument and exits 1; build applies the overrides and records them", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-set-"));
    writeFileSync(path.join(dir, "spec.llava"), TINY);
    const bad = llavac(["check", "spec.llava", "--set", "tune.optimizer.lr=1e-4", "--set", "tune.batch=32 per stepp"], dir);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(
      "error[E0230]: unknown batch unit `stepp`\n --> --set #2:1:19\n  |\n1 | tune.batch=32 per stepp\n  |                   ^^^^^\n  = help: did you mean `step`?",
    );
    const good = llavac(["build", "spec.llava", "-o", "out", "--set", "tune.optimizer.lr=1e-4", "--set", "align.batch=64 per step"], dir);
    expect(good.status, good.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, "out/manifest.json"), "utf8")).overrides.map((o: { set: string }) => o.set)).toEqual([
      "tune.optimizer.lr=1e-4",
      "align.batch=64 per step",
    ]);
    expect(readFileSync(path.join(dir, "out/align/params.yaml"), "utf8")).toMatch(/batch_size: 64/);
  });
});

describe("--set and the phase checks", () => {
  it("a check on an overridden value puts its caret in the command line (a freeze pattern that matches nothing)", async () => {
    const r = await check(TINY, { overrides: ["tune.freeze=[/^image_model/, /^no_such_module/]"] });
    const d = r.one("E0401");
    expect(d.span.file).toBe("--set #1");
    expect(d.span.col).toBe("tune.freeze=[/^image_model/, ".length + 1);
  });
});

describe("fuzz: mangled --set arguments and environment values", () => {
  it("never crash, and every diagnostic in a --set lies inside its argument", async () => {
    const good = fc.constantFrom(
      "tune.optimizer.lr=5e-4",
      "align.batch=64 per step, 16 per micro-batch",
      "tiny.language.max_position_embeddings=256",
      'tune.images="./x" / "y"',
      "tune.freeze=[/^image_model/]",
      "align.from=tune(states: model)",
    );
    const arg = good.chain((g) => fc.oneof(fc.constant(g), mutated(g)));
    const env = fc.oneof(
      fc.constantFrom("1e-4", "-1", "", " ", "1e999", "3%", "2 steps", "true", "(", "\u0000", "x".repeat(100)),
      fc.string({ maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(arg, { minLength: 1, maxLength: 3 }), env, async (overrides, lr) => {
        const r = await check(tinyWith("optimizer = adamw { lr: 2e-4 }", 'optimizer = adamw { lr: env("LR", 2e-4) }'), {
          overrides,
          env: { LR: lr },
        });
        for (const d of r.diags) {
          const text = r.result.graph.text(d.span.file);
          expect(text, d.span.file).toBeDefined();
          expect(d.span.end).toBeLessThanOrEqual(text!.length);
          if (d.span.file.startsWith("--set #")) expect(text).toBe(overrides[Number(d.span.file.slice(7)) - 1]);
          renderDiagnostic(d, r.result.graph);
        }
      }),
      { numRuns: 300, seed: 808 },
    );
  }, 120_000);
});
