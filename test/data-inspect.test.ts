// `llavac data inspect --spec … --tensor FILE.safetensors --html FILE`: the sample's features are exactly
// what the training loader yields for it (read back with llavac's reader and with numpy), and the HTML
// shows the image the model is given, after the spec's transforms.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { blankImage, prepareImage, type ImageTransform } from "../runtime/data/images.js";
import { openLoader } from "../runtime/data/loader.js";
import { openSafetensors } from "../runtime/weights/safetensors.js";
import { sample, tempDir, writeImage, writeLines } from "./data-helpers.js";
import { ROOT } from "./helpers.js";
import { oraclePython } from "./oracle-python.js";

const BIN = path.join(ROOT, "bin/llavac.js");
const llavac = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

// tiny_vit's clip_pad_32, as std/transforms states it.
const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
const GEOMETRY: ImageTransform[] = [
  { kind: "expand_to_square", background: [122, 116, 104] },
  { kind: "resize", size: 32, interpolation: "bicubic" },
  { kind: "center_crop", size: 32 },
];
const TRANSFORMS: ImageTransform[] = [...GEOMETRY, { kind: "to_tensor" }, { kind: "normalize", mean: CLIP_MEAN, std: CLIP_STD }];
const SHAPE: [number, number, number] = [3, 32, 32];

let dir: string;

beforeAll(async () => {
  dir = tempDir("llavac-inspect-");
  await writeImage(path.join(dir, "images/small.jpg"), "#3366cc"); // 16×12: padded, then enlarged
  // 60×40 with a gradient: padded, then shrunk.
  const w = 60,
    h = 40;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set([(x * 4) % 256, (y * 6) % 256, (x * y) % 256], (y * w + x) * 3);
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(path.join(dir, "images/grad.png"));
  writeLines(path.join(dir, "jsonl/a.jsonl"), [
    sample("s0", "small.jpg", "What colour is this?", "Blue."),
    sample("s1", undefined, "Say hello.", "Hello."),
    sample("s2", "grad.png", "Describe the picture.", "A gradient."),
  ]);
  writeFileSync(
    path.join(dir, "spec.llava"),
    `import { tiny_vit } from "std/vision"
import { tiny_llama } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { vicuna_v1 } from "std/templates"
model m { vision = tiny_vit, projector = mlp2x_gelu, language = tiny_llama { max_position_embeddings: 128 } }
dataset d { format: llava_jsonl, samples: 3, jsonl: "jsonl" }
phase tune { model = m, data = d, template = vicuna_v1, images = "images", hdf5 = "h5",
  preprocess = hdf5_writer { output: "h5" },
  freeze = [/^image_model/], batch = 1 per step, optimizer = adamw { lr: 1e-3 }, schedule = warmup_cosine {} }
`,
  );
  const r = llavac(["data", "hdf5", "spec.llava", "--workers", "0"], dir);
  expect(r.status, r.stderr).toBe(0);
});

/** What the training loader yields for global sample `i`. */
async function fromLoader(i: number) {
  const loader = await openLoader(
    { dirs: [path.join(dir, "h5")], imageRoot: path.join(dir, "images"), transforms: TRANSFORMS, imageShape: SHAPE },
    { inline: true },
  );
  try {
    return await loader.read([i]);
  } finally {
    await loader.close();
  }
}

/** The image of an HTML page's data: URI, decoded, HWC RGB. */
async function htmlImage(html: string): Promise<{ data: Buffer; width: number; height: number }> {
  const m = /<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/.exec(html);
  expect(m, "an <img> with a data: PNG").not.toBeNull();
  const { data, info } = await sharp(Buffer.from(m![1]!, "base64")).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { data, width: info.width, height: info.height };
}

/** CHW 0–255 floats (geometry only) → HWC bytes. */
function hwc(chw: Float32Array, w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 3);
  for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = chw[c * w * h + p]!;
  return out;
}

const NAMES = ["image_data", "key_padding_mask", "labels", "loss_mask", "text_input_ids"];

describe("data inspect --tensor and the HTML image", () => {
  for (const [i, image] of [
    [0, "small.jpg"],
    [1, undefined],
    [2, "grad.png"],
  ] as const) {
    it(`sample ${i} (${image ?? "text-only"}): the safetensors file holds the loader's features; the HTML shows the transformed image`, async () => {
      const st = path.join(dir, `s${i}.safetensors`),
        html = path.join(dir, `s${i}.html`);
      const r = llavac(["data", "inspect", "h5", "--sample", String(i), "--spec", "spec.llava", "--tensor", st, "--html", html], dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`wrote ${st}`);
      const want = await fromLoader(i);
      const msl = want.msl;

      // llavac's reader: names, dtypes, shapes and bytes.
      const f = openSafetensors(st);
      expect(f.names().sort()).toEqual(NAMES);
      ["text_input_ids", "loss_mask", "labels", "key_padding_mask"].forEach((name, row) => {
        const t = f.raw(name);
        expect([t.dtype, t.shape], name).toEqual(["I32", [1, msl]]);
        expect(Buffer.from(t.data).equals(Buffer.from(want.rows.buffer, want.rows.byteOffset + row * msl * 4, msl * 4)), name).toBe(true);
      });
      const img = f.raw("image_data");
      expect([img.dtype, img.shape]).toEqual(["F32", [1, ...SHAPE]]);
      expect(Buffer.from(img.data).equals(Buffer.from(want.images.buffer, want.images.byteOffset, want.images.byteLength))).toBe(true);
      expect(f.metadata.image).toBe(image ?? "None");
      f.close();
      // A sample with an image has its supervised tokens and slots; the loader's rows are not all zero.
      expect(want.rows.some((x) => x !== 0)).toBe(true);

      // The HTML: the model's input image, normalisation undone, equals the geometry-only transform.
      const page = readFileSync(html, "utf8");
      const shown = await htmlImage(page);
      expect([shown.width, shown.height]).toEqual([32, 32]);
      const geo = image ? await prepareImage(path.join(dir, "images", image), GEOMETRY) : await blankImage(32, 32, GEOMETRY);
      expect(shown.data.equals(hwc(geo.data, 32, 32))).toBe(true);
      if (image === "grad.png") expect(new Set(shown.data).size).toBeGreaterThan(50); // a real picture, not a flat one
      if (!image) expect(page).toContain("text-only: the blank image the model is given");
    });
  }

  it("numpy reads the safetensors file (its header parsed by hand) to the same values", async () => {
    const py = oraclePython("numpy");
    if (!py) {
      console.warn("skipped: no python3 with numpy (install python3-numpy)");
      return;
    }
    const st = path.join(dir, "s2.safetensors");
    const r = spawnSync(
      py,
      [
        "-c",
        `import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
out = {}
for name, e in header.items():
    if name == "__metadata__": continue
    a, b = e["data_offsets"]
    arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype={"I32": "<i4", "F32": "<f4"}[e["dtype"]]).reshape(e["shape"])
    out[name] = {"dtype": str(arr.dtype), "shape": list(arr.shape), "values": arr.ravel().tolist()}
try:
    from safetensors.numpy import load_file
    lib = load_file(sys.argv[1])
    out["__library__"] = all(np.array_equal(lib[k], np.array(out[k]["values"]).reshape(out[k]["shape"])) for k in lib)
except ImportError:
    pass
print(json.dumps(out))`,
        st,
      ],
      { encoding: "utf8", maxBuffer: 64 << 20 },
    );
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, { dtype: string; shape: number[]; values: number[] }> & { __library__?: boolean };
    const want = await fromLoader(2);
    const msl = want.msl;
    expect(
      Object.keys(got)
        .filter((k) => k !== "__library__")
        .sort(),
    ).toEqual(NAMES);
    ["text_input_ids", "loss_mask", "labels", "key_padding_mask"].forEach((name, row) => {
      expect([got[name]!.dtype, got[name]!.shape]).toEqual(["int32", [1, msl]]);
      expect(got[name]!.values).toEqual(Array.from(want.rows.subarray(row * msl, (row + 1) * msl)));
    });
    expect([got.image_data!.dtype, got.image_data!.shape]).toEqual(["float32", [1, ...SHAPE]]);
    // float32 → Python float is exact, so the values compare exactly.
    expect(got.image_data!.values).toEqual(Array.from(want.images));
    if (got.__library__ !== undefined) expect(got.__library__).toBe(true);
  });

  it("--tensor without --spec is a usage error (exit 2) that says why; a sample past the end is one too", () => {
    const r = llavac(["data", "inspect", "h5", "--tensor", "x.safetensors"], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--tensor needs --spec");
    const past = llavac(["data", "inspect", "h5", "--sample", "3", "--spec", "spec.llava", "--tensor", "x.safetensors"], dir);
    expect(past.status).toBe(2);
    expect(past.stderr).toMatch(/sample 3 is out of range/);
  });

  it("without --spec the HTML says how to see the image", () => {
    const html = path.join(dir, "plain.html");
    const r = llavac(["data", "inspect", "h5", "--sample", "0", "--html", html], dir);
    expect(r.status, r.stderr).toBe(0);
    const page = readFileSync(html, "utf8");
    expect(page).not.toContain("<img");
    expect(page).toContain("pass --spec");
  });
});
