// HDF5 files in the exact layout the Cerebras LLaVA reader expects:
//   data      int32 (n, 4, MSL), chunks (1, 4, MSL), gzip   rows: input_ids, loss mask, labels, key-padding mask
//   img_path  fixed-length bytes |S<longest> (n, 1), gzip    the image path relative to the image root, or b"None"
//   attribute n_examples = n
// Written with h5wasm to a temporary name and renamed when complete.
import { closeSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { lastHdf5Error, quietHdf5 } from "./hdf5-quiet.js";
import h5wasm, { type Dataset, type File as H5File, type Filter } from "h5wasm/node";
import { OutputWriteError } from "../util/atomic.js";
import { killPoint } from "../util/kill-point.js";
import { ROWS } from "./samples.js";

export const GZIP_LEVEL = 4; // h5py's default for compression="gzip", which the Cerebras writer uses

let ready: Promise<unknown> | undefined;
export function h5Ready(): Promise<unknown> {
  ready ??= h5wasm.ready.then((m) => {
    quietHdf5((m as unknown as { FS: Parameters<typeof quietHdf5>[0] }).FS);
    return m;
  });
  return ready;
}

/**
 * Run `fn` with HDF5's clock pinned. HDF5 stamps object headers with the current time; a fixed clock
 * (SOURCE_DATE_EPOCH, or the epoch) makes the same samples give byte-identical files.
 */
export function withFixedClock<T>(fn: () => T): T {
  const real = Date.now;
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000;
  Date.now = () => epoch;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

const enc = new TextEncoder();

/** Streams samples into one examples file; memory holds one block of samples, not the file. */
export class SampleFileWriter {
  private readonly tmp: string;
  private readonly file: H5File;
  private dataset: Dataset | undefined;
  private readonly block: Int32Array;
  private inBlock = 0;
  private written = 0;
  private readonly paths: string[] = [];

  /** `capacity` bounds the file (its maxshape): a full file then has a fixed shape, as h5py writes it. */
  constructor(
    readonly path: string,
    readonly msl: number,
    private readonly capacity: number,
    private readonly blockSize = 128,
  ) {
    this.tmp = `${path}.tmp`;
    rmSync(this.tmp, { force: true });
    this.file = withFixedClock(() => new h5wasm.File(this.tmp, "w"));
    this.block = new Int32Array(blockSize * ROWS * msl);
  }

  get count(): number {
    return this.written + this.inBlock;
  }

  /** Add one sample: its four rows (each MSL long) and its image path (undefined for text-only). */
  add(rows: readonly Int32Array[], imagePath: string | undefined): void {
    if (this.count >= this.capacity) throw new Error(`${this.path}: more than ${this.capacity} samples`);
    const base = this.inBlock * ROWS * this.msl;
    for (let r = 0; r < ROWS; r++) this.block.set(rows[r]!, base + r * this.msl);
    this.paths.push(imagePath ?? "None");
    this.inBlock++;
    if (this.inBlock === this.blockSize) this.flush();
    killPoint("h5:sample");
  }

  private flush(): void {
    if (this.inBlock === 0) return;
    const k = this.inBlock;
    withFixedClock(() => {
      if (!this.dataset) {
        this.dataset = this.file.create_dataset({
          name: "data",
          data: new Int32Array(0),
          shape: [0, ROWS, this.msl],
          maxshape: [this.capacity, ROWS, this.msl],
          dtype: "<i4",
          chunks: [1, ROWS, this.msl],
          compression: "gzip",
          compression_opts: GZIP_LEVEL,
        });
      }
      this.dataset.resize([this.written + k, ROWS, this.msl]);
      this.dataset.write_slice(
        [[this.written, this.written + k]],
        k === this.blockSize ? this.block : this.block.subarray(0, k * ROWS * this.msl),
      );
    });
    this.written += k;
    this.inBlock = 0;
  }

  /** Finish the file and rename it into place. */
  close(): void {
    this.flush();
    const n = this.written;
    const longest = Math.max(1, ...this.paths.map((p) => enc.encode(p).length));
    withFixedClock(() => {
      this.file.create_dataset({
        name: "img_path",
        data: this.paths,
        shape: [n, 1],
        dtype: `S${longest}`,
        chunks: [Math.max(1, Math.min(n, 4096)), 1],
        compression: "gzip",
        compression_opts: GZIP_LEVEL,
      });
      this.file.create_attribute("n_examples", n);
      this.file.close();
    });
    killPoint("h5:closed");
    // h5wasm does not report failed writes (a full disk, a size limit): the HDF5 library only logs them.
    // So the file is read back before it takes its final name; a short or unreadable one never does.
    const why = notHdf5(this.tmp) ?? readBackProblem(this.tmp, n);
    if (why) {
      rmSync(this.tmp, { force: true });
      throw new OutputWriteError(this.path, `the file was not written completely (${why}); is the disk full?`);
    }
    renameSync(this.tmp, this.path);
    killPoint("h5:renamed");
  }

  abort(): void {
    try {
      this.file.close();
    } catch {
      /* already closed */
    }
    rmSync(this.tmp, { force: true });
  }
}

export interface DtypeInfo {
  /** "int", "float", "string" (fixed- or variable-length), or "missing". */
  kind: string;
  size: number;
  signed: boolean;
  vlen: boolean;
}

function dtypeInfo(d: Dataset | null): DtypeInfo {
  if (!d) return { kind: "missing", size: 0, signed: false, vlen: false };
  const m = d.metadata as { type: number; size: number; signed?: boolean; vlen?: boolean };
  const kind = m.type === 0 ? "int" : m.type === 1 ? "float" : m.type === 3 ? "string" : `type ${m.type}`;
  return { kind, size: m.size, signed: m.signed ?? false, vlen: m.vlen ?? false };
}

export interface SampleFile {
  path: string;
  n: number;
  msl: number;
  /** The four rows of sample i. */
  rows(i: number): Int32Array[];
  /** Rows of samples [start, end) as one array (n, 4, MSL), for bulk reads. */
  block(start: number, end: number): Int32Array;
  imagePath(i: number): string | undefined;
  imagePaths(): (string | undefined)[];
  info(): {
    dtype: DtypeInfo;
    shape: number[] | null;
    chunks: number[] | null;
    filters: string[];
    pathDtype: DtypeInfo;
    pathShape: number[] | null;
    nExamples: unknown;
    datasets: string[];
  };
  close(): void;
}

const dec = new TextDecoder();

function decodePath(v: unknown): string | undefined {
  const s =
    typeof v === "string" ? v : v instanceof Uint8Array ? dec.decode(v) : Array.isArray(v) ? (decodePath(v[0]) ?? "None") : String(v);
  const trimmed = s.replace(/\0+$/, "");
  return trimmed === "None" ? undefined : trimmed;
}

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Why a file cannot be read as HDF5 (empty, no signature, shorter than its superblock says), or undefined.
 * Checked before h5wasm opens it, so that the common faults get a plain reason (the HDF5 library's own
 * error stack goes to stderr unasked). The signature may sit at 0, 512, 1024, ...
 */
export function notHdf5(file: string): string | undefined {
  const size = statSync(file).size;
  if (size === 0) return "the file is empty";
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(96);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      const n = readSync(fd, head, 0, head.length, at);
      if (n < 8 || !head.subarray(0, 8).equals(SIGNATURE)) continue;
      const eof = storedEof(head.subarray(0, n));
      if (eof !== undefined && at + eof > size) return `truncated: ${size} bytes, the HDF5 superblock says ${at + eof}`;
      return undefined;
    }
  } finally {
    closeSync(fd);
  }
  return "not an HDF5 file (no HDF5 signature)";
}

/** The end-of-file address a superblock records (versions 0–3), relative to its base. */
function storedEof(sb: Buffer): number | undefined {
  const version = sb[8];
  const offsets = version === 0 || version === 1 ? sb[13] : sb[9];
  if (offsets !== 8 && offsets !== 4) return undefined;
  // v0/v1: fixed fields, then base, free-space, EOF; v1 adds 4 bytes (indexed storage K + reserved).
  // v2/v3: flags at 11, then base, extension, EOF.
  const at = version === 0 ? 24 + 2 * offsets : version === 1 ? 28 + 2 * offsets : version === 2 || version === 3 ? 12 + 2 * offsets : -1;
  if (at < 0 || at + offsets > sb.length) return undefined;
  const v = offsets === 8 ? Number(sb.readBigUInt64LE(at)) : sb.readUInt32LE(at);
  return v === 2 ** 64 - 1 ? undefined : v;
}

/** Whether a just-written file holds what was written: `data` with n rows and n_examples = n. */
function readBackProblem(file: string, n: number): string | undefined {
  try {
    const f = new h5wasm.File(file, "r");
    try {
      const data = f.get("data") as Dataset | null;
      const nEx = Number(f.attrs["n_examples"]?.value);
      if (!data || data.shape?.[0] !== n || nEx !== n) return `reads back ${data?.shape?.[0] ?? "no"} samples, n_examples ${nEx}, of ${n}`;
      if (n > 0) data.slice([[n - 1, n]]);
      return undefined;
    } finally {
      f.close();
    }
  } catch (err) {
    return lastHdf5Error() ?? (err as Error).message;
  }
}

/** An HDF5 file that h5wasm could not open or read, with HDF5's own reason. */
export class Hdf5ReadError extends Error {}

export function openSampleFile(path: string): SampleFile {
  const why = notHdf5(path);
  if (why) throw new Hdf5ReadError(`${path}: ${why}`);
  let f: H5File;
  try {
    f = new h5wasm.File(path, "r");
    f.keys();
  } catch (err) {
    throw new Hdf5ReadError(`${path}: cannot be read as HDF5 (${lastHdf5Error() ?? (err as Error).message}); it may be truncated`);
  }
  const data = f.get("data") as Dataset | null;
  const img = f.get("img_path") as Dataset | null;
  const shape = data?.shape ?? null;
  const n = shape?.[0] ?? 0;
  const msl = shape?.[2] ?? 0;
  let paths: (string | undefined)[] | undefined;
  const allPaths = () => {
    if (!paths) {
      const v = img?.value;
      paths = Array.isArray(v) ? v.map(decodePath) : [];
    }
    return paths;
  };
  return {
    path,
    n,
    msl,
    rows(i) {
      const flat = data!.slice([[i, i + 1]]) as Int32Array;
      return Array.from({ length: ROWS }, (_, r) => flat.subarray(r * msl, (r + 1) * msl));
    },
    block(start, end) {
      return data!.slice([[start, end]]) as Int32Array;
    },
    imagePath: (i) => allPaths()[i],
    imagePaths: allPaths,
    info() {
      const meta = data?.metadata as { chunks?: number[] | null } | undefined;
      return {
        dtype: dtypeInfo(data),
        shape,
        chunks: meta?.chunks ?? null,
        filters: (data?.filters ?? []).map((x: Filter) => x.name),
        pathDtype: dtypeInfo(img),
        pathShape: img?.shape ?? null,
        nExamples: f.attrs["n_examples"]?.value,
        datasets: f.keys(),
      };
    },
    close: () => f.close(),
  };
}
