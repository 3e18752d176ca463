// The tokenizer folders of the writer-equality fixture (test/fixtures/cerebras-writer): LLaMA-2's
// tokenizer.model rebuilt from llavac's embedded vocabulary, in the two layouts whose pad rule differs.
// tools/oracles/cerebras_writer.py ran the Cerebras writer on exactly these folders.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadLlamaModelSpec } from "../runtime/text/llama-vocab.js";
import { writeModelProto } from "./sp-model.js";

/**
 * `bare/`: tokenizer.model and a tokenizer_config.json that names the class and the BOS/EOS settings
 * (Hugging Face's AutoTokenizer cannot load a folder without one), no pad token anywhere: the writer pads
 * with eos.
 * `padded/`: as Llama-2-7b-hf ships it, `pad_token: null` in tokenizer_config.json and `<unk>` in
 * special_tokens_map.json: the writer pads with <unk> (0).
 */
// Llama-2-7b-hf's own settings: a BOS in front of every encoded text, no EOS (the writer relies on both).
const CONFIG = { tokenizer_class: "LlamaTokenizer", add_bos_token: true, add_eos_token: false };

export async function writeWriterTokenizers(dir: string): Promise<{ bare: string; padded: string }> {
  const model = writeModelProto(await loadLlamaModelSpec());
  const folder = (name: string, files: Record<string, unknown>) => {
    const d = path.join(dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, "tokenizer.model"), model);
    for (const [f, v] of Object.entries(files)) writeFileSync(path.join(d, f), JSON.stringify(v, null, 2));
    return path.join(d, "tokenizer.model");
  };
  return {
    bare: folder("bare", { "tokenizer_config.json": CONFIG }),
    padded: folder("padded", {
      "tokenizer_config.json": { ...CONFIG, pad_token: null },
      "special_tokens_map.json": { bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", pad_token: "<unk>" },
    }),
  };
}
