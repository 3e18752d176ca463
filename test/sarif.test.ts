// `--format sarif`: the log validates against the OASIS SARIF 2.1.0 JSON schema, its rules are the catalog,
// and each result points where the human rendering points (notes with spans become related locations).
// The schema is the one Microsoft's SARIF SDK ships (sarif-2.1.0-rtm.5.json, in the dev dependency
// @microsoft/jest-sarif; rtm.5 is the schema the 2.1.0 standard published); it is draft-04 JSON Schema,
// hence ajv-draft-04.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { CODES } from "../compiler/codes.js";
import { compile } from "../compiler/compile.js";
import { toSarif } from "../compiler/sarif.js";
import { ROOT, TINY, TINY_DIRS, tinyWith } from "./helpers.js";

const require = createRequire(import.meta.url);
type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };

function sarifValidator(): Validate {
  let Ajv: new (o: object) => { compile(schema: object): Validate }, schemaFile: string;
  try {
    Ajv = require("ajv-draft-04") as typeof Ajv;
    schemaFile = require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
  } catch (err) {
    throw new Error(
      `the SARIF test needs the dev dependencies ajv-draft-04 and @microsoft/jest-sarif (npm install): ${(err as Error).message}`,
    );
  }
  const schema = JSON.parse(readFileSync(schemaFile, "utf8")) as object;
  // `format: "uri"`/"date-time" stay annotations (no ajv-formats); the schema's `language` pattern has a stray `]`
  // that only a non-unicode RegExp accepts, as draft-04 validators of its time compiled it.
  return new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(schema);
}

const validate = sarifValidator();

function valid(log: unknown): void {
  const ok = validate(log);
  expect(validate.errors ?? [], "SARIF 2.1.0 schema errors").toEqual([]);
  expect(ok).toBe(true);
}

interface SarifLog {
  version: string;
  runs: {
    tool: {
      driver: { name: string; rules: { id: string; shortDescription: { text: string }; defaultConfiguration: { level: string } }[] };
    };
    originalUriBaseIds: Record<string, { uri: string }>;
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: {
        physicalLocation: {
          artifactLocation: { uri: string; uriBaseId?: string };
          region: { startLine: number; startColumn: number; endLine: number; endColumn: number };
        };
      }[];
      relatedLocations?: { message: { text: string }; physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string } } }[];
    }[];
  }[];
}

function folderWith(spec: string, dirs = TINY_DIRS): string {
  const dir = mkdtempSync(path.join(tmpdir(), "llavac-sarif-"));
  writeFileSync(path.join(dir, "spec.llava"), spec);
  for (const d of dirs) mkdirSync(path.join(dir, d), { recursive: true });
  return dir;
}

describe("sarif", () => {
  it("the validator rejects what is not SARIF 2.1.0 (so the checks below can fail)", () => {
    expect(validate({ version: "2.1.0", runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(validate({ version: "2.0.0", runs: [] })).toBe(false);
    expect(
      validate({ version: "2.1.0", runs: [{ tool: { driver: { name: "x" } }, results: [{ message: { text: "m" }, level: "fatal" }] }] }),
    ).toBe(false);
    expect(
      validate({ version: "2.1.0", runs: [{ tool: { driver: { name: "x" } }, results: [{ message: { text: "m" }, level: "error" }] }] }),
    ).toBe(true);
  });

  it("errors, warnings and notes: a valid log whose results point at the spans, notes as related locations", async () => {
    const spec = tinyWith("optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: 1e-3, betas: (0.9, 1.5) }");
    const dir = folderWith(spec, ["images"]);
    const r = await compile(path.join(dir, "spec.llava"), { cwd: dir, env: {} });
    const log = toSarif(r.diags.sorted(), dir) as SarifLog;
    valid(log);
    const run = log.runs[0]!;
    expect(log.version).toBe("2.1.0");
    expect(run.tool.driver.name).toBe("llavac");
    expect(run.tool.driver.rules.map((x) => x.id)).toEqual(Object.keys(CODES));
    expect(run.originalUriBaseIds.SRCROOT!.uri).toBe(pathToFileURL(dir + path.sep).href);

    const range = run.results.find((x) => x.ruleId === "E0204")!;
    expect(range.level).toBe("error");
    expect(run.tool.driver.rules[range.ruleIndex]!.id).toBe("E0204");
    const line = spec.split("\n").findIndex((l) => l.includes("1.5)")) + 1;
    expect(range.locations[0]!.physicalLocation).toEqual({
      artifactLocation: { uri: "spec.llava", uriBaseId: "SRCROOT" },
      region: expect.objectContaining({
        startLine: line,
        startColumn: spec.split("\n")[line - 1]!.indexOf("1.5") + 1,
        endLine: line,
        endColumn: spec.split("\n")[line - 1]!.indexOf("1.5") + 4,
      }),
    });
    // The constraint's note points into the standard library: an absolute file: URI.
    expect(range.relatedLocations![0]!.message.text).toBe("the constraint is declared here");
    expect(range.relatedLocations![0]!.physicalLocation.artifactLocation.uri).toMatch(/^file:\/\/.*\/stdlib\/core\.llava$/);

    const missing = run.results.filter((x) => x.ruleId === "W0408");
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((x) => x.level === "warning")).toBe(true);
    expect(missing[0]!.message.text).toMatch(/does not exist\nhelp: /);
  });

  it("a clean spec is a valid log with no results; --deny shows in the result's level", async () => {
    const dir = folderWith(TINY, []);
    const clean = await compile(path.join(dir, "spec.llava"), { cwd: dir, env: {}, allow: ["W0408"] });
    const empty = toSarif(clean.diags.sorted(), dir) as SarifLog;
    valid(empty);
    expect(empty.runs[0]!.results).toEqual([]);
    const denied = await compile(path.join(dir, "spec.llava"), { cwd: dir, env: {}, deny: ["W0408"] });
    const log = toSarif(denied.diags.sorted(), dir) as SarifLog;
    valid(log);
    expect(log.runs[0]!.results.map((x) => x.level)).toEqual(log.runs[0]!.results.map(() => "error"));
    expect(log.runs[0]!.tool.driver.rules.find((x) => x.id === "W0408")!.defaultConfiguration.level).toBe("warning");
  });

  it("every trigger spec's diagnostics make a valid log", async () => {
    for (const [code, info] of Object.entries(CODES)) {
      const t = info.trigger as {
        spec?: string;
        edit?: [string, string];
        append?: string;
        files?: Record<string, string>;
        weights?: string;
      };
      if (t.files || t.weights) continue; // folders of files: covered by the catalog test
      const spec = (t.spec ?? (t.edit ? tinyWith(t.edit[0], t.edit[1]) : TINY)) + (t.append ?? "");
      const dir = folderWith(spec);
      const r = await compile(path.join(dir, "spec.llava"), { cwd: dir, env: {} });
      const log = toSarif(r.diags.sorted(), dir) as SarifLog;
      expect(validate(log), `${code}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it("llavac check and build --format sarif print a valid log and keep their exit codes", () => {
    const bin = path.join(ROOT, "bin/llavac.js");
    const dir = folderWith(tinyWith("freeze    = [/^image_model/, /^text_model/]", "freeze    = [/^image_model/, /^text_models/]"));
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    const check = cli(["check", "spec.llava", "--format", "sarif"]);
    expect(check.status).toBe(1);
    const log = JSON.parse(check.stdout) as SarifLog;
    valid(log);
    expect(log.runs[0]!.results.map((x) => x.ruleId)).toEqual(["E0401"]);
    const build = cli(["build", "spec.llava", "-o", "out", "--format", "sarif"]);
    expect(build.status).toBe(1);
    valid(JSON.parse(build.stdout));
    expect(cli(["check", "spec.llava", "--format", "xml"]).status).toBe(2);
  });
});
