// `llavac check --weights DIR`: the HuggingFace weights folder of seed step 3, against the spec.
//   DIR/image_model/  config.json (CLIP; a CLIPModel's vision_config is unwrapped), preprocessor_config.json, weights
//   DIR/text_model/   config.json (LLaVA's), config_lmsys.json, weight shards and their index, tokenizer files
// Every architecture value the converter reads (fidelity-cerebras.md §7.3) is compared with the spec's;
// a mismatch is reported at the spec field, with the JSON file and key in a note.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Span } from "../../grammar/ast.js";
import type { CheckContext } from "../context.js";
import { pair } from "../derive.js";
import type { PhaseUnit } from "../ir.js";

type Json = Record<string, unknown>;

interface Folder {
  dir: string;
  files: string[];
}

function list(dir: string): Folder | undefined {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  return { dir, files: readdirSync(dir) };
}

const WEIGHT_FILE = /^(pytorch_model.*\.bin|model.*\.safetensors|.*\.safetensors)$/;
const INDEX_FILE = /\.index\.json$/;
const TOKENIZER_FILES = ["tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"];

/** Spec field ↔ HF config key, as the Cerebras converter reads them (fidelity-cerebras.md §7.3). */
const VISION_KEYS: [string, string][] = [
  ["hidden_size", "hidden_size"],
  ["num_hidden_layers", "num_hidden_layers"],
  ["num_heads", "num_attention_heads"],
  ["filter_size", "intermediate_size"],
  ["layer_norm_epsilon", "layer_norm_eps"],
  ["nonlinearity", "hidden_act"],
];
const TEXT_KEYS: [string, string][] = [
  ["hidden_size", "hidden_size"],
  ["num_hidden_layers", "num_hidden_layers"],
  ["num_heads", "num_attention_heads"],
  ["filter_size", "intermediate_size"],
  ["vocab_size", "vocab_size"],
  ["layer_norm_epsilon", "rms_norm_eps"],
  ["rope_theta", "rope_theta"],
];

/** A weights folder's problems, reported against the first phase (the spec's model) that uses them. */
export function checkWeights(dir: string, units: PhaseUnit[], ctx: CheckContext): void {
  const unit = units[0];
  if (!unit) return;
  const d = ctx.diags;
  const at = unit.nameSpan;
  const root = path.resolve(ctx.cwd, dir);
  const show = (f: string) => path.relative(ctx.cwd, f) || f;
  if (!existsSync(root)) {
    d.error("E0601", `weights folder ${dir} does not exist`, at, {
      help: "lay out the HuggingFace weights as seed step 3 says: <dir>/image_model and <dir>/text_model",
    });
    return;
  }

  const readJson = (file: string): Json | undefined => {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as Json;
    } catch (err) {
      d.error("E0605", { file: show(file), reason: (err as Error).message }, at);
      return undefined;
    }
  };

  /** Missing files of a part, each one a diagnostic. */
  const need = (part: Folder | undefined, name: string, files: (string | RegExp)[], what: string) => {
    for (const f of files) {
      const ok = part?.files.some((x) => (typeof f === "string" ? x === f : f.test(x)));
      if (!ok)
        d.error("E0601", `${show(path.join(root, name))} has no ${typeof f === "string" ? f : what}`, at, {
          help: `seed step 3: ${name}/ holds ${what}`,
        });
    }
  };

  const image = list(path.join(root, "image_model"));
  const text = list(path.join(root, "text_model"));
  if (!image)
    d.error("E0601", `${show(path.join(root, "image_model"))} is missing`, at, {
      help: "copy the CLIP ViT-L/14-336 checkpoint there (config.json, preprocessor_config.json, weights)",
    });
  if (!text)
    d.error("E0601", `${show(path.join(root, "text_model"))} is missing`, at, {
      help: "copy the LLaVA (or Vicuna) checkpoint there, with LLaVA's config.json and Vicuna's renamed config_lmsys.json",
    });
  need(image, "image_model", ["config.json", "preprocessor_config.json", WEIGHT_FILE], "the weights (pytorch_model.bin or .safetensors)");
  need(
    text,
    "text_model",
    ["config.json", "config_lmsys.json", INDEX_FILE, WEIGHT_FILE, ...TOKENIZER_FILES],
    "the weight shards and their index",
  );

  // Shard indexes must list files that exist.
  for (const part of [image, text]) {
    for (const idx of part?.files.filter((f) => INDEX_FILE.test(f)) ?? []) {
      const file = path.join(part!.dir, idx);
      const j = readJson(file);
      const map = (j?.weight_map ?? {}) as Record<string, string>;
      const shards = [...new Set(Object.values(map))];
      const missing = shards.filter((s) => !existsSync(path.join(part!.dir, s)));
      if (missing.length)
        d.error(
          "E0603",
          { index: show(file), count: missing.length, files: missing.slice(0, 3).join(", ") + (missing.length > 3 ? ", …" : "") },
          at,
          { help: "download the missing shards, or the index that matches the shards you have" },
        );
    }
  }

  const compare = (irPath: string, spec: unknown, file: string, key: string, value: unknown, explain?: string) => {
    if (value === undefined) return;
    const same =
      typeof spec === "number" && typeof value === "number"
        ? Math.abs(spec - value) <= 1e-12 * Math.max(1, Math.abs(value))
        : JSON.stringify(spec) === JSON.stringify(value);
    if (same) return;
    const span: Span = ctx.spanOf(unit, irPath);
    d.error(
      "E0602",
      `the weights say ${key} = ${JSON.stringify(value)}, but the spec has ${JSON.stringify(spec)}${explain ? ` (${explain})` : ""}`,
      span,
      {
        notes: [
          { message: `${show(file)}: "${key}": ${JSON.stringify(value)}` },
          ...ctx.noteAt(unit, irPath, "the spec's value comes from here"),
        ],
        help: "use the spec that matches these weights, or the weights that match the spec",
      },
    );
  };

  const m = unit.ir.model;
  if (image?.files.includes("config.json")) {
    const file = path.join(image.dir, "config.json");
    let c = readJson(file);
    if (c && typeof c.vision_config === "object" && c.vision_config) c = c.vision_config as Json;
    if (c) {
      const v = m.vision as unknown as Record<string, unknown>;
      for (const [field, key] of VISION_KEYS) compare(`model.vision.${field}`, v[field], file, key, c[key]);
      if (typeof c.image_size === "number")
        compare("model.vision.image_size", pair(m.vision.image_size), file, "image_size", [c.image_size, c.image_size]);
      if (typeof c.patch_size === "number")
        compare("model.vision.patch_size", pair(m.vision.patch_size), file, "patch_size", [c.patch_size, c.patch_size]);
    }
  }
  if (text?.files.includes("config.json")) {
    const file = path.join(text.dir, "config.json");
    const c = readJson(file);
    if (c) {
      const t = m.language;
      for (const [field, key] of TEXT_KEYS)
        compare(`model.language.${field}`, (t as unknown as Record<string, unknown>)[field], file, key, c[key]);
      // Grouped-query attention: HF leaves num_key_value_heads out (or null) for multi-head models.
      if (typeof c.num_key_value_heads === "number")
        compare(
          "model.language.num_key_value_heads",
          t.num_key_value_heads ?? t.num_heads,
          file,
          "num_key_value_heads",
          c.num_key_value_heads,
        );
      compare("model.language.sliding_window", t.sliding_window ?? null, file, "sliding_window", c.sliding_window);
      if (typeof c.max_position_embeddings === "number" && t.max_position_embeddings > c.max_position_embeddings) {
        d.error(
          "E0602",
          `the spec's max_position_embeddings ${t.max_position_embeddings} is longer than the weights were trained for (${c.max_position_embeddings})`,
          ctx.spanOf(unit, "model.language.max_position_embeddings"),
          {
            notes: [{ message: `${show(file)}: "max_position_embeddings": ${c.max_position_embeddings}` }],
          },
        );
      }
      compare("model.vision.hidden_size", m.vision.hidden_size, file, "mm_hidden_size", c.mm_hidden_size, "the projector's input width");
      const feature = c.mm_vision_select_feature;
      if (typeof feature === "string") compare("model.vision.select", m.vision.select, file, "mm_vision_select_feature", feature);
      // HF counts hidden states (the embeddings are state 0): a positive k is Cerebras' block k − 1.
      if (typeof c.mm_vision_select_layer === "number") {
        const k = c.mm_vision_select_layer;
        const cerebras = k > 0 ? k - 1 : k;
        if (cerebras !== m.vision.select_layer)
          compare(
            "model.vision.select_layer",
            m.vision.select_layer,
            file,
            "mm_vision_select_layer",
            k,
            k > 0 ? `HF's ${k} is Cerebras' ${cerebras}` : undefined,
          );
      }
      if (typeof c.mm_projector_type === "string") {
        const p = m.projector;
        const ours = p.$schema === "linear_projector" ? "linear" : `mlp${p.depth}x_${p.activation}`;
        compare("model.projector", ours, file, "mm_projector_type", c.mm_projector_type);
      }
      for (const flag of ["mm_use_im_start_end", "mm_use_im_patch_token"]) {
        if (c[flag] === true)
          d.error("E0606", `${show(file)} sets ${flag}: true, which the Cerebras converter and LLaVA-1.5 do not support`, at, {
            notes: [{ message: `${show(file)}: "${flag}": true` }],
          });
      }
    }
  }

  // The tokenizer the spec derives image_start_idx with must be the one shipped with the weights.
  const tk = m.language.tokenizer;
  const shipped = text && text.files.includes("tokenizer.model") ? path.join(text.dir, "tokenizer.model") : undefined;
  if (tk?.model && shipped) {
    const ours = ctx.resolvePath(tk.model);
    const hash = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
    if (existsSync(ours) && hash(ours) !== hash(shipped)) {
      d.error("E0604", { ours: tk.model, theirs: show(shipped) }, ctx.spanOf(unit, "model.language.tokenizer.model"), {
        notes: [
          {
            message:
              "image_start_idx and the HDF5 files are derived with the spec's tokenizer; training would read them with another vocabulary",
          },
        ],
        help: `point \`tokenizer.model\` at ${show(shipped)}`,
      });
    }
  }
}
