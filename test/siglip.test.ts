// SigLIP towers: the parameter tree against transformers' SiglipVisionModel (test/fixtures/counts/siglip.json,
// made by tools/oracles/siglip_counts.py), the derived image slots, the checks, what each Cerebras release is
// given, the HF weight names, and SiglipImageProcessor's preprocessing against PIL.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { filesToWrite } from "../compiler/build.js";
import { flatten } from "./build-helpers.js";
import { prepareImage, type ImageTransform } from "../runtime/data/images.js";
import { cerebrasToHf, hfToCerebras } from "../runtime/weights/names.js";
import { tempDir } from "./data-helpers.js";
import { check, locate, pos, ROOT, TINY, TINY_DIRS } from "./helpers.js";
import { oraclePython } from "./oracle-python.js";

const COUNTS = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/counts/siglip.json"), "utf8")) as {
  towers: Record<string, { num_patches: number; total: number; head: number; without_head: number; shapes: Record<string, number[]> }>;
};

/** TINY with another vision tower (and room for its image slots). */
function withTower(tower: string, extra = ""): string {
  return TINY.replace('import { tiny_vit } from "std/vision"', `import { tiny_vit, ${tower} } from "std/vision"`)
    .replace("vision    = tiny_vit", `vision    = ${tower}${extra}`)
    .replace("language  = tiny_llama", "language  = tiny_llama { max_position_embeddings: 1024 }");
}

const HF_VISION = "vision_tower.vision_model.";

describe("SigLIP towers: the parameter tree is transformers' SiglipVisionModel without its pooling head", () => {
  it.each(Object.keys(COUNTS.towers))("%s: counts and every tensor's HF name and shape", async (tower) => {
    const expected = COUNTS.towers[tower]!;
    const c = await check(withTower(tower), { dirs: TINY_DIRS });
    expect(c.errors).toEqual([]);
    const d = c.result.phases[0]!.derived!;
    const vision = d.params.filter((p) => p.component === "image_model");
    const count = vision.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    expect(count).toBe(expected.without_head);
    expect(d.counts.byComponent.image_model!.total).toBe(expected.without_head);
    // The published total includes the head; llavac leaves it out (LLaVA never runs it).
    expect(expected.head).toBeGreaterThan(0);
    expect(expected.without_head + expected.head).toBe(expected.total);
    const ours = new Map(
      vision.map((p) => {
        const hf = cerebrasToHf(p.name, "hub")!.hf;
        expect(hf.startsWith(HF_VISION), hf).toBe(true);
        return [hf.slice(HF_VISION.length), p.shape] as const;
      }),
    );
    const theirs = Object.entries(expected.shapes).filter(([n]) => !n.startsWith("head."));
    expect(new Map(theirs)).toEqual(ours);
    expect(Object.keys(expected.shapes).filter((n) => n.startsWith("head.")).length).toBeGreaterThan(0);
  });

  it("the pooling head's HF tensors are dropped with their reason, in every layout; logit_bias too", () => {
    for (const name of [
      "vision_tower.vision_model.head.probe",
      "model.vision_tower.head.mlp.fc1.weight",
      "vision_model.head.attention.in_proj_weight",
      "vision_tower.head.layernorm.bias",
    ])
      expect(hfToCerebras(name), name).toEqual({ kind: "dropped", reason: expect.stringMatching(/attention-pooling head/) });
    expect(hfToCerebras("logit_bias").kind).toBe("dropped");
    // A SiglipModel checkpoint (google/siglip-*): the vision half under vision_model.*, the text tower dropped.
    expect(hfToCerebras("vision_model.embeddings.patch_embedding.bias")).toMatchObject({
      kind: "param",
      cs: "image_model.embedding_layer.linear_proj.bias",
    });
    expect(hfToCerebras("vision_model.encoder.layers.26.mlp.fc2.weight")).toMatchObject({
      kind: "param",
      cs: "image_model.encoder.transformer_encoder.layers.26.ffn.ffn.1.linear_layer.weight",
    });
    expect(hfToCerebras("text_model.encoder.layers.0.mlp.fc1.weight").kind).toBe("dropped");
    // Not to be confused with the language model's head.
    expect(hfToCerebras("language_model.lm_head.weight")).toMatchObject({ kind: "param", cs: "text_model.lm_head.weight" });
    expect(hfToCerebras("vision_tower.post_layernorm.weight")).toMatchObject({
      kind: "param",
      cs: "image_model.encoder.transformer_encoder.norm.weight",
    });
  });
});

describe("SigLIP towers: image slots and checks", () => {
  it("num_patches is every patch (no CLS to drop or keep): 729, 196 and 16; text_budget and image_start_idx follow", async () => {
    for (const [tower, slots, formula] of [
      ["siglip_so400m_patch14_384", 729, "(384/14)·(384/14)"],
      ["siglip_base_patch16_224", 196, "(224/16)·(224/16)"],
      ["tiny_siglip", 16, "(32/8)·(32/8)"],
    ] as const) {
      const c = await check(withTower(tower), { dirs: TINY_DIRS });
      expect(c.errors).toEqual([]);
      for (const p of c.result.phases) {
        expect(p.derived!.numPatches, tower).toBe(slots);
        expect(p.derived!.numPatchesFormula).toBe(formula);
        expect(p.derived!.textBudget).toBe(1024 - slots - 1);
        expect(COUNTS.towers[tower]!.num_patches).toBe(slots);
      }
      expect(c.result.phases.map((p) => p.derived!.imageStartIdx)).toEqual([1, 35]);
    }
  });

  it("E0840: cls_patch on a tower without a CLS token, at `select`, with a note at the tower", async () => {
    const spec = withTower("tiny_siglip", " { select: cls_patch }");
    const c = await check(spec, { dirs: TINY_DIRS });
    const d = c.one("E0840");
    expect(d.message).toBe(
      "the vision encoder has no CLS token (prepend_cls_token: false), so `select: cls_patch` has no CLS feature to keep",
    );
    expect(pos(d)).toEqual(locate(spec, "cls_patch"));
    expect(d.notes[0]!.message).toBe("the tower has no CLS token");
    expect(d.help).toEqual(["use `select: patch`: without a CLS token it gives every patch"]);
    // With a CLS token cls_patch is fine and adds one slot.
    const clip = await check(withTower("tiny_vit", " { select: cls_patch }"), { dirs: TINY_DIRS });
    expect(clip.codes).not.toContain("E0840");
    expect(clip.result.phases[0]!.derived!.numPatches).toBe(17);
  });

  it("384 px in 14 px patches is allowed only with drop_remainder (E0301 otherwise)", async () => {
    const c = await check(withTower("siglip_so400m_patch14_384", " { drop_remainder: false }"), { dirs: TINY_DIRS });
    expect(c.one("E0301").message).toMatch(/384 is not divisible by patch size 14/);
    // Dropping the remainder still needs one whole patch.
    const none = await check(withTower("tiny_siglip", " { patch_size: (40, 40), drop_remainder: true }"), { dirs: TINY_DIRS });
    expect(none.one("E0301").message).toMatch(/32 is not divisible by patch size 40/);
    expect(none.codes).not.toContain("E0501");
  });

  it("a (height, width) resize must be the encoder's size (E0307)", async () => {
    const c = await check(withTower("tiny_siglip", " { transforms: [resize { size: (32, 30) }, to_tensor] }"), { dirs: TINY_DIRS });
    expect(c.one("E0307").message).toBe("resize to 32×30 px, but the vision encoder takes 32×32 px images");
  });
});

/** The spec built (in memory) for a release: its diagnostics and the first phase's params.yaml. */
async function built(tower: string, release: string) {
  const c = await check(`${withTower(tower)}\ncerebras cluster { release: "${release}" }\n`, { dirs: TINY_DIRS });
  expect(c.errors).toEqual([]);
  const files = new Map(filesToWrite(c.result.emitted, { cerebras: true }).map((f) => [f.path, f.content]));
  const params = load(files.get("align/params.yaml")!) as any;
  const model = release === "2.10" ? params.trainer.init.model : params.model;
  const input = release === "2.10" ? params.trainer.fit.train_dataloader : params.train_input;
  const preprocess = flatten(load(files.get("align/preprocess.yaml")!));
  return { c, model, input, preprocess, manifest: JSON.parse(files.get("manifest.json")!) };
}

describe("SigLIP towers: what each Cerebras release is given", () => {
  it.each(["2.2.1", "2.3.0", "2.10"])(
    "release %s: no CLS, gelu_new, cls_patch keeps every patch, 378 px for 384/14 (W0841)",
    async (release) => {
      const { c, model, input, preprocess, manifest } = await built("siglip_so400m_patch14_384", release);
      expect(model.image_model).toMatchObject({
        name: "ViTModel",
        prepend_cls_token: false,
        use_post_embed_layer_norm: false,
        use_embed_proj_bias: true,
        nonlinearity: "gelu_new",
        layer_norm_epsilon: 0.000001,
        image_size: [378, 378],
        patch_size: [14, 14],
        hidden_size: 1152,
        filter_size: 4304,
        num_hidden_layers: 27,
        num_heads: 16,
      });
      // The Model Zoo's `patch` drops the first output; without a CLS token `cls_patch` keeps all 729.
      expect(model.image_feature_select_mode).toBe("cls_patch");
      expect(input.image_data_size).toEqual([3, 378, 378]);
      expect(input.transforms).toEqual([
        { name: "resize", size: [378, 378], interpolation: "bicubic" },
        { name: "to_tensor" },
        { name: "normalize", mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
      ]);
      expect(manifest.phases.align.derived.num_patches).toBe(729);
      // The HDF5 writer lays out 729 image slots too.
      const slots = [...preprocess].filter(([k]) => k.endsWith("num_patches"));
      expect(slots.length).toBeGreaterThan(0);
      for (const [k, n] of slots) expect(n, k).toBe(729);
      const sm = manifest.phases.align.source_map["params.yaml"];
      const key = release === "2.10" ? "trainer.init.model.image_feature_select_mode" : "model.image_feature_select_mode";
      expect(sm[key].derived).toMatch(/no CLS token/);
      const w = c.one("W0841");
      expect(w.message).toBe(
        `the Model Zoo ${release} ViTModel needs an image size its patch size divides (model.image_model.image_size): siglip_so400m_patch14_384's 384×384 px in 14×14 px patches is written as 378×378`,
      );
      expect(c.one("W0840").message).toBe(
        `the Model Zoo ${release} LLaVA checkpoint converter converts CLIP vision towers only: convert-in.sh and convert-out.sh cannot convert siglip_so400m_patch14_384 (no CLS token)`,
      );
    },
  );

  it("siglip_base_patch16_224 is written at its own size (no W0841); a CLIP tower keeps `patch` and gets no W0840", async () => {
    const base = await built("siglip_base_patch16_224", "2.2.1");
    expect(base.c.codes).not.toContain("W0841");
    expect(base.model.image_model.image_size).toEqual([224, 224]);
    expect(base.model.image_feature_select_mode).toBe("cls_patch");
    expect(base.input.transforms[0]).toEqual({ name: "resize", size: [224, 224], interpolation: "bicubic" });
    const clip = await built("tiny_vit", "2.2.1");
    expect(clip.c.codes).not.toContain("W0840");
    expect(clip.model.image_model.nonlinearity).toBe("quick_gelu");
    expect(clip.model.image_feature_select_mode).toBe("patch");
    // Without a cerebras block there are no job scripts to warn about.
    const plain = await check(withTower("tiny_siglip"), { dirs: TINY_DIRS });
    expect(plain.codes).not.toContain("W0840");
  });
});

const PY = oraclePython("PIL", "numpy");
if (!PY) console.warn("siglip: Debian python3-pil / python3-numpy are not installed; the comparison with PIL is skipped");

describe("SigLIP preprocessing (SiglipImageProcessor: resize to size × size with bicubic, /255, mean = std = 0.5)", () => {
  const images = ["rgb8.png", "rgb-portrait.jpg"].map((f) => path.join(ROOT, "test/fixtures/images", f));
  const SIGLIP: ImageTransform[] = [
    { kind: "resize", size: [384, 384], interpolation: "bicubic" },
    { kind: "to_tensor" },
    { kind: "normalize", mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  ];
  it.skipIf(!PY)(
    "equals PIL's resize((384, 384), BICUBIC) then (x / 255 − 0.5) / 0.5 in float32, for landscape and portrait images",
    async () => {
      const dir = tempDir();
      const script = [
        "import sys, os, numpy as np",
        "from PIL import Image",
        "for p in sys.argv[2:]:",
        "    x = np.asarray(Image.open(p).convert('RGB').resize((384, 384), Image.BICUBIC), dtype=np.float32) / np.float32(255)",
        "    ((x - np.float32(0.5)) / np.float32(0.5)).transpose(2, 0, 1).astype(np.float32).tofile(os.path.join(sys.argv[1], os.path.basename(p) + '.f32'))",
      ].join("\n");
      execFileSync(PY!, ["-c", script, dir, ...images]);
      for (const f of images) {
        const ours = await prepareImage(f, SIGLIP);
        expect([ours.width, ours.height]).toEqual([384, 384]);
        const buf = readFileSync(path.join(dir, `${path.basename(f)}.f32`));
        const theirs = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        expect(theirs.length).toBe(ours.data.length);
        let worst = 0;
        for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(theirs[i]! - ours.data[i]!));
        expect(worst, path.basename(f)).toBe(0);
      }
    },
  );
});
