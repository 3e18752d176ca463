// Writes a spec with N declarations (datasets, lets, models, optimizers and phases in equal parts),
// for measuring how `llavac check` scales. Usage: node bench/gen-spec.mjs N > spec.llava
export function generateSpec(n) {
  const out = [
    'import { tiny_vit } from "std/vision"',
    'import { tiny_llama } from "std/language"',
    'import { mlp2x_gelu, linear } from "std/projectors"',
    'import { plain, vicuna_v1 } from "std/templates"',
    "",
  ];
  const groups = Math.ceil(n / 5);
  for (let i = 0; i < groups; i++) {
    out.push(`dataset ds_${i} { format: llava_jsonl, samples: ${1000 + i}, jsonl: "./jsonl/${i}" }`);
    out.push(`let lr_${i} = 1e-4 * ${1 + (i % 7)}`);
    out.push(
      `model m_${i} {\n  vision = tiny_vit { select_layer: -1 }\n  projector = ${i % 2 ? "linear" : "mlp2x_gelu"}\n  language = tiny_llama { max_position_embeddings: ${96 + (i % 32)} }\n}`,
    );
    out.push(`let opt_${i} = adamw { lr: lr_${i}, betas: (0.9, 0.99) }`);
    out.push(
      `phase p_${i} {\n  model = m_${i}\n  data = ds_${i}\n  template = ${i % 2 ? "plain" : "vicuna_v1"}\n  images = "./images"\n  hdf5 = "./h5/${i}"\n  freeze = [/^image_model/${i % 2 ? ", /^text_model/" : ""}]\n  batch = 32 per step, 8 per micro-batch\n  optimizer = opt_${i}\n  schedule = warmup_cosine { length: 1 epoch, warmup: 5% }\n}`,
    );
  }
  return out.join("\n") + "\n";
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(generateSpec(Number(process.argv[2] ?? 1000)));
