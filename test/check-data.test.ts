// `llavac check --data` counts what `llavac data hdf5` then skips, reason by reason: both classify every
// record through runtime/data/classify.ts. A dataset with every kind of problem is checked and written, and
// the counts (and the example lines) must agree; a clean dataset reports nothing.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { sample, tempDir, writeImage, writeLines } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

const BIN = path.join(ROOT, "bin/llavac.js");

const SPEC = `import { tiny_vit } from "std/vision"
import { tiny_llama } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { vicuna_v1 } from "std/templates"

dataset mix { format: llava_jsonl, samples: 30, jsonl: "./jsonl" }
model tiny { vision = tiny_vit, projector = mlp2x_gelu, language = tiny_llama }

phase tune {
  model = tiny, data = mix, template = vicuna_v1, images = "./images", hdf5 = "./h5/tune"
  preprocess = hdf5_writer { output: "./h5/tune_raw" }
  freeze = [/^image_model/], batch = 8 per step, optimizer = adamw { lr: 1e-3 }, schedule = warmup_cosine { length: 1 epoch }
}

phase cut {
  model = tiny, data = mix, template = vicuna_v1, images = "./images", hdf5 = "./h5/cut"
  preprocess = hdf5_writer { output: "./h5/cut_raw", over_length: truncate }
  freeze = [/^image_model/], batch = 8 per step, optimizer = adamw { lr: 1e-3 }, schedule = warmup_cosine { length: 1 epoch }
}
`;

const conv = (turns: [string, string][], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: "x", ...extra, conversations: turns.map(([from, value]) => ({ from, value })) });
const long = Array.from({ length: 150 }, (_, i) => `word${i % 7}`).join(" ");

async function dataset(clean: boolean): Promise<string> {
  const dir = tempDir("llavac-check-data-");
  writeFileSync(path.join(dir, "spec.llava"), SPEC);
  await writeImage(path.join(dir, "images/good.jpg"));
  const good = [
    sample("g1", "good.jpg", "What is it?", "A square."),
    sample("g2", undefined, "Hello?", "Hi."),
    sample("g3", "good.jpg", "Colour?", "Blue."),
  ];
  if (clean) {
    writeLines(path.join(dir, "jsonl/a.jsonl"), good);
    return dir;
  }
  // A big noisy JPEG cut after its header: the header reads, a full decode fails.
  const noise = Buffer.alloc(200 * 200 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
  const cutFile = path.join(dir, "images/cut.jpg");
  await sharp(noise, { raw: { width: 200, height: 200, channels: 3 } })
    .jpeg()
    .toFile(cutFile);
  truncateSync(cutFile, Math.floor(statSync(cutFile).size * 0.6));
  writeFileSync(path.join(dir, "images/garbage.jpg"), "not an image");
  await writeImage(path.join(dir, "outside/secret.jpg"));
  symlinkSync(path.join(dir, "outside/secret.jpg"), path.join(dir, "images/link.jpg"));
  writeLines(path.join(dir, "jsonl/a.jsonl"), [
    ...good,
    "",
    "{not json",
    "[1, 2]",
    conv([
      ["human", "q"],
      ["robot", "a"],
    ]),
    conv([
      ["gpt", "a"],
      ["human", "q"],
    ]),
    conv(
      [
        ["human", "no placeholder"],
        ["gpt", "a"],
      ],
      { image: "good.jpg" },
    ),
    conv([
      ["human", "<image>\ntext only"],
      ["gpt", "a"],
    ]),
    sample("u1", "../outside/secret.jpg", "q", "a"),
    sample("u2", "link.jpg", "q", "a"),
    sample("m1", "missing.jpg", "q", "a"),
    sample("b1", "garbage.jpg", "q", "a"),
    sample("b2", "cut.jpg", "q", "a"),
    conv([]),
    conv([["human", "q"]]),
    sample("long-answer", undefined, "q", long),
    sample("long-prompt", undefined, long, "a"),
    sample("g4", "good.jpg", "Shape?", "Square."),
  ]);
  // A second file, and a line that is not UTF-8.
  writeFileSync(
    path.join(dir, "jsonl/b.jsonl"),
    Buffer.concat([Buffer.from(`${sample("g5", undefined, "q", "a")}\n`), Buffer.from([0x7b, 0xff, 0x7d, 0x0a])]),
  );
  return dir;
}

interface Json {
  diagnostics: { code: string; severity: string; notes: { message: string }[] }[];
  errors: number;
  data: {
    phase: string;
    checked: number;
    kept: number;
    skipped: Record<string, { count: number; examples: { file: string; line: number }[] }>;
    cut: { count: number };
  }[];
}

function checkJson(dir: string, ...args: string[]): { code: number | null; json: Json } {
  const r = spawnSync(process.execPath, [BIN, "check", "spec.llava", "--data", "--format", "json", ...args], {
    cwd: dir,
    encoding: "utf8",
  });
  return { code: r.status, json: JSON.parse(r.stdout) as Json };
}

/** `data hdf5` for a phase: its skip report, counted by reason, and the kept count. */
function writerCounts(dir: string, phase: string): { skipped: Record<string, number>; lines: Set<string>; kept: number } {
  const report = path.join(dir, `${phase}-skipped.jsonl`);
  execFileSync(process.execPath, [BIN, "data", "hdf5", "spec.llava", "--phase", phase, "--workers", "0", "--report", report], {
    cwd: dir,
    stdio: "pipe",
  });
  const skipped: Record<string, number> = {};
  const lines = new Set<string>();
  for (const l of readFileSync(report, "utf8").trim().split("\n").filter(Boolean)) {
    const e = JSON.parse(l) as { file: string; line: number; reason: string };
    skipped[e.reason] = (skipped[e.reason] ?? 0) + 1;
    lines.add(`${path.relative(dir, e.file)}:${e.line}:${e.reason}`);
  }
  const params = JSON.parse(readFileSync(path.join(dir, "h5", `${phase}_raw`, "data_params.json"), "utf8")) as Record<string, unknown>;
  const kept = Object.values(params).find((v): v is Record<string, number> => !!v && typeof v === "object" && "n_examples" in v);
  return { skipped, lines, kept: kept?.n_examples ?? -1 };
}

const counts = (s: Json["data"][number]["skipped"]) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.count]));

describe("check --data: the writer's counts, before anything is written", () => {
  it("counts, reason by reason, exactly what data hdf5 then skips (with --decode-images), and names the same lines", async () => {
    const dir = await dataset(false);
    const { code, json } = checkJson(dir, "--decode-images");
    expect(code).toBe(0); // warnings only
    for (const phase of ["tune", "cut"]) {
      const mine = json.data.find((d) => d.phase === phase)!;
      const theirs = writerCounts(dir, phase);
      expect(counts(mine.skipped), phase).toEqual(theirs.skipped);
      for (const [reason, rc] of Object.entries(mine.skipped))
        for (const e of rc.examples)
          expect(theirs.lines, `${phase} ${reason}`).toContain(`${path.relative(dir, e.file)}:${e.line}:${reason}`);
      expect(mine.kept, phase).toBe(theirs.kept);
      expect(mine.checked).toBe(21);
    }
    const tune = json.data.find((d) => d.phase === "tune")!;
    // Every kind of problem is there, each counted once (twice for unsafe paths: `..` and the symlink).
    expect(counts(tune.skipped)).toEqual({
      bad_image: 2,
      bad_role: 1,
      image_token_count: 2,
      invalid_record: 1,
      invalid_utf8: 1,
      malformed_json: 1,
      missing_image: 1,
      no_turns: 1,
      odd_turns: 1,
      role_order: 1,
      too_long: 2,
      unsafe_image_path: 2,
    });
    const cut = json.data.find((d) => d.phase === "cut")!;
    expect(counts(cut.skipped)).toMatchObject({ no_supervised_tokens: 1 });
    expect(cut.skipped.too_long).toBeUndefined();
    expect(cut.cut.count).toBe(1);
    // One catalogued warning per reason, with the data lines in its notes.
    const codes = json.diagnostics.map((d) => d.code);
    for (const c of [
      "W0710",
      "W0711",
      "W0712",
      "W0713",
      "W0714",
      "W0715",
      "W0716",
      "W0717",
      "W0718",
      "W0719",
      "W0720",
      "W0721",
      "W0722",
      "W0723",
    ])
      expect(codes, c).toContain(c);
    const missing = json.diagnostics.find((d) => d.code === "W0712")!;
    expect(missing.notes[0]!.message).toMatch(/^jsonl\/a\.jsonl:13 \(id "m1"\): missing\.jpg not found under /);
  });

  it("reads only image headers by default, and says so: the image cut after its header is not counted", async () => {
    const dir = await dataset(false);
    const { json } = checkJson(dir);
    const tune = json.data.find((d) => d.phase === "tune")!;
    expect(tune.skipped.bad_image!.count).toBe(1);
    expect(tune.kept).toBe(6);
    const human = spawnSync(process.execPath, [BIN, "check", "spec.llava", "--data", "--no-color"], { cwd: dir, encoding: "utf8" });
    expect(human.stdout).toMatch(/images: header read/);
    expect(human.stderr).toMatch(/--decode-images/);
  });

  it("--strict and --deny make the findings errors (exit 1); --allow silences one", async () => {
    const dir = await dataset(false);
    expect(checkJson(dir, "--strict").code).toBe(1);
    const denied = checkJson(dir, "--deny", "W0712");
    expect(denied.code).toBe(1);
    expect(denied.json.diagnostics.filter((d) => d.severity === "error").map((d) => d.code)).toEqual(["W0712", "W0712"]);
    expect(checkJson(dir, "--allow", "W0712").json.diagnostics.map((d) => d.code)).not.toContain("W0712");
  });

  it("a clean dataset reports nothing, and data hdf5 skips nothing", async () => {
    const dir = await dataset(true);
    const { code, json } = checkJson(dir, "--decode-images");
    expect(code).toBe(0);
    expect(json.diagnostics.filter((d) => d.code.startsWith("W07") || d.code.startsWith("E07"))).toEqual([]);
    for (const d of json.data) {
      expect(d.skipped).toEqual({});
      expect(d.kept).toBe(3);
      expect(writerCounts(dir, d.phase).skipped).toEqual({});
    }
  });

  it("--sample N checks N records spread over the files and says it sampled; nothing is scaled", async () => {
    const dir = tempDir("llavac-check-data-");
    writeFileSync(path.join(dir, "spec.llava"), SPEC);
    writeLines(
      path.join(dir, "jsonl/a.jsonl"),
      Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? "{bad" : sample(`s${i}`, undefined, "q", "a"))),
    );
    const { json } = checkJson(dir, "--sample", "10");
    const d = json.data[0]! as Json["data"][number] & { records: number; sampled: boolean };
    expect(d).toMatchObject({ checked: 10, records: 100, sampled: true });
    // Records 0, 10, 20, … are picked: every one of them is the malformed line.
    expect(d.skipped.malformed_json!.count).toBe(10);
    const w = json.diagnostics.find((x) => x.code === "W0719")! as Json["diagnostics"][number] & { message: string };
    expect(w.message).toMatch(/^10 of 10 sampled lines/);
    expect(w.notes.map((n) => n.message)).toContain("a sample of 10 of 100 records, spread over the files: counts are of the sample");
  });

  it("missing jsonl is E0710 (exit 1), and --sample without --data is a usage error", () => {
    const dir = tempDir("llavac-check-data-");
    writeFileSync(path.join(dir, "spec.llava"), SPEC);
    const { code, json } = checkJson(dir);
    expect(code).toBe(1);
    expect(json.diagnostics.map((d) => d.code)).toContain("E0710");
    expect(spawnSync(process.execPath, [BIN, "check", "spec.llava", "--sample", "3"], { cwd: dir }).status).toBe(2);
  });
});

describe("README: check --data on the demo data", () => {
  it("the section's commands run as written, print what it shows, and count what data hdf5 skips", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Checking the data first"));
    const commands = /```sh\n([\s\S]*?)```/.exec(section)![1]!.trim().split("\n");
    expect(commands.at(-1)).toBe("npx llavac check examples/data-demo/demo.llava --data");
    const dir = tempDir("llavac-readme-check-data-");
    symlinkSync(path.join(ROOT, "examples"), path.join(dir, "examples"));
    let last = { status: null as number | null, stdout: "", stderr: "" };
    for (const c of commands) {
      const args = c.replace(/^npx llavac /, "").split(/\s+/);
      last = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      expect(last.status, `${c}\n${last.stderr}`).toBe(0);
    }
    const shown = /```\n(warning\[W0712\][\s\S]*?)```/.exec(section)![1]!;
    const [diagnostic, summary] = shown.split("\n...\n");
    const expected = diagnostic!.replace("…/examples", `${dir}/examples`).trim();
    expect(last.stderr).toContain(expected);
    for (const line of summary!.split("\n").slice(1, 5)) expect(last.stdout).toContain(line);
    // The same counts as the writer's, on the demo's finetune phase.
    const report = path.join(dir, "skipped.jsonl");
    execFileSync(
      process.execPath,
      [BIN, "data", "hdf5", "examples/data-demo/demo.llava", "--phase", "finetune", "--workers", "0", "--report", report],
      {
        cwd: dir,
        stdio: "pipe",
      },
    );
    const reasons = readFileSync(report, "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { reason: string }).reason);
    expect(reasons.sort()).toEqual(["missing_image", "odd_turns"]);
  });
});
