// Templates with special tokens (the `turns` layout: llama3, chatml, mistral_instruct): the ids llavac lays out
// for 2-turn conversations equal what transformers' apply_chat_template produced with each model's published chat
// template and the same tokenizer (test/fixtures/tokjson/chat.json, made by tools/tokjson/gen_fixtures.py), and
// the loss row marks exactly the assistant answers and their end-of-turn token. Then what check derives and
// diagnoses, and what each Cerebras release's preprocessing config can say.
import { readFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { filesToWrite } from "../compiler/build.js";
import { templateOf } from "../compiler/derive.js";
import type { TemplateIR } from "../compiler/ir.js";
import { DataPreprocess } from "../compiler/schemas/cerebras-2.10.js";
import { stdlib } from "../compiler/stdlib.js";
import { loadJsonTokenizer } from "../runtime/text/hf-tokenizer.js";
import { imageStartIndex, layoutConversation, planConversation, type Turn } from "../runtime/text/layout.js";
import { viewSample } from "../runtime/data/inspect.js";
import { check, TINY, TINY_DIRS } from "./helpers.js";
import { TOKJSON } from "./tokjson-data.js";

interface ChatCase {
  system: string | null;
  turns: Turn[];
  text: string;
  ids: number[];
  assistant_mask: number[];
}
const chat = JSON.parse(readFileSync(path.join(TOKJSON, "chat.json"), "utf8")) as { templates: Record<string, ChatCase[]> };
const FOLDER: Record<string, string> = { llama3: "llama3", chatml: "qwen2", mistral_instruct: "mistral" };

function stdTemplate(name: string): TemplateIR {
  const t = stdlib()
    .instances("template")
    .find((x) => x.name === name);
  if (!t) throw new Error(`no template ${name}`);
  return { ...(t.plain as unknown as TemplateIR), $name: name };
}
const NO_CLEANING = { useFtfy: false, normalizer: "NFC" as const };

describe("turns templates lay out what apply_chat_template gives", () => {
  for (const name of ["llama3", "chatml", "mistral_instruct"]) {
    it(`${name}: ids and loss mask of every fixture conversation`, async () => {
      const tok = await loadJsonTokenizer(path.join(TOKJSON, FOLDER[name]!, "tokenizer.json"));
      const cases = chat.templates[name]!;
      expect(cases.length).toBeGreaterThanOrEqual(2);
      for (const c of cases) {
        const ir = stdTemplate(name);
        const t = templateOf(c.system === null ? ir : { ...ir, system: c.system });
        // no image: HF's template has no image slots; the prompt texts are laid out as the model's template renders them
        const plan = planConversation(tok, t, c.turns, false, { numPatches: 0, msl: 4096, cleaning: NO_CLEANING });
        if (!plan.ok) throw new Error(plan.detail);
        expect(plan.tokens, c.text).toEqual(c.ids);
        const rows = layoutConversation(tok, t, c.turns, false, { numPatches: 0, msl: 4096, cleaning: NO_CLEANING });
        if (!rows.ok) throw new Error(rows.detail);
        // loss at position j trains the prediction of token j + 1: it is the HF assistant mask shifted by one
        const loss = [...rows.rows[1].slice(0, c.ids.length - 1)];
        expect(loss, c.text).toEqual(c.assistant_mask.slice(1));
        // the end-of-turn token of every answer is among the supervised targets
        const eot = tok.pieceToId(t.turns!.assistantFooter);
        const eotTargets = c.ids.flatMap((id, k) => (id === eot && loss[k - 1] === 1 ? [k] : []));
        expect(eotTargets.length).toBe(2);
      }
    });
  }

  it("the image slots go at the start of the first user message; image_start_idx counts what comes before", async () => {
    const tok = await loadJsonTokenizer(path.join(TOKJSON, "llama3", "tokenizer.json"));
    const t = templateOf(stdTemplate("llama3"));
    // <|begin_of_text|> <|start_header_id|> user <|end_header_id|> \n\n
    const header = [tok.bosId, ...tok.encode("<|start_header_id|>user<|end_header_id|>\n\n")];
    expect(imageStartIndex(tok, t, 4)).toBe(header.length);
    const r = layoutConversation(
      tok,
      t,
      [
        { from: "human", value: "<image>\nWhat?" },
        { from: "gpt", value: "A cat." },
      ],
      true,
      {
        numPatches: 4,
        msl: 64,
      },
    );
    if (!r.ok) throw new Error(r.detail);
    expect([...r.rows[0].slice(0, header.length)]).toEqual(header);
    expect([...r.rows[0].slice(header.length, header.length + 4)]).toEqual([tok.padId, tok.padId, tok.padId, tok.padId]);
    expect([...r.rows[3].slice(header.length, header.length + 4)]).toEqual([0, 0, 0, 0]); // the slots are attended
  });
});

describe("data inspect of a turns sample", () => {
  it("shows the special tokens as written, byte-level pieces as text, and the loss on the answers and <|eot_id|>", async () => {
    const tok = await loadJsonTokenizer(path.join(TOKJSON, "llama3", "tokenizer.json"));
    const t = templateOf(stdTemplate("llama3"));
    const r = layoutConversation(
      tok,
      t,
      [
        { from: "human", value: "<image>\nWhat is it?" },
        { from: "gpt", value: "A red square." },
      ],
      true,
      {
        numPatches: 2,
        msl: 40,
      },
    );
    if (!r.ok) throw new Error(r.detail);
    const file = { path: "x.h5", n: 1, msl: 40, rows: () => r.rows, block: () => new Int32Array(), imagePath: () => "a.png" };
    const v = viewSample(file as never, 0, tok, r.imageStart, 2);
    const text = v.tokens
      .filter((x) => !x.slot)
      .map((x) => x.text)
      .join("");
    expect(text).toBe(
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is it?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nA red square.",
    );
    // loss at j trains token j + 1: from the assistant header's last piece up to the answer's last, whose label is <|eot_id|>
    const lossLabels = v.tokens.filter((x) => x.loss).map((x) => x.label);
    expect(lossLabels.at(-1)).toBe(tok.pieceToId("<|eot_id|>"));
    expect(tok.decode(lossLabels)).toBe("A red square.");
  });
});

// A spec whose language model uses a fixture tokenizer, for check and build.
function spec(folder: string, family: string, vocab: number, tune: string, align = "plain", release?: string): string {
  const json = JSON.stringify(path.join(TOKJSON, folder, "tokenizer.json"));
  let s = TINY.replace(
    "language  = tiny_llama",
    `language  = tiny_llama { tokenizer_family: ${family}, vocab_size: ${vocab}, tokenizer: tokenizer { json: ${json}, huggingface: "org/${folder}" } }`,
  )
    .replace("template  = vicuna_v1", `template  = ${tune}`)
    .replace("template  = plain", `template  = ${align}`)
    .replace(
      'import { plain, vicuna_v1 } from "std/templates"',
      'import { plain, vicuna_v1, llama3, chatml, mistral_instruct } from "std/templates"',
    );
  if (release) s += `\ncerebras cluster { release: "${release}" }\n`;
  return s;
}

describe("check and build with tokenizer.json tokenizers and turns templates", () => {
  it("derives image_start_idx from the spec's own tokenizer and template; a turns template is one clear E0824 for create_hdf5_dataset.py", async () => {
    const r = await check(spec("llama3", "llama3", 3008, "llama3"), { dirs: TINY_DIRS });
    expect(r.codes).toEqual(["E0824"]);
    expect(r.one("E0824").message).toMatch(/template llama3 lays out turns with special tokens.*2\.2\.1, 2\.3\.0/);
    const [align, tune] = r.result.phases;
    expect(align!.derived!.imageStartIdx).toBe(1);
    expect(tune!.derived!.imageStartIdx).toBe(5); // <|begin_of_text|> <|start_header_id|> user <|end_header_id|> \n\n
    expect(tune!.derived!.tokenizer!.source).toMatch(/llama3\/tokenizer\.json$/);
    const ok = await check(
      spec("llama3", "llama3", 3008, "llama3").replace('preprocess = hdf5_writer { output: "./h5/tune_raw" }', "preprocess = none"),
      {
        dirs: TINY_DIRS,
      },
    );
    expect(ok.codes).toEqual([]);
  });

  it("chatml with Qwen2's tokenizer: no BOS, so image_start_idx is the system block and the user header", async () => {
    const r = await check(
      spec("qwen2", "qwen2", 3008, "chatml", "chatml")
        .replaceAll('preprocess = hdf5_writer { output: "./h5/align_raw" }', "preprocess = none")
        .replace('preprocess = hdf5_writer { output: "./h5/tune_raw" }', "preprocess = none"),
      { dirs: TINY_DIRS },
    );
    expect(r.codes).toEqual([]);
    const tok = await loadJsonTokenizer(path.join(TOKJSON, "qwen2", "tokenizer.json"));
    const before = tok.encode("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n").length;
    expect(r.result.phases[1]!.derived!.imageStartIdx).toBe(before);
  });

  it("a tokenizer.json may have fewer tokens than vocab_size (Qwen2's padded embedding), never more (E0315)", async () => {
    const none = (x: string) => x.replaceAll(/preprocess = hdf5_writer \{ output: "[^"]*" \}/g, "preprocess = none");
    expect((await check(none(spec("qwen2", "qwen2", 3072, "chatml", "chatml")), { dirs: TINY_DIRS })).codes).toEqual([]);
    const small = await check(none(spec("qwen2", "qwen2", 3000, "chatml", "chatml")), { dirs: TINY_DIRS });
    expect(small.one("E0315").message).toMatch(/the tokenizer has 3,008 pieces but the language model's vocab_size is 3,000/);
  });

  it("a template that starts with BOS and a tokenizer without one is E0823", async () => {
    const r = await check(spec("qwen2", "qwen2", 3008, "chatml"), { dirs: TINY_DIRS });
    expect(r.one("E0823").message).toMatch(
      /template `plain` starts each sample with BOS, but the tokenizer .*qwen2\/tokenizer\.json has no bos_token/,
    );
  });

  it("a template whose special tokens the tokenizer lacks is E0822 (llama3 with the embedded LLaMA-2 vocabulary), not text", async () => {
    const r = await check(
      TINY.replace("template  = vicuna_v1", "template  = llama3").replace(
        'import { plain, vicuna_v1 } from "std/templates"',
        'import { plain, llama3 } from "std/templates"',
      ),
      {
        dirs: TINY_DIRS,
      },
    );
    const e = r.one("E0822");
    expect(e.message).toMatch(
      /template `llama3` uses the special tokens `<\|start_header_id\|>`, `<\|end_header_id\|>`, `<\|eot_id\|>`, which the tokenizer llama-2 \(embedded\) does not have/,
    );
    expect(r.result.phases[1]!.derived?.imageStartIdx).toBeUndefined();
  });

  it("mistral_instruct with a converted sentencepiece tokenizer.json, and the same model's tokenizer.model, derive the same image_start_idx", async () => {
    const json = await check(
      spec("mistral", "mistral", 2000, "mistral_instruct").replace(
        'preprocess = hdf5_writer { output: "./h5/tune_raw" }',
        "preprocess = none",
      ),
      { dirs: TINY_DIRS },
    );
    expect(json.codes).toEqual([]);
    const model = JSON.stringify(path.join(TOKJSON, "mistral", "tokenizer.model"));
    const sp = await check(
      spec("mistral", "mistral", 2000, "mistral_instruct")
        .replace(/json: "[^"]*"/, `model: ${model}`)
        .replace('preprocess = hdf5_writer { output: "./h5/tune_raw" }', "preprocess = none"),
      { dirs: TINY_DIRS },
    );
    expect(sp.codes).toEqual([]);
    expect(sp.result.phases[1]!.derived!.imageStartIdx).toBe(json.result.phases[1]!.derived!.imageStartIdx);
  });

  it("tokenizer declarations: a byte-level family with a sentencepiece model is E0821, both files E0820, none E0311 with the json fix", async () => {
    const lang = (x: string) => TINY.replace("language  = tiny_llama", `language  = tiny_llama { ${x} }`);
    expect(
      (await check(lang('tokenizer_family: llama3, tokenizer: tokenizer { model: "./t.model" }'), { dirs: TINY_DIRS })).one("E0821")
        .message,
    ).toMatch(/llama3-family tokenizers are byte-level BPE/);
    expect(
      (await check(lang('tokenizer: tokenizer { model: "./t.model", json: "./tokenizer.json" }'), { dirs: TINY_DIRS })).codes,
    ).toContain("E0820");
    const none = (await check(lang("tokenizer_family: qwen2"), { dirs: TINY_DIRS })).one("E0311");
    expect(none.help.join("\n")).toMatch(/json: "…\/tokenizer\.json"/);
  });

  it("2.10: phase 1 of a Llama-3 model emits the custom Llama-3 tokenizer form (llava_phase_1_llama3.yaml), valid by its schema; a turns template is E0824", async () => {
    const s = spec("llama3", "llama3", 3008, "llama3", "plain", "2.10");
    const r = await check(s, { dirs: TINY_DIRS });
    expect(r.codes).toEqual(["E0824"]);
    expect(r.one("E0824").message).toMatch(/release 2\.10's data-preprocessing hooks/);
    const p1 = await check(s.replace('preprocess = hdf5_writer { output: "./h5/tune_raw" }', "preprocess = none"), { dirs: TINY_DIRS });
    expect(p1.codes).toEqual([]);
    const files = new Map(filesToWrite(p1.result.emitted).map((f) => [f.path, f.content]));
    const doc = load(files.get("align/preprocess.yaml")!) as { processing: Record<string, unknown>; dataset: Record<string, unknown> };
    expect(doc.processing.custom_tokenizer).toBe(
      "cerebras.modelzoo.data_preparation.data_preprocessing.custom_tokenizer_example.CustomLlama3Tokenizer:CustomLlama3Tokenizer",
    );
    expect(doc.processing.tokenizer_params).toEqual({ pretrained_model_name_or_path: "org/llama3" });
    expect(doc.processing.huggingface_tokenizer).toBeUndefined();
    expect(doc.processing.read_hook).toMatch(/finetuning_llava_hook_prompt_completion$/);
    expect(DataPreprocess.safeParse(doc).success).toBe(true);
    // the schema refuses both tokenizer forms at once, and a custom tokenizer without its parameters
    expect(DataPreprocess.safeParse({ ...doc, processing: { ...doc.processing, huggingface_tokenizer: "x" } }).success).toBe(false);
    expect(DataPreprocess.safeParse({ ...doc, processing: { ...doc.processing, tokenizer_params: undefined } }).success).toBe(false);
  });
});
