// The published package, as a user installs it: `npm pack`, unpack the tarball into a fresh project's
// node_modules, compile a strict TypeScript program against `llavac` and `llavac/runtime`, and run it.
// The fresh project sees only the package's production dependencies (linked from this checkout's
// node_modules, so the test needs no network) and @types/node, which any Node TypeScript project has.
// The package's own declarations are checked as if skipLibCheck were off (a declaration that needs a
// dev-only package, like @types/cli-progress, fails here); tfjs's declarations are not ours to check
// (they have errors under strict lib checking), so only the app's and llavac's files are asked for.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

// Asynchronous on purpose: a child that runs for seconds must not stall the test worker.
const exec = promisify(execFile);
let tmp = "";
let project = "";
let files: string[] = [];
let compiled: Record<string, { errors: string[]; files: string[] }> = {};

/** Production packages at the top of node_modules, from the lockfile (dev-only ones are marked `dev`). */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([p, info]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(p) && !info.dev)
    .map(([p]) => p.slice("node_modules/".length))
    .filter((name) => existsSync(path.join(ROOT, "node_modules", name)));
}

function link(name: string): void {
  const to = path.join(project, "node_modules", name);
  mkdirSync(path.dirname(to), { recursive: true });
  symlinkSync(path.join(ROOT, "node_modules", name), to, "dir");
}

// A program that uses both entry points' types and runs check() on the spec it is given.
const APP = `
import { check, build, compile, type CheckResult, type Code } from "llavac";
import { learningRateAt, BACKENDS, type LearningRate, type PhaseRunConfig } from "llavac/runtime";

const r: CheckResult = await check(process.argv[2]!);
const codes: Code[] = r.diagnostics.map((d) => d.code);
const lr: LearningRate = 2e-5;
const rate: number = learningRateAt(lr, 10);
const phase: PhaseRunConfig["phase"] | undefined = r.phases[0]?.name;
void build; void compile; void BACKENDS;
console.log(JSON.stringify({ ok: r.ok, codes, titles: r.diagnostics.map((d) => d.title), patches: r.phases.map((p) => p.derived?.numPatches ?? null), files: r.files.map((f) => f.path), rate, phase }));
`;

// The types are real, not \`any\`: a wrong argument must be an error.
const WRONG = `import { check } from "llavac";\nawait check(42);\n`;

/** README's library example (the ```ts block of "As a library"). */
function readmeExample(): string {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const m = /### As a library\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README has no ```ts block under "### As a library"');
  return m[1]!;
}

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, "dist", "types", "compiler", "index.d.ts")))
    throw new Error("dist/types is missing: run `npm run build` first");
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "llavac-pack-")));
  // --ignore-scripts: \`prepare\` would rebuild dist/ under the other tests' feet.
  const { stdout } = await exec("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: ROOT, encoding: "utf8" });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  files = packed!.files.map((f) => f.path);
  project = path.join(tmp, "app");
  const pkg = path.join(project, "node_modules", "llavac");
  mkdirSync(pkg, { recursive: true });
  await exec("tar", ["-xzf", path.join(tmp, path.basename(packed!.filename)), "-C", pkg, "--strip-components=1"]);
  for (const name of productionPackages()) link(name);
  // Some production dependencies already bring @types/node; otherwise the app brings its own.
  if (!existsSync(path.join(project, "node_modules", "@types", "node"))) link("@types/node");
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  mkdirSync(path.join(project, "src"));
  writeFileSync(path.join(project, "src", "main.ts"), APP);
  writeFileSync(path.join(project, "src", "wrong.ts"), WRONG);
  writeFileSync(path.join(project, "src", "readme.ts"), readmeExample());
  const tsc = await exec(process.execPath, [path.join(ROOT, "test", "package-tsc.mjs"), project], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  compiled = JSON.parse(tsc.stdout) as typeof compiled;
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds the bundles, the declarations and the standard library, and no sources or source maps", () => {
    for (const f of [
      "bin/llavac.js",
      "dist/llavac.js",
      "dist/index.js",
      "dist/runtime.js",
      "dist/llama2-vocab.txt",
      "dist/stdlib-parses.json",
      "dist/types/compiler/index.d.ts",
      "dist/types/runtime/index.d.ts",
      "stdlib/vision.llava",
      "LICENSE",
      "README.md",
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || f.endsWith(".map"))).toEqual([]);
  });

  it("holds declarations that type-check under strict tsc in a fresh project, for llavac, llavac/runtime and README's example", () => {
    expect(compiled["main.ts"]!.errors).toEqual([]);
    // The imports resolved to the tarball's declarations (not to sources, not to any).
    expect(compiled["main.ts"]!.files).toContain("node_modules/llavac/dist/types/compiler/index.d.ts");
    expect(compiled["main.ts"]!.files).toContain("node_modules/llavac/dist/types/runtime/index.d.ts");
    expect(compiled["readme.ts"]!.errors).toEqual([]);
    expect(compiled["wrong.ts"]!.errors.join("\n")).toMatch(
      /error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'/,
    );
  });

  it("runs: the installed package checks a spec from outside the repository, and reports a wrong one", async () => {
    const run = async (spec: string, cwd = project) =>
      JSON.parse((await exec(process.execPath, [path.join(project, "build", "main.js"), spec], { cwd, encoding: "utf8" })).stdout) as {
        ok: boolean;
        codes: string[];
        patches: (number | null)[];
        files: string[];
        rate: number;
        phase: string;
      };
    // The installed package (resolved from the project's node_modules), run where the example's relative
    // paths (its tokenizer folder) resolve: a spec's paths are relative to the working directory.
    const tiny = await run(path.join(ROOT, "examples", "tiny-shapes", "tiny.llava"), ROOT);
    expect(tiny).toMatchObject({ ok: true, patches: [16, 16], rate: 2e-5, phase: "pretrain" });
    expect(tiny.files).toContain("manifest.json");
    expect(tiny.files).toContain("finetune/params.yaml");

    // Without its first import (`tiny_vit`), the spec names something undefined (E0104).
    const wrong = path.join(tmp, "wrong.llava");
    writeFileSync(wrong, readFileSync(path.join(ROOT, "examples", "tiny-shapes", "tiny.llava"), "utf8").replace(/^import[^\n]*\n/m, ""));
    const bad = await run(wrong);
    expect(bad.ok).toBe(false);
    expect(bad.codes).toContain("E0104"); // unknown name
    expect(bad.files).toEqual([]);
  });
});
