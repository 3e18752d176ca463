// A LLaVA with Mistral-7B-Instruct-v0.2 checked with Mistral's real tokenizer: mistral_common 1.12.0's
// `data/tokenizer.model.v1` is the Mistral-7B v0.1/v0.2 sentencepiece model (32,000 pieces). The wheel comes
// from the local pip store (`.ci/run` puts it in .oracles/wheels/); the model file is never committed. The
// test unzips it, checks a spec that names it, and holds the text model to transformers' 7,241,732,096
// parameters and image_start_idx to what the real model gives for the mistral_instruct template's text
// before the image (`<s>` + "[INST] "), as Python's sentencepiece encodes it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { check } from "../compiler/index.js";
import { ROOT } from "./helpers.js";
import { oraclePython } from "./oracle-python.js";

const WHEEL = "mistral_common-1.12.0-py3-none-any.whl";
const MEMBER = "mistral_common/data/tokenizer.model.v1";

/** The wheel: .oracles/wheels (CI), the machine's pip store, else `pip download` from the configured store. */
function findWheel(tmp: string): string | undefined {
  for (const p of [path.join(ROOT, ".oracles/wheels", WHEEL), path.join("/opt/pypi-more/files", WHEEL)]) if (existsSync(p)) return p;
  const py = oraclePython();
  if (!py) return undefined;
  const args = ["-m", "pip", "download", "mistral-common==1.12.0", "--no-deps", "--retries", "0", "--timeout", "10", "-d", tmp];
  spawnSync(py, args, { stdio: "ignore", timeout: 60_000 });
  const hit = readdirSync(tmp).find((f) => f === WHEEL);
  return hit && path.join(tmp, hit);
}

const dir = mkdtempSync(path.join(tmpdir(), "llavac-mistral-"));
const wheel = findWheel(dir);
const py = oraclePython();
const skip = !wheel || !py ? `skipped: ${!wheel ? `${WHEEL} is not in .oracles/wheels or the pip store` : "no python3 to unzip it"}` : "";
if (skip) console.warn(`mistral-real-tokenizer: ${skip}`);

let model: string;
beforeAll(() => {
  if (skip) return;
  // Python's zipfile (the standard library): no zip reader is among the project's dependencies.
  const code = "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])";
  const r = spawnSync(py!, ["-c", code, wheel!, MEMBER, dir], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`unzip ${wheel}: ${r.stderr}`);
  model = path.join(dir, MEMBER);
});

const spec = (m: string) => `import { clip_vit_l14_336 } from "std/vision"
import { mistral_7b_instruct_v0_2, tokenizer } from "std/language"
import { mlp2x_gelu } from "std/projectors"
import { llava_mix_665k } from "std/datasets"
import { mistral_instruct } from "std/templates"

model llava_mistral {
  vision    = clip_vit_l14_336 { select_layer: -2, select: patch }
  projector = mlp2x_gelu
  language  = mistral_7b_instruct_v0_2 {
    max_position_embeddings: 4096
    tokenizer: tokenizer { model: ${JSON.stringify(m)}, huggingface: "mistralai/Mistral-7B-Instruct-v0.2" }
  }
}

phase finetune {
  model      = llava_mistral
  data       = llava_mix_665k { jsonl: "jsonl" }
  template   = mistral_instruct
  images     = "images"
  hdf5       = "h5"
  preprocess = none
  freeze     = [/^image_model/]
  batch      = 128 per step, 16 per micro-batch
  optimizer  = adamw { lr: 2e-5 }
  schedule   = warmup_cosine { length: 1 epoch, warmup: 3% }
}
`;

describe.skipIf(!!skip)("Mistral-7B LLaVA with Mistral's real sentencepiece tokenizer", () => {
  it("check counts the text model at 7,241,732,096 and derives image_start_idx from the real model", async () => {
    const file = path.join(dir, "mistral.llava");
    writeFileSync(file, spec(model));
    const r = await check(file, { cwd: dir, env: {} });
    expect(r.errors, JSON.stringify(r.diagnostics.filter((d) => d.severity === "error"))).toBe(0);
    const d = r.phases[0]!.derived!;
    expect(d.counts.byComponent.text_model!.total).toBe(7_241_732_096);
    // The tokenizer the derivation used is that file (not the embedded LLaMA-2 vocabulary, whose "[INST] " is
    // also 4 pieces): its source, its size and Mistral's BOS/EOS.
    expect(d.tokenizer!.source).toContain(MEMBER);
    expect([d.tokenizer!.vocabSize, d.tokenizer!.bos, d.tokenizer!.eos]).toEqual([32000, 1, 2]);
    // Python's sentencepiece on the same file: [1] + encode("[INST] ") = [1, 733, 16289, 28793, 28705]
    // ("▁[", "INST", "]", "▁"): the image goes at 5.
    expect(d.imageStartIdx).toBe(5);
  });

  it("the expected index is what Python's sentencepiece gives (where the Debian module is installed)", () => {
    const sp = oraclePython("sentencepiece");
    if (!sp) return console.warn("mistral-real-tokenizer: skipped the sentencepiece cross-check: no python3-sentencepiece");
    const code =
      "import sys, sentencepiece as s; m = s.SentencePieceProcessor(model_file=sys.argv[1]); print(m.vocab_size(), m.bos_id(), m.encode('[INST] '))";
    const r = spawnSync(sp, ["-c", code, model], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("32000 1 [733, 16289, 28793, 28705]");
  });
});
