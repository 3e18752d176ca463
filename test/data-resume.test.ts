// A killed `llavac data hdf5` run, resumed, writes exactly the bytes of an uninterrupted run.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sample, tempDir, writeImage, writeLines } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

const BIN = path.join(ROOT, "bin/llavac.js");

// Files of 10 samples (100 for the disk-full case, whose files must outgrow the size limit): the same number of
// files, and so of points to be killed at, as files of 100 at ten times the samples, at a tenth of the work.
async function project(samples: number, filesPerRecord = 10): Promise<string> {
  const dir = tempDir("llavac-resume-");
  await writeImage(path.join(dir, "images/a.jpg"));
  const lines = Array.from({ length: samples }, (_, i) =>
    i % 97 === 5
      ? sample(`m${i}`, "missing.jpg", "Q?", "A.")
      : i % 89 === 7
        ? sample(`l${i}`, "a.jpg", "Q?", "long ".repeat(300))
        : sample(`s${i}`, i % 3 ? "a.jpg" : undefined, `What is shown in picture ${i}?`, `It shows thing number ${i}, in detail.`),
  );
  writeLines(path.join(dir, "jsonl/part-a.jsonl"), lines.slice(0, samples / 2));
  writeLines(path.join(dir, "jsonl/part-b.jsonl"), lines.slice(samples / 2));
  writeFileSync(
    path.join(dir, "spec.llava"),
    `import { tiny_vit } from "std/vision"
import { tiny_llama } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { vicuna_v1 } from "std/templates"
model m { vision = tiny_vit, projector = mlp2x_gelu, language = tiny_llama { max_position_embeddings: 256 } }
dataset d { format: llava_jsonl, samples: ${samples}, jsonl: "jsonl" }
phase tune { model = m, data = d, template = vicuna_v1, images = "images", hdf5 = "shuffled",
  preprocess = hdf5_writer { output: "h5", files_per_record: ${filesPerRecord} },
  freeze = [/^image_model/], batch = 8 per step, optimizer = adamw { lr: 1e-3 }, schedule = warmup_cosine {} }
`,
  );
  return dir;
}

const args = ["data", "hdf5", "spec.llava", "--workers", "2", "--report", "h5/skipped.jsonl"];

function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of readdirSync(path.join(dir, "h5")).sort())
    if (!f.startsWith(".llavac-")) out.set(f, readFileSync(path.join(dir, "h5", f)));
  return out;
}

function expectSame(a: Map<string, Buffer>, b: Map<string, Buffer>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, v] of a) expect(b.get(k)!.equals(v), k).toBe(true);
}

describe("hdf5: kill and resume", () => {
  it("killed after a few finished files (SIGKILL), then resumed: byte-identical output", async () => {
    const dir = await project(150);
    const first = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8" });
    expect(first.status, first.stderr).toBe(0);
    const want = snapshot(dir);
    expect([...want.keys()].filter((k) => k.endsWith(".h5")).length).toBeGreaterThan(8);
    cpSync(path.join(dir, "h5"), path.join(dir, "h5-uninterrupted"), { recursive: true });
    rmSync(path.join(dir, "h5"), { recursive: true });

    const killed = spawnSync(process.execPath, [BIN, ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, LLAVAC_TEST_CRASH_AFTER_FILES: "5" },
    });
    expect(killed.signal).toBe("SIGKILL");
    const journal = JSON.parse(readFileSync(path.join(dir, "h5/.llavac-hdf5.json"), "utf8"));
    expect(journal.complete).toBe(false);
    expect(existsSync(path.join(dir, "h5/data_params.json"))).toBe(false);

    const resumed = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8" });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("(resumed)");
    expect(resumed.stderr).toContain("resuming the interrupted run");
    expectSame(want, snapshot(dir));
  });

  it("killed right after each worker's last, partial file (before the summary), then resumed: no sample written twice", async () => {
    const dir = await project(60);
    expect(spawnSync(process.execPath, [BIN, ...args], { cwd: dir }).status).toBe(0);
    const want = snapshot(dir);
    const files = [...want.keys()].filter((k) => k.endsWith(".h5")).length;
    for (const after of [files - 1, files]) {
      rmSync(path.join(dir, "h5"), { recursive: true });
      const killed = spawnSync(process.execPath, [BIN, ...args], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, LLAVAC_TEST_CRASH_AFTER_FILES: String(after) },
      });
      expect(killed.signal, `killed after ${after} files`).toBe("SIGKILL");
      const resumed = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8" });
      expect(resumed.status, resumed.stderr).toBe(0);
      expectSame(want, snapshot(dir));
    }
  });

  it("killed from outside at whatever point it reached, then resumed: byte-identical output", async () => {
    const dir = await project(300);
    expect(spawnSync(process.execPath, [BIN, ...args], { cwd: dir }).status).toBe(0);
    const want = snapshot(dir);
    rmSync(path.join(dir, "h5"), { recursive: true });

    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: "ignore" });
    const exited = new Promise<string | null>((resolve) => child.on("exit", (_, signal) => resolve(signal)));
    // Kill it once the first file is finished.
    for (let i = 0; i < 2000 && child.exitCode === null; i++) {
      if (existsSync(path.join(dir, "h5")) && readdirSync(path.join(dir, "h5")).some((f) => f.endsWith(".h5"))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    await exited;
    const resumed = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8" });
    expect(resumed.status, resumed.stderr).toBe(0);
    expectSame(want, snapshot(dir));
  });

  it("out of space (a file-size limit stands in for a full disk): one clear error naming the file, exit 1, no incomplete file under a final name, no temporary file", async () => {
    const dir = await project(600, 100);
    // `trap '' XFSZ` makes writes past the limit fail (EFBIG) instead of killing the process.
    const r = spawnSync("bash", ["-c", `trap '' XFSZ; ulimit -f 24; exec "${process.execPath}" "${BIN}" ${args.join(" ")}`], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot write .*examples_\d+_\d+\.h5: the file was not written completely .*is the disk full\?/);
    expect(r.stderr).not.toMatch(/HDF5-DIAG|internal error/);
    const left = readdirSync(path.join(dir, "h5"));
    expect(left.filter((f) => f.includes(".tmp"))).toEqual([]);
    const check = spawnSync(process.execPath, [BIN, "data", "verify", "h5"], { cwd: dir, encoding: "utf8" });
    expect(check.stdout).not.toContain("[unreadable]"); // every .h5 left behind is whole
  });
});
