// The weights hand-off with the LLaVA repository: the parity fixture's projector written as mm_projector.bin
// by llavac is the file the real torch loaded into the repository's projector when the fixture was made
// (tools/oracles/mm-projector-fixture.ts), byte for byte; the real torch.save's files (float32, bfloat16)
// read back to the parity values; Cerebras names → mm_projector.bin → Cerebras names is the identity, from a
// llavac checkpoint too; a broken file is an error, not a crash.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkpointToMmProjector, fromMmProjector, readMmProjector, toMmProjector } from "../runtime/weights/llava-repo.js";
import { hfToCerebras } from "../runtime/weights/names.js";
import { f32Entry, openSafetensors, writeSafetensors } from "../runtime/weights/safetensors.js";
import { readTorchStateDict, torchSaveBytes, TorchFileError, type PlainTensor } from "../runtime/weights/torch-pickle.js";
import { tempDir } from "./data-helpers.js";
import { ROOT } from "./helpers.js";

const FIX = path.join(ROOT, "test/fixtures/llava-repo");
const summary = JSON.parse(readFileSync(path.join(FIX, "mm_projector.json"), "utf8")) as {
  llavac_file_loads: boolean;
  repository_projector_loads: boolean;
  tensors: Record<string, { shape: number[]; f32_sha256: string; bf16_sha256: string }>;
};

/** The parity fixture's projector under Cerebras names. */
function parityProjector(): Map<string, PlainTensor> {
  const f = openSafetensors(path.join(ROOT, "test/fixtures/parity/model.safetensors"));
  const out = new Map<string, PlainTensor>();
  for (const n of f.names()) {
    const m = hfToCerebras(n);
    if (m.kind === "param" && m.cs.startsWith("projector_image_model.")) out.set(m.cs, { shape: f.info(n)!.shape, values: f.float32(n) });
  }
  f.close();
  return out;
}
const sha = (v: Float32Array) =>
  createHash("sha256")
    .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    .digest("hex");
/** float32 → bfloat16 → float32, rounding to nearest even as torch does. */
function bf16(v: Float32Array): Float32Array {
  const u = new Uint32Array(Float32Array.from(v).buffer);
  for (let i = 0; i < u.length; i++) u[i] = ((u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(u.buffer);
}

describe("llava-repo weights: mm_projector.bin", () => {
  const cs = parityProjector();

  it("llavac writes the file the real torch loaded into the repository's projector, byte for byte", () => {
    expect(cs.size).toBe(4);
    const mm = toMmProjector(cs);
    expect([...mm.keys()]).toEqual([
      "model.mm_projector.0.bias",
      "model.mm_projector.0.weight",
      "model.mm_projector.2.bias",
      "model.mm_projector.2.weight",
    ]);
    expect(summary.llavac_file_loads && summary.repository_projector_loads).toBe(true);
    const bytes = torchSaveBytes(mm, "mm_projector");
    expect(Buffer.from(bytes).equals(readFileSync(path.join(FIX, "mm_projector.bin")))).toBe(true);
    for (const [k, t] of mm) {
      expect(t.shape, k).toEqual(summary.tensors[k]!.shape);
      expect(sha(t.values), k).toBe(summary.tensors[k]!.f32_sha256);
    }
  });

  it("reads what the real torch.save wrote, float32 and bfloat16", () => {
    for (const [file, key, round] of [
      ["torch-f32.bin", "f32_sha256", (v: Float32Array) => v],
      ["torch-bf16.bin", "bf16_sha256", bf16],
    ] as const) {
      const back = readMmProjector(readFileSync(path.join(FIX, file)));
      expect([...back.keys()].sort(), file).toEqual([...cs.keys()].sort());
      for (const [name, t] of back) {
        expect(t.shape, `${file} ${name}`).toEqual(cs.get(name)!.shape);
        expect(sha(t.values), `${file} ${name}`).toBe(sha(round(cs.get(name)!.values)));
        expect(sha(t.values)).toBe(summary.tensors[cerebrasKey(name)]![key]);
      }
    }
  });

  it("a llavac checkpoint → mm_projector.bin → Cerebras names is the identity; only projector tensors go", () => {
    const dir = tempDir("llavac-mmproj-");
    const ckpt = path.join(dir, "checkpoint.safetensors");
    const entries = new Map([...cs].map(([k, t]) => [k, f32Entry(t.shape, t.values)]));
    entries.set("text_model.lm_head.weight", f32Entry([2, 2], Float32Array.of(1, 2, 3, 4)));
    writeSafetensors(ckpt, entries);
    const out = path.join(dir, "mm_projector.bin");
    expect(checkpointToMmProjector(ckpt, out)).toHaveLength(4);
    const back = readMmProjector(readFileSync(out));
    expect([...back.keys()].sort()).toEqual([...cs.keys()].sort());
    for (const [k, t] of back) expect(sha(t.values), k).toBe(sha(cs.get(k)!.values));
    expect(() => fromMmProjector(new Map([["model.layers.0.mlp.up_proj.weight", cs.values().next().value!]]))).toThrow(
      /not an mm_projector tensor/,
    );
  });

  it("a truncated or foreign file is a TorchFileError", () => {
    const good = readFileSync(path.join(FIX, "torch-f32.bin"));
    expect(() => readTorchStateDict(good.subarray(0, 100))).toThrow(TorchFileError);
    expect(() => readTorchStateDict(new TextEncoder().encode("not a zip at all"))).toThrow(/not a zip/);
    expect(() => toMmProjector(new Map())).toThrow(/nothing to hand/);
  });
});

/** The repository's name of a Cerebras projector tensor (the summary is keyed by those). */
function cerebrasKey(cs: string): string {
  return [...toMmProjector(new Map([[cs, { shape: [1], values: new Float32Array(1) }]])).keys()][0]!;
}

describe("llava-repo weights: the command line", () => {
  it("weights from-llava-repo and to-llava-repo round-trip the real torch's file; a foreign file is exit 1", async () => {
    const { spawnSync } = await import("node:child_process");
    const dir = tempDir("llavac-mmproj-cli-");
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(ROOT, "bin/llavac.js"), "weights", ...args], { encoding: "utf8" });
    const st = path.join(dir, "projector.safetensors");
    expect(cli("from-llava-repo", path.join(FIX, "torch-f32.bin"), "-o", st).status).toBe(0);
    const bin = path.join(dir, "mm_projector.bin");
    expect(cli("to-llava-repo", st, "-o", bin).status).toBe(0);
    expect(Buffer.from(readFileSync(bin)).equals(Buffer.from(torchSaveBytes(toMmProjector(parityProjector()), "mm_projector")))).toBe(true);
    const bad = cli("from-llava-repo", path.join(ROOT, "README.md"), "-o", st);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("llavac weights from-llava-repo: not a zip file");
  });
});
