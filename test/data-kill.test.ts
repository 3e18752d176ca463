// SIGKILL at 20 seeded points across the whole job (at start, mid-file, between files, during a rename,
// during the final summary, and at random wall-clock moments), then run the same command again (killed a
// second time now and then) until it exits 0: the output folder must be byte for byte the one an
// uninterrupted run writes, with no temporary or lock file left, for `data hdf5`, `data shuffle` and
// `data prepare`. The named points are the runtime's kill points (runtime/util/kill-point.ts); a trace of
// the uninterrupted run says how often each is reached, so the points spread over all of the job.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Random } from "../runtime/util/random.js";
import { sample, tempDir, writeImage, writeLines } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

const BIN = path.join(ROOT, "bin/llavac.js");
const KILLS = 20;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** Run llavac; `killAfterMs` kills it from outside (SIGKILL) if it is still running then. */
function llavac(args: string[], cwd: string, env: Record<string, string> = {}, killAfterMs?: number): Promise<Outcome> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  return new Promise((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - t0 });
    }),
  );
}

/** Every file under `dir` (dotfiles too), by relative path. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), readFileSync(p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** What a finished job must never leave behind: its lock, temporary files, spill folders. */
function leftovers(files: Map<string, Buffer>): string[] {
  return [...files.keys()].filter((f) => /(^|\/)\.llavac-lock|\.tmp($|-)|\.llavac-shuffle\/|\.stale-/.test(f));
}

function expectSame(want: Map<string, Buffer>, got: Map<string, Buffer>, what: string): void {
  expect([...got.keys()], `${what}: the files`).toEqual([...want.keys()]);
  for (const [k, v] of want) expect(got.get(k)!.equals(v), `${what}: ${k} differs from the uninterrupted run's`).toBe(true);
}

/** A kill: at the n-th time a named point is reached, or after some milliseconds. */
type Kill = { event: string; n: number } | { ms: number };
const killEnv = (k: Kill | undefined): Record<string, string> => (k && "event" in k ? { LLAVAC_TEST_KILL_AT: `${k.event}:${k.n}` } : {});
const killMs = (k: Kill | undefined) => (k && "ms" in k ? k.ms : undefined);
const describeKill = (k: Kill) => ("event" in k ? `${k.event} #${k.n}` : `after ${k.ms} ms`);

interface Job {
  /** Two work folders with the job's inputs (the two kill series run side by side, one in each). */
  slots: [string, string];
  args: string[];
  /** The output folder, relative to a slot. */
  out: string;
}

/**
 * The uninterrupted run in each slot (its output is the reference), then 20 kill plans, two at a time:
 * every named point at least once (at a seeded random occurrence), the last occurrence of the most
 * frequent ones, the rest at random points or random moments; every third resumed run is killed once more.
 */
async function killAndResume(job: Job, seed: number): Promise<{ events: Map<string, number>; plans: string[] }> {
  // The two uninterrupted runs side by side, as the series below run.
  const traces = job.slots.map((slot) => path.join(path.dirname(slot), `${path.basename(slot)}.trace`));
  const ran = await Promise.all(job.slots.map((slot, i) => llavac(job.args, slot, { LLAVAC_TEST_KILL_TRACE: traces[i]! })));
  const refs = job.slots.map((slot, i) => {
    expect(ran[i]!.code, ran[i]!.stderr).toBe(0);
    const want = snapshot(path.join(slot, job.out));
    expect(leftovers(want), "the uninterrupted run's leftovers").toEqual([]);
    return want;
  });
  const refMs = Math.max(...ran.map((r) => r.ms));
  // The first slot's trace says how often each point is reached. A thread counts its own events: a point's
  // n goes up to the most any one thread reached it.
  const events = new Map<string, number>();
  const perThread = new Map<string, number>();
  for (const l of readFileSync(traces[0]!, "utf8").split("\n").filter(Boolean)) perThread.set(l, (perThread.get(l) ?? 0) + 1);
  for (const [l, n] of perThread) {
    const e = l.slice(0, l.lastIndexOf(" "));
    events.set(e, Math.max(events.get(e) ?? 0, n));
  }
  const rng = new Random(seed);
  const names = [...events.keys()].sort();
  const at = (): Kill => {
    const event = rng.pick(names);
    return { event, n: 1 + rng.int(events.get(event)!) };
  };
  const moment = (): Kill => ({ ms: Math.round((0.05 + 0.9 * rng.next()) * refMs) });
  // The last time a point is reached is where resuming went wrong before (a worker's last, partial file).
  const lasts = names
    .filter((e) => events.get(e)! > 1)
    .sort((a, b) => events.get(b)! - events.get(a)! || (a < b ? -1 : 1))
    .slice(0, 4);
  const plans = Array.from({ length: KILLS }, (_, i) => {
    const j = i - names.length;
    const first: Kill =
      i < names.length
        ? { event: names[i]!, n: 1 + rng.int(events.get(names[i]!)!) }
        : j < lasts.length
          ? { event: lasts[j]!, n: events.get(lasts[j]!)! }
          : rng.next() < 0.6
            ? at()
            : moment();
    const second = i % 3 === 2 ? (rng.next() < 0.5 ? at() : moment()) : undefined;
    return { first, second };
  });
  expect(names.length, `named points reached: ${names.join(", ")}`).toBeLessThanOrEqual(KILLS);

  const runPlan = async (slot: number, plan: (typeof plans)[number]) => {
    const dir = job.slots[slot]!;
    const label = `killed at ${describeKill(plan.first)}${plan.second ? `, then at ${describeKill(plan.second)}` : ""}`;
    rmSync(path.join(dir, job.out), { recursive: true, force: true });
    const kills = [plan.first, plan.second];
    const history: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const k = kills[attempt];
      const r = await llavac(job.args, dir, killEnv(k), killMs(k));
      history.push(r.signal ?? String(r.code));
      // A named point of the first run is always reached: it must have killed the job there.
      if (attempt === 0 && k && "event" in k) expect(r.signal, `${label}: the kill point was not reached`).toBe("SIGKILL");
      if (r.code === 0) break;
      // Only our kills may stop it: a resumed run that fails is a bug.
      expect(r.signal, `${label}: run ${attempt + 1} failed: ${r.stderr}`).toBe("SIGKILL");
      expect(attempt, `${label}: still not finished`).toBeLessThan(4);
    }
    expectSame(refs[slot]!, snapshot(path.join(dir, job.out)), `${label} (${history.join(" → ")})`);
    return `${label}: ${history.join(" → ")}`;
  };
  // Two series side by side, one per slot.
  const done: string[] = [];
  await Promise.all(
    [0, 1].map(async (slot) => {
      for (let i = slot; i < plans.length; i += 2) done.push(await runPlan(slot, plans[i]!));
    }),
  );
  return { events, plans: done };
}

async function hdf5Project(dir: string): Promise<void> {
  await writeImage(path.join(dir, "images/a.jpg"));
  await writeImage(path.join(dir, "images/b.png"), "#cc6633");
  const lines = Array.from({ length: 70 }, (_, i) =>
    i % 13 === 5
      ? sample(`m${i}`, "missing.jpg", "Q?", "A.")
      : i % 11 === 7
        ? sample(`l${i}`, "a.jpg", "Q?", "long ".repeat(300))
        : sample(`s${i}`, i % 3 ? (i % 2 ? "a.jpg" : "b.png") : undefined, `What is in picture ${i}?`, `Thing number ${i}.`),
  );
  writeLines(path.join(dir, "jsonl/part-a.jsonl"), lines.slice(0, 30));
  writeLines(path.join(dir, "jsonl/part-b.jsonl"), lines.slice(30));
  writeFileSync(
    path.join(dir, "spec.llava"),
    `import { tiny_vit } from "std/vision"
import { tiny_llama } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { vicuna_v1 } from "std/templates"
model m { vision = tiny_vit, projector = mlp2x_gelu, language = tiny_llama { max_position_embeddings: 256 } }
dataset d { format: llava_jsonl, samples: 70, jsonl: "jsonl" }
phase tune { model = m, data = d, template = vicuna_v1, images = "images", hdf5 = "shuffled",
  preprocess = hdf5_writer { output: "h5", files_per_record: 6 },
  freeze = [/^image_model/], batch = 8 per step, optimizer = adamw { lr: 1e-3 }, schedule = warmup_cosine {} }
`,
  );
}

const slots = (base: string): [string, string] => [path.join(base, "a"), path.join(base, "b")];

describe("kill at 20 points, resume: byte-identical output", () => {
  it("data hdf5 (2 workers, with --report): every file, data_params.json, the journal and the skip report equal the uninterrupted run's; no sample lost or written twice", async () => {
    const base = tempDir("llavac-kill-hdf5-");
    const s = slots(base);
    for (const d of s) await hdf5Project(d);
    const { events } = await killAndResume(
      { slots: s, args: ["data", "hdf5", "spec.llava", "--workers", "2", "--report", "h5/skipped.jsonl"], out: "h5" },
      9,
    );
    // The points that matter were reached: mid-file, a file's rename, between files, the summary.
    for (const e of [
      "hdf5:locked",
      "h5:sample",
      "h5:closed",
      "h5:renamed",
      "hdf5:journal",
      "hdf5:params",
      "hdf5:summary",
      "atomic:written",
    ])
      expect(events.has(e), e).toBe(true);
  }, 1_200_000);

  it("data shuffle: every data-*.h5 and data_params.json equal the uninterrupted run's", async () => {
    const base = tempDir("llavac-kill-shuffle-");
    const s = slots(base);
    await hdf5Project(path.join(base, "src"));
    const made = await llavac(["data", "hdf5", "spec.llava", "--workers", "0"], path.join(base, "src"));
    expect(made.code, made.stderr).toBe(0);
    for (const d of s) mkdirSync(d, { recursive: true });
    const { events } = await killAndResume(
      {
        slots: s,
        args: ["data", "shuffle", path.join(base, "src/h5"), "--out", "shuffled", "--chunks", "4", "--seed", "3"],
        out: "shuffled",
      },
      10,
    );
    for (const e of ["shuffle:locked", "shuffle:spill", "h5:sample", "h5:closed", "h5:renamed", "shuffle:chunk", "atomic:written"])
      expect(events.has(e), e).toBe(true);
  }, 1_200_000);

  it("data prepare json2jsonl (a folder of three arrays): every jsonl equals the uninterrupted run's", async () => {
    const base = tempDir("llavac-kill-prepare-");
    const s = slots(base);
    for (const d of s) {
      for (const [f, n] of [
        ["alpha", 40],
        ["beta", 25],
        ["gamma", 35],
      ] as const) {
        const records = Array.from({ length: n }, (_, i) =>
          i % 9 === 4
            ? { id: `${f}-${i}`, conversations: "not a list" }
            : JSON.parse(sample(`${f}-${i}`, i % 2 ? `${f}/${i}.jpg` : undefined, `Question ${i} about ${f}?`, `Answer ${i}.`)),
        );
        mkdirSync(path.join(d, "raw"), { recursive: true });
        writeFileSync(path.join(d, "raw", `${f}.json`), JSON.stringify(records, null, 1));
      }
    }
    const { events } = await killAndResume(
      { slots: s, args: ["data", "prepare", "json2jsonl", "--input", "raw", "--out", "jsonl", "--image-prefix", "coco"], out: "jsonl" },
      11,
    );
    for (const e of ["prepare:locked", "prepare:record", "jsonl:closed", "jsonl:renamed", "prepare:closed"])
      expect(events.has(e), e).toBe(true);
  }, 1_200_000);
});
