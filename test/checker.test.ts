// Every rule of the checker, each with a spec that breaks it: the code and the exact location are asserted.
import { describe, expect, it } from "vitest";
import { check, locate, pos, TINY, TINY_DIRS, tinyWith } from "./helpers.js";

describe("checker: a valid spec", () => {
  it("the tiny spec checks clean and derives every phase", async () => {
    const r = await check(TINY, { dirs: TINY_DIRS });
    expect(r.diags).toEqual([]);
    expect(r.result.phases.map((p) => [p.unit.ir.$name, p.derived?.numPatches, p.derived?.imageStartIdx])).toEqual([
      ["align", 16, 1],
      ["tune", 16, 35],
    ]);
  });
});

describe("checker: syntax", () => {
  it("E0001 several syntax errors in one run, each at its token; E0002 and E0003 for bad characters and literals", async () => {
    let src = tinyWith("batch     = 32 per step, 8 per micro-batch", "batch     = 32 per step 8 per micro-batch");
    src = src.replace("optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: = 1e-3 }");
    src = src.replace('images    = "./images"\n  hdf5      = "./h5/tune"', 'images    = "./images\n  hdf5      = "./h5/tune"');
    src = src.replace("freeze    = [/^image_model/]", "freeze    = [/^image_model/] @");
    const r = await check(src, { dirs: TINY_DIRS });
    const syntax = r.errors.filter((d) => d.code === "E0001");
    expect(syntax.length).toBeGreaterThanOrEqual(2);
    expect(pos(syntax[0]!)).toEqual(locate(src, "8 per micro"));
    expect(syntax.some((d) => d.span.line === locate(src, "= 1e-3").line)).toBe(true);
    expect(pos(r.one("E0003"))).toEqual(locate(src, '"./images\n'));
    expect(pos(r.one("E0002"))).toEqual(locate(src, "@"));
  });
});

describe("checker: names", () => {
  it("E0104 unknown name, with did-you-mean", async () => {
    const src = tinyWith("projector = mlp2x_gelu", "projector = mlp2x_gleu");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0104");
    expect(pos(d)).toEqual(locate(src, "mlp2x_gleu"));
    expect(d.help).toContain("did you mean `mlp2x_gelu`?");
  });

  it("E0104 for a name that needs an import says where it lives", async () => {
    const src = tinyWith("language  = tiny_llama", "language  = vicuna_7b_v1_5");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0104");
    expect(pos(d)).toEqual(locate(src, "vicuna_7b_v1_5"));
    expect(d.help.join()).toMatch(/import \{ vicuna_7b_v1_5 \} from "std\/language"/);
  });

  it("E0202 unknown field, with did-you-mean and a note at the schema", async () => {
    const src = tinyWith("optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: 1e-3, beta: (0.9, 0.99) }");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0202");
    expect(pos(d)).toEqual(locate(src, "beta:"));
    expect(d.help).toContain("did you mean `betas`?");
    expect(d.notes[0]!.span!.file).toMatch(/stdlib\/core\.llava$/);
  });

  it("E0103 an import of a name the module does not declare", async () => {
    const src = tinyWith('import { tiny_vit } from "std/vision"', 'import { tiny_vitt } from "std/vision"');
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0103");
    expect(pos(d)).toEqual(locate(src, "tiny_vitt"));
    expect(d.help).toContain("did you mean `tiny_vit`?");
  });

  it("E0101 a module that does not exist", async () => {
    const src = tinyWith('"std/projectors"', '"std/projector"');
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0101");
    expect(pos(d)).toEqual(locate(src, '"std/projector"'));
  });

  it("E0102 import cycles, reported at the import that closes the loop", async () => {
    const a = 'import { b } from "./b"\nlet a = 1\n' + TINY;
    const b = 'import { a } from "./a"\nlet b = 2\n';
    const r = await check({ "a.llava": a, "b.llava": b }, { dirs: TINY_DIRS });
    const d = r.one("E0102");
    expect(d.message).toMatch(/a\.llava → .*b\.llava → .*a\.llava/);
    expect(d.span.file).toMatch(/b\.llava$/);
    expect(pos(d)).toEqual(locate(b, '"./a"'));
  });

  it("relative imports resolve against the importing file", async () => {
    const common = 'import { tiny_llama } from "std/language"\nlet lm = tiny_llama { max_position_embeddings: 96 }\n';
    const src = 'import { lm } from "./lib/common"\n' + tinyWith("language  = tiny_llama", "language  = lm");
    const r = await check({ "spec.llava": src, "lib/common.llava": common }, { dirs: TINY_DIRS });
    expect(r.errors).toEqual([]);
    expect(r.result.phases[0]!.derived!.msl).toBe(96);
  });

  it("E0105 duplicate declarations", async () => {
    const src = TINY + "\nlet shapes = 3\n";
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0105");
    expect(pos(d)).toEqual(locate(src, "shapes", "let shapes"));
  });

  it("E0208 declarations that depend on themselves", async () => {
    const src = TINY + "\nlet a = b\nlet b = a\n";
    const r = await check(src, { dirs: TINY_DIRS });
    expect(r.codes).toContain("E0208");
  });
});

describe("checker: types, ranges and enums (use site, with a note at the constraint)", () => {
  it("E0201 type mismatch at the value, note at the field's declared type", async () => {
    const src = tinyWith("optimizer = adamw { lr: 1e-3 }", 'optimizer = adamw { lr: "fast" }');
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0201");
    expect(pos(d)).toEqual(locate(src, '"fast"'));
    expect(d.message).toBe('expected `float & > 0`, found string "fast"');
    expect(d.notes[0]!.message).toMatch(/`lr` is declared as/);
    expect(d.notes[0]!.span!.file).toMatch(/core\.llava$/);
  });

  it("E0204 range violation at the value, note at the constraint", async () => {
    const src = tinyWith("optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: 1e-3, betas: (0.9, 1.5) }");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0204");
    expect(pos(d)).toEqual(locate(src, "1.5"));
    expect(d.message).toMatch(/must be < 1/);
    expect(d.notes[0]!.message).toBe("the constraint is declared here");
    expect(d.notes[0]!.span!.file).toMatch(/core\.llava$/);
  });

  it("E0205 enum violation, with did-you-mean and a note at the enum", async () => {
    const src = tinyWith("vision    = tiny_vit", "vision    = tiny_vit { select: pach }");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0205");
    expect(pos(d)).toEqual(locate(src, "pach"));
    expect(d.help).toContain("did you mean `patch`?");
    expect(d.notes[0]!.span!.file).toMatch(/vision\.llava$/);
  });

  it("E0207 a number where a unit is needed", async () => {
    const src = tinyWith("warmup: 10%", "warmup: 10");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0207");
    expect(pos(d)).toEqual(locate(src, "10", "warmup:"));
    expect(d.help).toContain("add the unit: `10%`");
  });

  it("E0230 an unknown unit", async () => {
    const src = tinyWith("length: 2 epochs", "length: 2 epochz");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0230");
    expect(pos(d)).toEqual(locate(src, "epochz"));
    expect(d.help).toContain("did you mean `epochs`?");
  });

  it("E0206 an invalid regex", async () => {
    const src = tinyWith("freeze    = [/^image_model/]", "freeze    = [/^image_model(/]");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0206");
    expect(pos(d)).toEqual(locate(src, "/^image_model(/"));
  });

  it("E0203 a required field left open, reported in the user's spec", async () => {
    const src = tinyWith('  images    = "./images"\n  hdf5      = "./h5/align"', '  hdf5      = "./h5/align"');
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0203");
    expect(d.message).toMatch(/missing `images`/);
    expect(pos(d)).toEqual(locate(src, "align", "phase align"));
  });

  it("`none` unsets an optional field and is rejected for a required one", async () => {
    const src = tinyWith("optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: none, max_grad_norm: none }");
    const r = await check(src, { dirs: TINY_DIRS });
    const d = r.one("E0224");
    expect(d.message).toBe("`lr` is required and cannot be `none`");
    expect(pos(d)).toEqual(locate(src, "none"));
    expect(r.errors).toHaveLength(1);
  });
});

describe("checker: model geometry", () => {
  it("E0301 image size not divisible by patch size", async () => {
    const src = tinyWith("vision    = tiny_vit", "vision    = tiny_vit { patch_size: 7 }");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0301");
    expect(pos(d)).toEqual(locate(src, "7", "patch_size"));
    expect(d.message).toBe("image height 32 is not divisible by patch size 7 (32 / 7 = 4.57)");
  });

  it("E0302 projector input differs from the vision width", async () => {
    const src = tinyWith("projector = mlp2x_gelu", "projector = mlp2x_gelu { input_size: 128 }");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0302");
    expect(pos(d)).toEqual(locate(src, "128"));
    expect(d.message).toBe("the projector takes 128 features but the vision encoder produces 64");
  });

  it("E0303 projector output differs from the text width", async () => {
    const src = tinyWith("projector = mlp2x_gelu", "projector = mlp2x_gelu { output_size: 100 }");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0303");
    expect(pos(d)).toEqual(locate(src, "100", "output_size"));
  });

  it("E0304 vision select layer out of range", async () => {
    const src = tinyWith("vision    = tiny_vit", "vision    = tiny_vit { select_layer: -3 }");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0304");
    expect(pos(d)).toEqual(locate(src, "-3"));
    expect(d.label).toBe("valid: -2 … 1");
  });

  it("E0305 an explicit num_patches that disagrees shows both values", async () => {
    const src = tinyWith(
      "  freeze    = [/^image_model/, /^text_model/]",
      "  freeze    = [/^image_model/, /^text_model/]\n  num_patches = 17",
    );
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0305");
    expect(pos(d)).toEqual(locate(src, "17", "num_patches"));
    expect(d.message).toBe("num_patches is 17 here, but llavac derives 16");
  });

  it("E0305 an explicit image_start_idx that disagrees with the tokenised template", async () => {
    const src = tinyWith("  freeze    = [/^image_model/]", "  freeze    = [/^image_model/]\n  image_start_idx = 34");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0305");
    expect(pos(d)).toEqual(locate(src, "34"));
    expect(d.message).toBe("image_start_idx is 34 here, but llavac derives 35");
  });

  it("E0305 max_sequence_length and text_budget are checked too", async () => {
    const src = tinyWith(
      "  freeze    = [/^image_model/]",
      "  freeze    = [/^image_model/]\n  max_sequence_length = 2048\n  text_budget = 100",
    );
    const r = await check(src, { dirs: TINY_DIRS });
    expect(r.errors.map((e) => e.message)).toEqual([
      "max_sequence_length is 2048 here, but llavac derives 128",
      "text_budget is 100 here, but llavac derives 111",
    ]);
  });

  it("E0305 an explicit max_steps that disagrees with the schedule's derivation", async () => {
    const src = tinyWith(
      "  freeze    = [/^image_model/, /^text_model/]",
      "  freeze    = [/^image_model/, /^text_model/]\n  max_steps = 100 steps",
    );
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0305");
    expect(pos(d)).toEqual(locate(src, "100 steps"));
    expect(d.message).toBe("max_steps is 100 here, but llavac derives 62");
    expect(d.notes[0]!.message).toBe("max_steps = ⌊1,000 / 32⌋ × 2 = 62");
  });

  it("E0307 transforms that do not produce the encoder's image size", async () => {
    const src = tinyWith(
      "  freeze    = [/^image_model/]",
      "  freeze    = [/^image_model/]\n  transforms = [resize { size: 48 }, center_crop { size: 32 }, to_tensor]",
    );
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0307");
    expect(pos(d)).toEqual(locate(src, "48"));
  });
});

describe("checker: training setup", () => {
  it("E0401 a freeze pattern that matches nothing, with did-you-mean", async () => {
    const src = tinyWith("freeze    = [/^image_model/, /^text_model/]", "freeze    = [/^image_model/, /^text_models/]");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0401");
    expect(pos(d)).toEqual(locate(src, "/^text_models/"));
    expect(d.help).toContain("did you mean /^text_model/?");
  });

  it("E0402 batch not divisible by num_csx", async () => {
    const src = TINY + "\ncerebras cluster { num_csx: 3 }\n";
    const r = await check(src, { dirs: TINY_DIRS });
    const d = r.one("E0402");
    expect(pos(d)).toEqual(locate(src, "32", "phase align"));
    expect(d.notes[0]!.span).toMatchObject(locate(src, "3", "num_csx"));
  });

  it("E0403 per-system batch not divisible by the micro-batch", async () => {
    const src = tinyWith("batch     = 32 per step, 8 per micro-batch", "batch     = 32 per step, 12 per micro-batch");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0403");
    expect(pos(d)).toEqual(locate(src, "12"));
  });

  it("E0404 loss_scaling num_tokens needs loss_weight 1.0", async () => {
    const src = tinyWith("  freeze    = [/^image_model/]", "  freeze    = [/^image_model/]\n  loss_weight = 0.5");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0404");
    expect(pos(d)).toEqual(locate(src, "0.5"));
  });

  it("loss_weight is free with batch_size scaling", async () => {
    const src = tinyWith(
      "  freeze    = [/^image_model/]",
      "  freeze    = [/^image_model/]\n  loss_scaling = batch_size\n  loss_weight = 0.5",
    );
    expect((await check(src, { dirs: TINY_DIRS })).errors).toEqual([]);
  });

  it("E0306 a schedule in epochs over a dataset of unknown size", async () => {
    const src = tinyWith("samples: 1000, ", "");
    const r = await check(src, { dirs: TINY_DIRS });
    const d = r.one("E0306");
    expect(pos(d)).toEqual(locate(src, "shapes", "data      ="));
    expect(d.help.join()).toMatch(/samples: N/);
  });

  it("W0301 warm-up plus decay that differ from max_steps is a warning, and the explicit value is kept", async () => {
    const src = tinyWith(
      "schedule  = warmup_cosine { length: 2 epochs, warmup: 10% }",
      "schedule  = warmup_cosine { length: 2 epochs, warmup: 10%, decay: 60 steps }",
    );
    const r = await check(src, { dirs: TINY_DIRS });
    const d = r.one("W0301");
    expect(d.severity).toBe("warning");
    expect(d.message).toBe("warm-up 7 + decay 60 = 67 steps, but the phase runs 62");
    expect(r.result.phases[0]!.derived!.schedule.decay).toBe(60);
  });
});

describe("checker: phase chains", () => {
  it("E0405 a cycle of phases", async () => {
    const src = tinyWith(
      "  model     = tiny\n  data      = shapes\n  template  = plain",
      "  from      = tune\n  model     = tiny\n  data      = shapes\n  template  = plain",
    );
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0405");
    expect(d.message).toMatch(/align → tune → align|tune → align → tune/);
  });

  it("E0406 a missing phase, with did-you-mean", async () => {
    const src = tinyWith("from      = align(states: model)", "from      = aling(states: model)");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0406");
    expect(pos(d)).toEqual(locate(src, "aling"));
    expect(d.help).toContain("did you mean `align`?");
  });

  it("E0407 a chained phase that loads more than model states", async () => {
    const src = tinyWith("from      = align(states: model)", "from      = align(states: [model, optimizer])");
    const d = (await check(src, { dirs: TINY_DIRS })).one("E0407");
    expect(pos(d)).toEqual(locate(src, "optimizer", "states:"));
  });
});

describe("checker: data folders", () => {
  it("W0408 is a warning in check, and an error with --strict", async () => {
    const lenient = await check(TINY, { dirs: ["images", "h5/align"] });
    const w = lenient.one("W0408");
    expect(w.severity).toBe("warning");
    expect(pos(w)).toEqual(locate(TINY, '"./h5/tune"'));
    expect(lenient.errors).toEqual([]);
    const strict = await check(TINY, { dirs: ["images", "h5/align"], strict: true });
    const e = strict.one("W0408");
    expect(e.severity).toBe("error");
    expect(pos(e)).toEqual(locate(TINY, '"./h5/tune"'));
  });
});

describe("checker: everything in one run", () => {
  it("reports independent mistakes of one phase together", async () => {
    let src = tinyWith("projector = mlp2x_gelu", "projector = mlp2x_gelu { input_size: 128 }");
    src = src.replace("freeze    = [/^image_model/, /^text_model/]", "freeze    = [/^image_modle/, /^text_model/]");
    src = src.replace("warmup: 10%", "warmup: 10");
    src = src.replace("from      = align(states: model)", "from      = align(states: [model, dataloader])");
    const r = await check(src, { dirs: TINY_DIRS });
    expect(new Set(r.codes)).toEqual(new Set(["E0302", "E0401", "E0207", "E0407"]));
  });
});
