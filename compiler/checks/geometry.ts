// Model geometry: the sizes that must agree across the vision encoder, projector and language model,
// and derived values the spec also states.
import type { CheckContext } from "../context.js";
import type { PartialDerived } from "../derive.js";
import { sound, type PhaseIR, type PhaseUnit } from "../ir.js";

export function checkGeometry(unit: PhaseUnit, d: PartialDerived, ctx: CheckContext): void {
  const { diags } = ctx;
  if (!sound(unit, "model.vision", "model.language", "model.projector")) {
    checkAsserted(unit, d, ctx);
    return;
  }
  const m = unit.ir.model;
  const v = m.vision;

  // Image size divisible by patch size, per dimension (unless the tower drops the remainder, as SigLIP so400m does).
  // A remainder can be dropped, but not every pixel: at least one whole patch per dimension.
  const remainderOk =
    sound(unit, "model.vision.drop_remainder") &&
    v.drop_remainder &&
    !!d.imageSize &&
    !!d.patchSize &&
    d.imageSize.every((s, i) => s >= d.patchSize![i]!);
  for (let i = 0; d.imageSize && d.patchSize && !remainderOk && i < 2; i++) {
    const img = d.imageSize[i]!,
      patch = d.patchSize[i]!;
    if (img % patch === 0) continue;
    const patchUser = ctx.isUser(ctx.rawSpan(unit, "model.vision.patch_size") ?? unit.nameSpan);
    const at = patchUser ? "model.vision.patch_size" : "model.vision.image_size";
    const other = patchUser ? "model.vision.image_size" : "model.vision.patch_size";
    const divisors = [];
    for (let p = 2; p <= Math.min(img, 64); p++) if (img % p === 0) divisors.push(p);
    diags.error("E0301", { dim: i === 0 ? "height" : "width", size: img, patch, ratio: (img / patch).toFixed(2) }, ctx.spanOf(unit, at), {
      label: `${img} % ${patch} = ${img % patch}`,
      notes: ctx.noteAt(unit, other, `the ${patchUser ? "image" : "patch"} size comes from here`),
      help: `patch sizes that divide ${img}: ${divisors.join(", ")}`,
    });
    break;
  }

  // Projector widths.
  const p = m.projector;
  const projectorOk = sound(unit, "model.projector", "model.vision.hidden_size", "model.language.hidden_size");
  if (projectorOk && p.input_size !== undefined && p.input_size !== v.hidden_size) {
    diags.error("E0302", { input: p.input_size, width: v.hidden_size }, ctx.spanOf(unit, "model.projector.input_size"), {
      notes: [
        {
          message: `${v.$name ?? "the vision encoder"} has hidden_size ${v.hidden_size}`,
          span: ctx.rawSpan(unit, "model.vision.hidden_size"),
        },
      ],
      help: "remove `input_size`: llavac derives it from the vision encoder",
    });
  }
  if (projectorOk && p.output_size !== undefined && p.output_size !== m.language.hidden_size) {
    diags.error("E0303", { output: p.output_size, width: m.language.hidden_size }, ctx.spanOf(unit, "model.projector.output_size"), {
      notes: [
        {
          message: `${m.language.$name ?? "the language model"} has hidden_size ${m.language.hidden_size}`,
          span: ctx.rawSpan(unit, "model.language.hidden_size"),
        },
      ],
      help: "remove `output_size`: llavac derives it from the language model",
    });
  }

  // Select layer within the encoder (Cerebras reduces it modulo the depth, so -25 on 24 layers would
  // silently pick the last block).
  const L = v.num_hidden_layers;
  if (sound(unit, "model.vision.select_layer", "model.vision.num_hidden_layers") && (v.select_layer < -L || v.select_layer >= L)) {
    diags.error("E0304", { layer: v.select_layer, layers: L }, ctx.spanOf(unit, "model.vision.select_layer"), {
      label: `valid: ${-L} … ${L - 1}`,
      notes: ctx.noteAt(unit, "model.vision.num_hidden_layers", `the encoder has ${L} layers`),
      help: "negative values count from the last block (-1 is the last, -2 the penultimate, as in LLaVA-1.5)",
    });
  }

  // `cls_patch` keeps the CLS feature: a tower without one (SigLIP) has none to keep, and its `patch` is
  // already every output.
  if (sound(unit, "model.vision.select", "model.vision.prepend_cls_token") && v.select === "cls_patch" && !v.prepend_cls_token) {
    diags.error("E0840", { tower: v.$name ?? "the vision encoder" }, ctx.spanOf(unit, "model.vision.select"), {
      notes: ctx.noteAt(unit, "model.vision.prepend_cls_token", "the tower has no CLS token"),
      help: "use `select: patch`: without a CLS token it gives every patch",
    });
  }

  // Attention shapes.
  for (const [name, width, heads, at] of [
    ["vision", v.hidden_size, v.num_heads, "model.vision.num_heads"],
    ["language", m.language.hidden_size, m.language.num_heads, "model.language.num_heads"],
  ] as const) {
    if (sound(unit, at, at.replace("num_heads", "hidden_size")) && width % heads !== 0) {
      diags.error("E0310", `the ${name} model's hidden_size ${width} is not divisible by num_heads ${heads}`, ctx.spanOf(unit, at));
    }
  }
  // Grouped-query attention: the query heads split evenly over the key/value heads.
  const t = m.language;
  if (t.num_key_value_heads !== undefined && sound(unit, "model.language.num_key_value_heads", "model.language.num_heads")) {
    const kv = t.num_key_value_heads;
    if (t.num_heads % kv !== 0) {
      const divisors = Array.from({ length: t.num_heads }, (_, i) => i + 1).filter((x) => t.num_heads % x === 0);
      diags.error("E0800", { kv, heads: t.num_heads }, ctx.spanOf(unit, "model.language.num_key_value_heads"), {
        label: kv > t.num_heads ? `more than the ${t.num_heads} query heads` : `${t.num_heads} / ${kv} is not whole`,
        notes: ctx.noteAt(unit, "model.language.num_heads", `the model has ${t.num_heads} query heads`),
        help: `each key/value head serves the same number of query heads: use one of ${divisors.join(", ")}`,
      });
    }
  }
  const rs = t.rope_scaling;
  if (rs && sound(unit, "model.language.rope_scaling") && rs.high_freq_factor <= rs.low_freq_factor) {
    diags.error(
      "E0801",
      { high: rs.high_freq_factor, low: rs.low_freq_factor },
      ctx.spanOf(unit, "model.language.rope_scaling.high_freq_factor"),
      {
        notes: ctx.noteAt(unit, "model.language.rope_scaling.low_freq_factor", "low_freq_factor"),
        help: "Llama-3.1 uses low_freq_factor 1.0 and high_freq_factor 4.0",
      },
    );
  }
  if (
    rs &&
    t.position_embedding_type !== "rotary" &&
    sound(unit, "model.language.rope_scaling", "model.language.position_embedding_type")
  ) {
    diags.error("E0802", { kind: t.position_embedding_type }, ctx.spanOf(unit, "model.language.rope_scaling"), {
      notes: ctx.noteAt(unit, "model.language.position_embedding_type", "the position embedding"),
      help: "remove `rope_scaling`, or use `position_embedding_type: rotary`",
    });
  }
  if (
    t.sliding_window !== undefined &&
    sound(unit, "model.language.sliding_window", "model.language.max_position_embeddings") &&
    t.sliding_window >= t.max_position_embeddings
  ) {
    diags.warning(
      "W0800",
      { window: t.sliding_window, msl: t.max_position_embeddings },
      ctx.spanOf(unit, "model.language.sliding_window"),
      {
        notes: ctx.noteAt(unit, "model.language.max_position_embeddings", "the context length"),
        help: "remove `sliding_window` (every position attends all before it anyway)",
      },
    );
  }
  const rd = m.language.rotary_dim;
  if (rd !== undefined && d.headDim !== undefined && Number.isInteger(d.headDim) && (rd > d.headDim || rd % 2 !== 0)) {
    diags.error(
      "E0314",
      `rotary_dim ${rd} must be even and at most the head size ${d.headDim}`,
      ctx.spanOf(unit, "model.language.rotary_dim"),
    );
  }

  // Transforms must produce images of the encoder's size.
  const tPath = unit.ir.transforms ? "transforms" : "model.vision.transforms";
  const transforms = sound(unit, tPath) ? (unit.ir.transforms ?? v.transforms) : [];
  transforms.forEach((t, i) => {
    if (!d.imageSize || (t.$schema !== "resize" && t.$schema !== "center_crop")) return;
    // A (height, width) resize must be the encoder's size exactly; a side or a crop, that of a square encoder.
    const [h, w] = d.imageSize;
    const wrong = Array.isArray(t.size) ? t.size[0] !== h || t.size[1] !== w : h === w && t.size !== h;
    if (wrong) {
      const size = Array.isArray(t.size) ? `${t.size[0]}×${t.size[1]}` : t.size;
      const image = Array.isArray(t.size) || h !== w ? `${h}×${w}` : h;
      diags.error("E0307", { transform: t.$schema, size, image }, ctx.spanOf(unit, `${tPath}.${i}.size`), {
        notes: ctx.noteAt(unit, "model.vision.image_size", "the encoder's image size"),
      });
    }
  });

  checkAsserted(unit, d, ctx);
}

/** Derived values the spec states explicitly. */
function checkAsserted(unit: PhaseUnit, d: PartialDerived, ctx: CheckContext): void {
  const { diags } = ctx;
  const asserted: [keyof PhaseIR, number | undefined, string][] = [
    ["num_patches", d.numPatches, d.numPatchesFormula ?? ""],
    [
      "image_start_idx",
      d.imageStartIdx,
      `the first image slot of template ${unit.ir.template?.$name ?? ""} with ${d.tokenizer?.source ?? "the tokenizer"}`,
    ],
    ["max_sequence_length", d.msl, "the language model's max_position_embeddings"],
    ["text_budget", d.textBudget, `${d.msl} − ${d.numPatches} − 1`],
  ];
  const given = (key: keyof PhaseIR) => (sound(unit, String(key)) ? (unit.ir[key] as number | undefined) : undefined);
  for (const [key, derived, formula] of asserted) {
    const value = given(key);
    if (value === undefined || derived === undefined || value === derived) continue;
    diags.error("E0305", `${String(key)} is ${value} here, but llavac derives ${derived}`, ctx.spanOf(unit, String(key)), {
      label: `derived: ${derived}`,
      notes: [{ message: `${String(key)} = ${formula} = ${derived}` }],
      help: `remove \`${String(key)}\` to use the derived value`,
    });
  }
  if (d.textBudget !== undefined && d.textBudget <= 0 && d.msl !== undefined && d.numPatches !== undefined) {
    diags.error(
      "E0309",
      { slots: d.numPatches, budget: d.textBudget, msl: d.msl },
      ctx.spanOf(unit, "model.language.max_position_embeddings"),
      {
        help: "raise max_position_embeddings, or use a larger patch size",
      },
    );
  }
}
