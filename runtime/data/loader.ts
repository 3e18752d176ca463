// The training data loader: requests go to a worker thread that reads HDF5 rows and prepares images
// (sharp) while the training thread computes; answers come back in request order. `inline` reads in
// this thread instead (tests, and when the bundled worker is absent).
import { existsSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { packageRoot } from "../util/package-root.js";
import type { LoaderSource, RawSamples, SampleReader } from "./loader-core.js";
import { LoaderError } from "./samples.js";

export interface LoaderInfo {
  samples: number;
  msl: number;
  files: string[];
}

export interface SampleLoader {
  readonly info: LoaderInfo;
  read(indices: number[]): Promise<RawSamples>;
  close(): Promise<void>;
}

class InlineLoader implements SampleLoader {
  constructor(
    private readonly reader: SampleReader,
    readonly info: LoaderInfo,
  ) {}
  read(indices: number[]): Promise<RawSamples> {
    return this.reader.read(indices);
  }
  async close(): Promise<void> {
    this.reader.close();
  }
}

type Reply =
  | { type: "open"; info: LoaderInfo }
  | { type: "samples"; id: number; samples: RawSamples }
  | { type: "error"; id: number; message: string };

class ThreadLoader implements SampleLoader {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (s: RawSamples) => void; reject: (e: Error) => void }>();
  private failed?: Error;

  private constructor(
    private readonly worker: Worker,
    readonly info: LoaderInfo,
  ) {
    worker.on("message", (m: Reply) => {
      if (m.type === "open") return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.type === "samples") w.resolve(m.samples);
      else w.reject(new LoaderError(m.message));
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (code !== 0) fail(new LoaderError(`the data loader thread exited with code ${code}`));
    });
  }

  static open(file: string, source: LoaderSource): Promise<ThreadLoader> {
    const worker = new Worker(file, { workerData: source });
    return new Promise((resolve, reject) => {
      const onFirst = (m: Reply) => {
        worker.off("message", onFirst);
        if (m.type === "open") resolve(new ThreadLoader(worker, m.info));
        else {
          void worker.terminate();
          reject(new LoaderError((m as { message: string }).message));
        }
      };
      worker.on("message", onFirst);
      worker.once("error", reject);
    });
  }

  read(indices: number[]): Promise<RawSamples> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: "read", id, indices });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

export async function openLoader(source: LoaderSource, opts: { inline?: boolean } = {}): Promise<SampleLoader> {
  const file = path.join(packageRoot(), "dist", "loader-worker.js");
  if (!opts.inline && existsSync(file)) return ThreadLoader.open(file, source);
  // Only here does this thread load the reader (and with it the HDF5 library and sharp).
  const { SampleReader } = await import("./loader-core.js");
  const reader = new SampleReader(source);
  const info = await reader.open();
  return new InlineLoader(reader, info);
}
