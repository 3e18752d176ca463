// TensorBoard event files, written here so that every backend has them (tfjs-node's summaryFileWriter
// exists only on the native one, and no kept npm package writes the format). A file is TFRecord framing
// (uint64 length, masked CRC-32C of the length, the data, masked CRC-32C of the data) around `Event`
// protos: the first holds `file_version: "brain.Event:2"`, the others a `Summary` of `simple_value`
// scalars. The few proto fields used are encoded by hand below (field numbers from TensorFlow's
// event.proto and summary.proto).
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { writeFileAtomic } from "../util/atomic.js";

// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as TFRecord uses it.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits plus a constant, so a CRC of CRCs is not trivially 0. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, its masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/** The records of a TFRecord file, up to the first torn or corrupt one (a run killed mid-write). */
export function readTfRecords(buf: Uint8Array): { records: Uint8Array[]; intact: boolean } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: Uint8Array[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 12 > b.length || b.readUInt32LE(at + 8) !== maskedCrc32c(b.subarray(at, at + 8))) return { records, intact: false };
    const n = Number(b.readBigUInt64LE(at));
    if (at + 12 + n + 4 > b.length) return { records, intact: false };
    const data = b.subarray(at + 12, at + 12 + n);
    if (b.readUInt32LE(at + 12 + n) !== maskedCrc32c(data)) return { records, intact: false };
    records.push(data);
    at += 12 + n + 4;
  }
  return { records, intact: true };
}

// Protocol-buffer wire format: just what Event, Summary, Summary.Value and SessionLog need.
function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // int64 negatives are ten-byte varints
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: 0 | 1 | 2 | 5) => varint((field << 3) | wire);
const lengthDelimited = (field: number, bytes: Uint8Array) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const utf8 = (s: string) => new TextEncoder().encode(s);

/** Summary.Value { tag = 1; simple_value = 2 (float) }. */
function scalarValue(tag: string, value: number): number[] {
  const f = Buffer.alloc(4);
  f.writeFloatLE(value, 0);
  return lengthDelimited(1, Uint8Array.from([...lengthDelimited(1, utf8(tag)), ...key(2, 5), ...f]));
}

type EventBody = { file_version: string } | { scalars: Record<string, number> } | { session_start: true };

/** Event { wall_time = 1 (double); step = 2 (int64); file_version = 3 | summary = 5 | session_log = 7 }. */
export function encodeEvent(wallTime: number, step: number, body: EventBody): Uint8Array {
  const t = Buffer.alloc(8);
  t.writeDoubleLE(wallTime, 0);
  const out = [...key(1, 1), ...t];
  if (step !== 0) out.push(...key(2, 0), ...varint(step));
  if ("file_version" in body) out.push(...lengthDelimited(3, utf8(body.file_version)));
  else if ("scalars" in body)
    out.push(...lengthDelimited(5, Uint8Array.from(Object.entries(body.scalars).flatMap(([tag, v]) => scalarValue(tag, v)))));
  // SessionLog { status = 1: START = 1 }: TensorBoard drops what an earlier run logged at this step or later.
  else out.push(...lengthDelimited(7, Uint8Array.from([...key(1, 0), 1])));
  return Uint8Array.from(out);
}

/** An Event's step (field 2), skipping the other fields by their wire type. */
export function eventStep(data: Uint8Array): number {
  let at = 0;
  const readVarint = (): bigint => {
    let v = 0n,
      shift = 0n;
    for (;;) {
      const b = data[at++];
      if (b === undefined) throw new Error("truncated varint");
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (at < data.length) {
    const k = Number(readVarint());
    const field = k >>> 3,
      wire = k & 7;
    if (field === 2 && wire === 0) return Number(BigInt.asIntN(64, readVarint()));
    if (wire === 0) readVarint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const n = Number(readVarint()); // read before `at` is, as `at += read()` would add to the old `at`
      at += n;
    } else throw new Error(`wire type ${wire}`);
  }
  return 0;
}

const EVENTS = /^events\.out\.tfevents\.(\d+)\./;

/** The event files of a folder, in the order TensorBoard reads them (by name). */
export function eventFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => EVENTS.test(f) && !f.includes(".tmp-"))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Appends scalar summaries to a new event file in `dir`. A run that resumes after step `resumeStep`
 * first removes from the earlier files every event past that step (they were logged by a run killed
 * after its last checkpoint, and the resumed run logs those steps again), so no reader sees a step
 * twice; the new file's first scalar event also carries TensorBoard's own marker for a restart.
 */
export class EventFileWriter {
  readonly file: string;
  private fd: number;

  constructor(dir: string, resumeStep: number) {
    const existing = eventFiles(dir);
    for (const f of existing) dropEventsAfter(f, resumeStep);
    // A name that sorts after every earlier file, as TensorBoard reads a folder's files in name order.
    const last = existing.length ? Number(EVENTS.exec(path.basename(existing[existing.length - 1]!))![1]) : 0;
    const secs = Math.max(Math.floor(Date.now() / 1000), last + 1);
    this.file = path.join(
      dir,
      `events.out.tfevents.${String(secs).padStart(10, "0")}.${hostname().replace(/[^\w.-]/g, "_")}.${process.pid}.llavac`,
    );
    this.fd = openSync(this.file, "a");
    this.write(encodeEvent(Date.now() / 1000, 0, { file_version: "brain.Event:2" }));
    if (resumeStep > 0) this.write(encodeEvent(Date.now() / 1000, resumeStep + 1, { session_start: true }));
  }

  private write(event: Uint8Array): void {
    // One write per record: a killed run leaves whole records (a torn last one is dropped when read).
    writeSync(this.fd, tfRecord(event));
  }

  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    this.write(encodeEvent(wallTime, step, { scalars: values }));
  }

  /** Durable before a checkpoint names the step. */
  flush(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** Rewrite an event file without its events past `step` (and without a torn last record). */
function dropEventsAfter(file: string, step: number): void {
  const { records, intact } = readTfRecords(readFileSync(file));
  const kept = records.filter((r) => {
    try {
      return eventStep(r) <= step;
    } catch {
      return false;
    }
  });
  if (kept.length === records.length && intact) return;
  writeFileAtomic(file, Buffer.concat(kept.map((r) => tfRecord(r))));
}
