// `llavac diff`: a changed value, its derived knock-ons and the emitted keys, each old → new; a spec against a
// git revision reads its relative imports at that revision; an unknown revision is a clear error.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compile } from "../compiler/compile.js";
import { atRevision, DiffError, diffSpecs, renderDiff, type Change } from "../compiler/diff.js";
import { ROOT, TINY } from "./helpers.js";

const SPEC = path.join(ROOT, "test/virtual/tiny.llava");
const at = (cs: Change[], key: string) => cs.find((c) => c.key === key);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("diff", () => {
  it("a warm-up and a freeze change: the values, steps, parameter counts, trainable share and YAML keys", async () => {
    const a = await compile(SPEC, { source: TINY, env: {}, cwd: ROOT });
    const b = await compile(SPEC, {
      source: TINY.replace("warmup: 10% }", "warmup: 20% }").replace(
        "freeze    = [/^image_model/, /^text_model/]",
        "freeze    = [/^image_model/]",
      ),
      env: {},
      cwd: ROOT,
    });
    const d = diffSpecs(a, b, { a: "a", b: "b" });
    const warm = at(d.values, "align.schedule.warmup.value")!;
    expect([warm.old, warm.new]).toEqual([10, 20]);
    expect(warm.at).toMatch(/tiny\.llava:24$/);
    expect(at(d.values, "align.freeze.1.source")).toMatchObject({ old: "^text_model", new: undefined });
    // 1000 samples / 32 per step = 31 steps per epoch, 2 epochs: 62 steps, warm-up ⌈10%⌉ = 7 → ⌈20%⌉ = 13.
    expect(at(d.derived, "align.warmup_steps")).toMatchObject({ old: 7, new: 13 });
    expect(at(d.derived, "align.decay_steps")).toMatchObject({ old: 55, new: 49 });
    expect(at(d.derived, "align.max_steps")).toBeUndefined();
    const trainable = at(d.derived, "align.parameters.trainable")!;
    expect(trainable.new as number).toBeGreaterThan(trainable.old as number);
    expect(at(d.derived, "align.trainable_share")).toBeDefined();
    expect(d.derived.some((c) => c.key.startsWith("tune."))).toBe(false);
    const yaml = d.emitted["align/params.yaml"]!;
    expect(at(yaml, "optimizer.learning_rate.0.total_iters")).toMatchObject({ old: 7, new: 13 });
    expect(at(yaml, "model.freeze.1")).toMatchObject({ old: "^text_model", new: undefined });
    expect(d.emitted["tune/params.yaml"]).toBeUndefined();
    const text = renderDiff(d);
    expect(text).toMatch(/align\.warmup_steps +7 → 13/);
    expect(text).toMatch(/optimizer\.learning_rate\.0\.total_iters +7 → 13/);
    expect(renderDiff(diffSpecs(a, a, { a: "a", b: "a" }))).toContain("no changes");
  });

  it("--rev: the spec and its relative import at the revision; an unknown revision or file is a DiffError", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-diff-"));
    dirs.push(dir);
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", ...args], {
        cwd: dir,
        stdio: "pipe",
      });
    git("init", "-q");
    const spec = path.join(dir, "spec.llava");
    writeFileSync(spec, `import { lr } from "./shared"\n${TINY.replace("adamw { lr: 2e-4 }", "adamw { lr: lr }")}`);
    writeFileSync(path.join(dir, "shared.llava"), "let lr = 2e-4\n");
    git("add", "-A");
    git("commit", "-qm", "one");
    writeFileSync(path.join(dir, "shared.llava"), "let lr = 5e-5\n");
    const old = atRevision(spec, "HEAD");
    const a = await compile(spec, { fs: old.fs, env: {}, cwd: dir });
    const b = await compile(spec, { env: {}, cwd: dir });
    const d = diffSpecs(a, b, { a: "old", b: "new" });
    expect(d.values.map((c) => [c.key, c.old, c.new])).toEqual([["tune.optimizer.lr", 2e-4, 5e-5]]);
    expect(at(d.emitted["tune/params.yaml"]!, "optimizer.learning_rate.0.end_learning_rate")).toMatchObject({ old: 2e-4, new: 5e-5 });
    expect(() => atRevision(spec, "no-such-rev")).toThrow(DiffError);
    expect(() => atRevision(spec, "no-such-rev")).toThrow(/unknown revision "no-such-rev"/);
    writeFileSync(path.join(dir, "new.llava"), TINY);
    expect(() => atRevision(path.join(dir, "new.llava"), "HEAD")).toThrow(/does not exist at revision HEAD/);
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin/llavac.js"), "diff", spec, "--rev", "HEAD~5"], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown revision "HEAD~5"');
  });
});
