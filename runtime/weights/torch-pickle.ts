// PyTorch's `torch.save` format for a state dict of tensors, exactly as much of it as the LLaVA repository's
// hand-off needs: its phase 1 saves the projector as `mm_projector.bin` (torch.save of {name: tensor}) and
// its phase 2 loads one with torch.load. The file is a zip (stored entries) holding `<archive>/data.pkl`
// (a pickle, protocol 2, of an OrderedDict whose tensors are torch._utils._rebuild_tensor_v2 calls over
// persistent storages), `<archive>/data/<key>` (each storage's little-endian bytes), `byteorder` and `version`.
// The writer emits only globals torch.load(weights_only=True) allows; the reader runs a small pickle
// machine over the opcodes torch.save produces (protocols 2–4) and refuses anything else.
import { inflateRawSync } from "node:zlib";
import { writeFileAtomic } from "../util/atomic.js";

export class TorchFileError extends Error {}

export interface PlainTensor {
  shape: number[];
  values: Float32Array;
}

// ---- zip (stored entries; deflated ones are read too) ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip of stored entries, each entry's data aligned to 64 bytes (as torch aligns them, for mmap). */
function zipStored(entries: { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const crc = crc32(e.data);
    // The extra field pads the local header so the data starts on a 64-byte boundary.
    const base = offset + 30 + name.length;
    const pad = (64 - ((base + 4) % 64)) % 64;
    const extra = new Uint8Array(4 + pad);
    new DataView(extra.buffer).setUint16(0, 0x4346, true); // an id of no meaning to readers ("FB" padding)
    new DataView(extra.buffer).setUint16(2, pad, true);
    const local = new Uint8Array(30);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, e.data.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extra.length, true);
    const cd = new Uint8Array(46);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, e.data.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.push(cd, name);
    parts.push(local, name, extra, e.data);
    offset += 30 + name.length + extra.length + e.data.length;
  }
  const cdSize = central.reduce((a, p) => a + p.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function unzip(buf: Uint8Array): Map<string, Uint8Array> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--)
    if (v.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new TorchFileError("not a zip file (torch.save's format since PyTorch 1.6)");
  let count = v.getUint16(eocd + 10, true);
  let at = v.getUint32(eocd + 16, true);
  // ZIP64 (files over 4 GiB, or torch's own writer): the real numbers are in the ZIP64 end record.
  if (count === 0xffff || at === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || v.getUint32(loc, true) !== 0x07064b50) throw new TorchFileError("a ZIP64 file without its locator");
    const rec = Number(v.getBigUint64(loc + 8, true));
    count = Number(v.getBigUint64(rec + 32, true));
    at = Number(v.getBigUint64(rec + 48, true));
  }
  const files = new Map<string, Uint8Array>();
  for (let n = 0; n < count; n++) {
    if (v.getUint32(at, true) !== 0x02014b50) throw new TorchFileError("a broken zip directory");
    const method = v.getUint16(at + 10, true);
    let csize = v.getUint32(at + 20, true);
    const nameLen = v.getUint16(at + 28, true),
      extraLen = v.getUint16(at + 30, true),
      commentLen = v.getUint16(at + 32, true);
    let local = v.getUint32(at + 42, true);
    const name = new TextDecoder().decode(buf.subarray(at + 46, at + 46 + nameLen));
    // ZIP64 extra field: sizes and offset that did not fit.
    for (let x = at + 46 + nameLen; x < at + 46 + nameLen + extraLen; ) {
      const id = v.getUint16(x, true),
        len = v.getUint16(x + 2, true);
      if (id === 0x0001) {
        let y = x + 4;
        if (v.getUint32(at + 24, true) === 0xffffffff) y += 8;
        if (csize === 0xffffffff) {
          csize = Number(v.getBigUint64(y, true));
          y += 8;
        }
        if (local === 0xffffffff) local = Number(v.getBigUint64(y, true));
      }
      x += 4 + len;
    }
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    const raw = buf.subarray(start, start + csize);
    files.set(name, method === 0 ? raw : method === 8 ? new Uint8Array(inflateRawSync(raw)) : fail(`${name}: zip method ${method}`));
    at += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

function fail(why: string): never {
  throw new TorchFileError(why);
}

// ---- pickle ----

class Pickle {
  private parts: number[] = [];
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, (b.length >>> 24) & 0xff); // BINUNICODE
    for (const x of b) this.parts.push(x);
    return this;
  }
  global(module: string, name: string): this {
    this.op(0x63); // GLOBAL
    for (const x of new TextEncoder().encode(`${module}\n${name}\n`)) this.parts.push(x);
    return this;
  }
  int(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new TorchFileError(`${n}: not a size`);
    if (n < 256) return this.op(0x4b, n); // BININT1
    if (n < 65536) return this.op(0x4d, n & 0xff, n >> 8); // BININT2
    return this.op(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24); // BININT
  }
  ints(xs: number[]): this {
    this.op(0x28); // MARK
    for (const x of xs) this.int(x);
    return this.op(0x74); // TUPLE
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** `torch.save(state_dict)` of float32 tensors (PyTorch reads it with torch.load, weights_only or not). */
export function torchSaveBytes(tensors: ReadonlyMap<string, PlainTensor>, archive = "archive"): Uint8Array {
  const p = new Pickle().op(0x80, 2); // PROTO 2
  p.global("collections", "OrderedDict").op(0x29, 0x52); // () REDUCE
  p.op(0x28); // MARK: the items
  const storages: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.values.length) throw new TorchFileError(`${name}: shape [${t.shape}] holds ${numel} values, not ${t.values.length}`);
    const key = String(storages.length);
    storages.push(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    p.str(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op(0x28); // MARK: the arguments
    p.op(0x28).str("storage").global("torch", "FloatStorage").str(key).str("cpu").int(numel).op(0x74, 0x51); // (…) TUPLE BINPERSID
    p.int(0).ints(t.shape).ints(stride).op(0x89); // offset, size, stride, requires_grad False
    p.global("collections", "OrderedDict").op(0x29, 0x52); // backward hooks: OrderedDict()
    p.op(0x74, 0x52); // TUPLE REDUCE
  }
  p.op(0x75, 0x2e); // SETITEMS STOP
  return zipStored([
    { name: `${archive}/data.pkl`, data: p.bytes() },
    { name: `${archive}/byteorder`, data: new TextEncoder().encode("little") },
    ...storages.map((data, i) => ({ name: `${archive}/data/${i}`, data })),
    { name: `${archive}/version`, data: new TextEncoder().encode("3\n") },
  ]);
}

export function writeTorchStateDict(file: string, tensors: ReadonlyMap<string, PlainTensor>): void {
  const archive = (file.split(/[\\/]/).pop() ?? "archive").replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_]/g, "_") || "archive";
  writeFileAtomic(file, torchSaveBytes(tensors, archive));
}

type PyValue = unknown;
interface Global {
  global: string;
}
interface StorageRef {
  storage: string;
  dtype: string;
  numel: number;
}
interface TensorRef {
  tensor: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}
const isGlobal = (x: PyValue): x is Global => typeof x === "object" && x !== null && "global" in x;

/** Runs the pickle of a torch.save'd state dict; tensors come back as references into their storages. */
function unpickle(b: Uint8Array): PyValue {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  const td = new TextDecoder();
  let i = 0;
  const popMark = () => {
    const m = marks.pop() ?? fail("pickle: MARK expected");
    return stack.splice(m);
  };
  const reduce = (fn: PyValue, args: PyValue[]): PyValue => {
    if (!isGlobal(fn)) fail("pickle: a call of something that is not a global");
    if (fn.global === "collections.OrderedDict" || fn.global === "builtins.dict") return new Map();
    if (fn.global === "torch._utils._rebuild_tensor_v2" || fn.global === "torch._utils._rebuild_tensor") {
      const [storage, offset, size, stride] = args as [StorageRef, number, number[], number[]];
      return { tensor: storage, offset, size, stride } satisfies TensorRef;
    }
    return fail(`pickle: ${fn.global} is not part of a state dict of tensors`);
  };
  for (;;) {
    if (i >= b.length) fail("pickle: no STOP");
    const op = b[i++]!;
    switch (op) {
      case 0x80: // PROTO
        i++;
        break;
      case 0x95: // FRAME
        i += 8;
        break;
      case 0x63: {
        // GLOBAL
        const nl1 = b.indexOf(0x0a, i),
          nl2 = b.indexOf(0x0a, nl1 + 1);
        stack.push({ global: `${td.decode(b.subarray(i, nl1))}.${td.decode(b.subarray(nl1 + 1, nl2))}` });
        i = nl2 + 1;
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = stack.pop() as string,
          module = stack.pop() as string;
        stack.push({ global: `${module}.${name}` });
        break;
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x85:
      case 0x86:
      case 0x87: // TUPLE1..3
        stack.push(stack.splice(stack.length - (op - 0x84)));
        break;
      case 0x61: // APPEND
        (stack[stack.length - 2] as PyValue[]).push(stack.pop());
        break;
      case 0x65: {
        // APPENDS
        const items = popMark();
        (stack[stack.length - 1] as PyValue[]).push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = stack.pop(),
          key = stack.pop();
        (stack[stack.length - 1] as Map<PyValue, PyValue>).set(key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = stack[stack.length - 1] as Map<PyValue, PyValue>;
        for (let k = 0; k < items.length; k += 2) d.set(items[k], items[k + 1]);
        break;
      }
      case 0x58: {
        // BINUNICODE
        const n = v.getUint32(i, true);
        stack.push(td.decode(b.subarray(i + 4, i + 4 + n)));
        i += 4 + n;
        break;
      }
      case 0x8c: {
        // SHORT_BINUNICODE
        const n = b[i]!;
        stack.push(td.decode(b.subarray(i + 1, i + 1 + n)));
        i += 1 + n;
        break;
      }
      case 0x55: {
        // SHORT_BINSTRING
        const n = b[i]!;
        stack.push(td.decode(b.subarray(i + 1, i + 1 + n)));
        i += 1 + n;
        break;
      }
      case 0x4a: // BININT
        stack.push(v.getInt32(i, true));
        i += 4;
        break;
      case 0x4b: // BININT1
        stack.push(b[i++]);
        break;
      case 0x4d: // BININT2
        stack.push(v.getUint16(i, true));
        i += 2;
        break;
      case 0x8a: {
        // LONG1
        const n = b[i++]!;
        let x = 0n;
        for (let k = n - 1; k >= 0; k--) x = (x << 8n) | BigInt(b[i + k]!);
        if (n > 0 && b[i + n - 1]! & 0x80) x -= 1n << BigInt(8 * n);
        stack.push(Number(x));
        i += n;
        break;
      }
      case 0x47: // BINFLOAT
        stack.push(v.getFloat64(i, false));
        i += 8;
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x71: // BINPUT
        memo.set(b[i++]!, stack[stack.length - 1]);
        break;
      case 0x72: // LONG_BINPUT
        memo.set(v.getUint32(i, true), stack[stack.length - 1]);
        i += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, stack[stack.length - 1]);
        break;
      case 0x68: // BINGET
        stack.push(memo.get(b[i++]!));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memo.get(v.getUint32(i, true)));
        i += 4;
        break;
      case 0x51: {
        // BINPERSID: ('storage', <dtype global>, key, location, numel)
        const pid = stack.pop() as PyValue[];
        if (!Array.isArray(pid) || pid[0] !== "storage" || !isGlobal(pid[1])) fail("pickle: a persistent id that is not a storage");
        stack.push({ storage: String(pid[2]), dtype: (pid[1] as Global).global, numel: Number(pid[4]) } satisfies StorageRef);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = stack.pop() as PyValue[];
        stack.push(reduce(stack.pop(), args));
        break;
      }
      case 0x62: // BUILD: a state dict's `_metadata` attribute; tensors need none
        stack.pop();
        break;
      case 0x2e: // STOP
        return stack.pop();
      default:
        fail(`pickle: opcode 0x${op.toString(16)} is not one torch.save writes for a state dict`);
    }
  }
}

/** Little-endian storage bytes of a dtype → float32. */
function toF32(dtype: string, bytes: Uint8Array, numel: number): Float32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(numel);
  const u32 = new Uint32Array(1),
    f32 = new Float32Array(u32.buffer);
  for (let k = 0; k < numel; k++) {
    if (dtype === "torch.FloatStorage") out[k] = v.getFloat32(4 * k, true);
    else if (dtype === "torch.BFloat16Storage") {
      u32[0] = v.getUint16(2 * k, true) << 16;
      out[k] = f32[0]!;
    } else if (dtype === "torch.HalfStorage") {
      const h = v.getUint16(2 * k, true);
      const e = (h >> 10) & 0x1f,
        m = h & 0x3ff,
        s = h & 0x8000 ? -1 : 1;
      out[k] = s * (e === 0 ? m * 2 ** -24 : e === 31 ? (m ? Number.NaN : Number.POSITIVE_INFINITY) : (1 + m / 1024) * 2 ** (e - 15));
    } else if (dtype === "torch.DoubleStorage") out[k] = v.getFloat64(8 * k, true);
    else fail(`${dtype}: not a floating-point storage`);
  }
  return out;
}

/** torch.load of a state dict of floating-point tensors (float32, bfloat16, float16, float64), as float32. */
export function readTorchStateDict(buf: Uint8Array): Map<string, PlainTensor> {
  const files = unzip(buf);
  const pkl = [...files.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? fail("no <archive>/data.pkl: not a torch.save file");
  const archive = pkl.slice(0, pkl.indexOf("/"));
  const root = unpickle(files.get(pkl)!);
  if (!(root instanceof Map)) fail("the file holds no state dict (a dict of tensors)");
  const out = new Map<string, PlainTensor>();
  for (const [name, t] of root as Map<string, TensorRef>) {
    if (typeof name !== "string" || !t || typeof t !== "object" || !("tensor" in t)) fail(`${String(name)}: not a tensor`);
    const bytes = files.get(`${archive}/data/${t.tensor.storage}`) ?? fail(`${name}: storage ${t.tensor.storage} is missing`);
    const all = toF32(t.tensor.dtype, bytes, t.tensor.numel);
    const numel = t.size.reduce((a, b) => a * b, 1);
    const contiguous = t.size.every((_, k) => t.size[k] === 1 || t.stride[k] === t.size.slice(k + 1).reduce((a, b) => a * b, 1));
    if (!contiguous) fail(`${name}: a non-contiguous tensor (stride ${t.stride})`);
    out.set(name, { shape: [...t.size], values: all.slice(t.offset, t.offset + numel) });
  }
  return out;
}
