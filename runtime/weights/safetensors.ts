// The safetensors format, read and written exactly: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the raw
// little-endian tensor bytes. No maintained npm package reads and writes it, so it lives here.
import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync, fstatSync } from "node:fs";
import path from "node:path";

export type Dtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const BYTES: Record<Dtype, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  /** Raw little-endian bytes. */
  data: Uint8Array;
}

export class SafetensorsError extends Error {}

interface HeaderEntry {
  dtype: Dtype;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  names(): string[];
  info(name: string): { dtype: Dtype; shape: number[] } | undefined;
  /** A tensor's raw bytes. */
  raw(name: string): TensorEntry;
  /** A floating-point tensor widened to float32 (F32, F16, BF16, F64). */
  float32(name: string): Float32Array;
  close(): void;
}

/** Open a .safetensors file and read its header; tensors are read on demand. */
export function openSafetensors(file: string): SafetensorsFile {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new SafetensorsError(`${file}: too short for a safetensors file`);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > size - 8 || headerLen > 100 * 1024 * 1024)
      throw new SafetensorsError(`${file}: header length ${headerLen} does not fit the file (${size} bytes)`);
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString("utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new SafetensorsError(`${file}: the header is not JSON (${(err as Error).message})`);
    }
    const base = 8 + headerLen;
    const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
    const entries = new Map<string, HeaderEntry>();
    for (const [name, v] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const e = v as HeaderEntry;
      if (!(e.dtype in BYTES)) throw new SafetensorsError(`${file}: ${name} has an unsupported dtype ${e.dtype}`);
      const n = e.shape.reduce((a, b) => a * b, 1) * BYTES[e.dtype];
      const [b0, b1] = e.data_offsets;
      if (b1 - b0 !== n || base + b1 > size)
        throw new SafetensorsError(`${file}: ${name}'s offsets [${b0}, ${b1}) do not match its shape [${e.shape}] ${e.dtype}`);
      entries.set(name, e);
    }
    let closed = false;
    const raw = (name: string): TensorEntry => {
      const e = entries.get(name);
      if (!e) throw new SafetensorsError(`${file}: no tensor ${name}`);
      const data = new Uint8Array(e.data_offsets[1] - e.data_offsets[0]);
      readSync(fd, data, 0, data.length, base + e.data_offsets[0]);
      return { dtype: e.dtype, shape: e.shape, data };
    };
    return {
      metadata,
      names: () => [...entries.keys()],
      info: (name) => {
        const e = entries.get(name);
        return e ? { dtype: e.dtype, shape: e.shape } : undefined;
      },
      raw,
      float32: (name) => toFloat32(raw(name), `${file}: ${name}`),
      close: () => {
        if (!closed) closeSync(fd);
        closed = true;
      },
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  return new Float32Array(out.buffer);
}

function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] =
      exp === 0
        ? sign * 2 ** -14 * (frac / 1024)
        : exp === 31
          ? frac
            ? NaN
            : sign * Infinity
          : sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return out;
}

/** Copy into an aligned buffer (tensor bytes in a file need not be aligned for typed-array views). */
function aligned(data: Uint8Array): ArrayBuffer {
  return data.slice().buffer;
}

export function toFloat32(t: TensorEntry, what = "tensor"): Float32Array {
  switch (t.dtype) {
    case "F32":
      return new Float32Array(aligned(t.data));
    case "BF16":
      return bf16ToF32(new Uint16Array(aligned(t.data)));
    case "F16":
      return f16ToF32(new Uint16Array(aligned(t.data)));
    case "F64":
      return Float32Array.from(new Float64Array(aligned(t.data)));
    default:
      throw new SafetensorsError(`${what} is ${t.dtype}, not a floating-point tensor`);
  }
}

export function f32Entry(shape: number[], values: Float32Array): TensorEntry {
  return { dtype: "F32", shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/**
 * Write tensors (sorted by name, as the reference implementation does) atomically: into a temporary
 * file beside the target, flushed, then renamed over it.
 */
export function writeSafetensors(file: string, tensors: ReadonlyMap<string, TensorEntry>, metadata: Record<string, string> = {}): void {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const n = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    if (n !== t.data.byteLength) throw new SafetensorsError(`${name}: ${t.data.byteLength} bytes for shape [${t.shape}] ${t.dtype}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  // Pad the header with spaces so the data starts 8-byte aligned.
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    for (const name of names) {
      const d = tensors.get(name)!.data;
      let done = 0;
      while (done < d.byteLength) done += writeSync(fd, d, done, d.byteLength - done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
