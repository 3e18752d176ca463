// `llavac data shuffle`: mix the samples of many HDF5 files into `data-00000.h5 …`, keeping each sample's
// rows and image path together (the Cerebras shuffler drops img_path unless given --multi_modal).
// Pass 1 sends every sample to a random chunk (spilled to disk as raw rows); pass 2 writes each chunk in
// a random order. Memory holds one block of samples, whatever the data size. Seeded: the same inputs
// and seed give the same bytes.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import { Random } from "../util/random.js";
import { h5Ready, openSampleFile, SampleFileWriter } from "./hdf5.js";
import { ROWS } from "./samples.js";
import { writeFileAtomic } from "../util/atomic.js";
import { killPoint } from "../util/kill-point.js";
import { lockFolder } from "../util/lock.js";
import { removeStaleTemporaries } from "./sources/sink.js";

export interface ShuffleOptions {
  input: string;
  out: string;
  chunks: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ShuffleResult {
  files: string[];
  samples: number;
  perChunk: number[];
}

export class ShuffleError extends Error {}

export function h5FilesIn(dir: string): string[] {
  if (!existsSync(dir)) throw new ShuffleError(`not found: ${dir}`);
  if (statSync(dir).isFile()) return [dir];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".h5")) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export async function shuffle(opts: ShuffleOptions): Promise<ShuffleResult> {
  await h5Ready();
  if (!Number.isInteger(opts.chunks) || opts.chunks < 1) throw new ShuffleError("--chunks must be a positive integer");
  const inputs = h5FilesIn(opts.input);
  if (inputs.length === 0) throw new ShuffleError(`no .h5 files in ${opts.input}`);
  if (path.resolve(opts.out) === path.resolve(opts.input)) throw new ShuffleError("the output folder must differ from the input folder");
  mkdirSync(opts.out, { recursive: true });
  const lock = lockFolder(opts.out, "llavac data shuffle");
  killPoint("shuffle:locked");
  try {
    return await shuffleLocked(opts, inputs);
  } finally {
    lock.release();
  }
}

async function shuffleLocked(opts: ShuffleOptions, inputs: string[]): Promise<ShuffleResult> {
  const spillDir = path.join(opts.out, ".llavac-shuffle");
  rmSync(spillDir, { recursive: true, force: true });
  // What a killed run left: a half-written output file, a data_params.json.tmp-<pid> (the lock says
  // that no other run is writing here).
  for (const f of readdirSync(opts.out)) if (f.endsWith(".h5.tmp")) rmSync(path.join(opts.out, f), { force: true });
  removeStaleTemporaries(opts.out);
  mkdirSync(spillDir, { recursive: true });

  let msl = -1;
  let total = 0;
  for (const f of inputs) {
    const s = openSampleFile(f);
    if (msl === -1) msl = s.msl;
    else if (s.msl !== msl) {
      s.close();
      throw new ShuffleError(`${f} has sequence length ${s.msl}, the others ${msl}`);
    }
    total += s.n;
    s.close();
  }
  const sampleBytes = ROWS * msl * 4;

  // Pass 1: each sample to a random chunk.
  const rng = new Random(opts.seed);
  const fds = Array.from({ length: opts.chunks }, (_, c) => openSync(path.join(spillDir, `${c}.bin`), "w"));
  const paths: (string | undefined)[][] = Array.from({ length: opts.chunks }, () => []);
  let done = 0;
  const BLOCK = 256;
  try {
    for (const f of inputs) {
      const s = openSampleFile(f);
      const ips = s.imagePaths();
      for (let start = 0; start < s.n; start += BLOCK) {
        const end = Math.min(s.n, start + BLOCK);
        const block = s.block(start, end);
        for (let i = start; i < end; i++) {
          const c = rng.int(opts.chunks);
          const row = block.subarray((i - start) * ROWS * msl, (i - start + 1) * ROWS * msl);
          writeSync(fds[c]!, new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
          paths[c]!.push(ips[i]);
        }
        done += end - start;
        opts.onProgress?.(done, 2 * total);
        killPoint("shuffle:spill");
      }
      s.close();
    }
  } finally {
    fds.forEach((fd) => closeSync(fd));
  }

  // Pass 2: each chunk in a random order.
  const files: string[] = [];
  const perChunk: number[] = [];
  const buf = new Uint8Array(sampleBytes);
  const rows = Array.from({ length: ROWS }, (_, r) => new Int32Array(buf.buffer, r * msl * 4, msl));
  for (let c = 0; c < opts.chunks; c++) {
    const n = paths[c]!.length;
    perChunk.push(n);
    const spill = path.join(spillDir, `${c}.bin`);
    if (n === 0) {
      rmSync(spill);
      continue;
    }
    const order = new Random(opts.seed + 1 + c).shuffle(Array.from({ length: n }, (_, i) => i));
    const name = path.join(opts.out, `data-${String(c).padStart(5, "0")}.h5`);
    const w = new SampleFileWriter(name, msl, n);
    const fd = openSync(spill, "r");
    try {
      for (const i of order) {
        readSync(fd, buf, 0, sampleBytes, i * sampleBytes);
        w.add(rows, paths[c]![i]);
        if (++done % BLOCK === 0) opts.onProgress?.(done, 2 * total);
      }
      w.close();
    } catch (err) {
      w.abort();
      throw err;
    } finally {
      closeSync(fd);
    }
    rmSync(spill);
    files.push(name);
    killPoint("shuffle:chunk");
  }
  rmSync(spillDir, { recursive: true, force: true });
  opts.onProgress?.(2 * total, 2 * total);

  // Keep the writer's data_params.json beside the shuffled files (the Cerebras shuffler drops it).
  const params = path.join(opts.input, "data_params.json");
  if (existsSync(params)) {
    const p = JSON.parse(readFileSync(params, "utf8")) as Record<string, unknown>;
    p.shuffle = {
      chunks: opts.chunks,
      seed: opts.seed,
      inputs: inputs.map((f) => path.relative(opts.input, f)),
      samples: total,
      files: files.map((f) => path.basename(f)),
    };
    writeFileAtomic(path.join(opts.out, "data_params.json"), JSON.stringify(p, null, 4) + "\n");
  }
  return { files, samples: total, perChunk };
}
