// The tokenizer: exact sentencepiece BPE over the embedded LLaMA-2 vocabulary, and a user's tokenizer.model.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import llama from "llama-tokenizer-js";
import { describe, expect, it } from "vitest";
import { loadLlamaModelSpec } from "../runtime/text/llama-vocab.js";
import { parseModelProto, SentencePieceBPE } from "../runtime/text/sentencepiece.js";
import { loadTokenizer } from "../runtime/text/tokenizer.js";
import { load } from "js-yaml";
import { filesToWrite } from "../compiler/build.js";
import { stdlib } from "../compiler/stdlib.js";
import { check, locate, pos, TINY, TINY_DIRS } from "./helpers.js";
import { writeModelProto } from "./sp-model.js";

const SAMPLES = [
  "A chat between a curious user and an artificial intelligence assistant. USER:",
  "hello  world",
  "  leading spaces",
  "trailing  ",
  "digits 12345 and 3.14159",
  "emoji 😀 ü é 日本語 ∑",
  "tabs\tand\nnewlines\n\n",
  "▁▁ literal",
  "ASSISTANT:",
  "",
  " ",
  "<s> is not special here",
  "\u0000\u0001 control",
];

describe("tokenizer", () => {
  it("encodes like llama-tokenizer-js (another implementation over the same vocabulary)", async () => {
    const t = await loadTokenizer({ kind: "llama2" });
    for (const s of SAMPLES) expect(t.encode(s), JSON.stringify(s)).toEqual(llama.encode(s, false, true));
    expect([t.bosId, t.eosId, t.padId, t.vocabSize]).toEqual([1, 2, 0, 32000]);
  });

  it("decodes what it encodes", async () => {
    const t = await loadTokenizer({ kind: "llama2" });
    // A literal "▁" decodes to a space in sentencepiece too; leading spaces fold into the dummy prefix.
    for (const s of SAMPLES.filter((x) => !x.startsWith(" ") && !x.includes("▁"))) expect(t.decode(t.encode(s))).toBe(s);
  });

  it("pads as the Cerebras writer does: the folder's pad_token (tokenizer_config.json, then special_tokens_map.json), else eos; a spec's pad_id wins", async () => {
    const model = writeModelProto(await loadLlamaModelSpec());
    const folder = (files: Record<string, unknown>) => {
      const dir = mkdtempSync(path.join(tmpdir(), "llavac-pad-"));
      writeFileSync(path.join(dir, "tokenizer.model"), model);
      for (const [name, v] of Object.entries(files)) writeFileSync(path.join(dir, name), JSON.stringify(v));
      return path.join(dir, "tokenizer.model");
    };
    const pad = async (file: string, padId?: number) => (await loadTokenizer({ kind: "file", path: file }, padId)).padId;
    expect(await pad(folder({}))).toBe(2); // a bare tokenizer.model has no pad token: eos
    expect(await pad(folder({ "special_tokens_map.json": { pad_token: "<unk>" } }))).toBe(0);
    expect(
      await pad(folder({ "tokenizer_config.json": { pad_token: { content: "</s>" } }, "special_tokens_map.json": { pad_token: "<unk>" } })),
    ).toBe(2);
    expect(await pad(folder({ "tokenizer_config.json": { pad_token: null }, "special_tokens_map.json": { pad_token: "<unk>" } }))).toBe(0);
    expect(await pad(folder({}), 7)).toBe(7);
  });

  it("reads a tokenizer.model file: the LLaMA-2 model rebuilt from the embedded data encodes identically", async () => {
    const spec = await loadLlamaModelSpec();
    const parsed = parseModelProto(writeModelProto(spec));
    expect(parsed.pieces.length).toBe(32000);
    expect(parsed.pieces.slice(0, 4).map((p) => [p.piece, p.type])).toEqual([
      ["<unk>", 2],
      ["<s>", 3],
      ["</s>", 3],
      ["<0x00>", 6],
    ]);
    const a = new SentencePieceBPE(spec),
      b = new SentencePieceBPE(parsed);
    for (const s of SAMPLES) expect(b.encode(s)).toEqual(a.encode(s));
  });

  it("rejects models it cannot encode exactly, with a reason", () => {
    expect(
      () =>
        new SentencePieceBPE({
          ...parseModelProto(
            writeModelProto({
              pieces: [{ piece: "a", score: 0, type: 1 }],
              modelType: 1,
              byteFallback: false,
              addDummyPrefix: true,
              removeExtraWhitespaces: true,
              escapeWhitespaces: true,
              normalizerName: "",
              hasCharsmap: false,
              unkId: 0,
              bosId: 1,
              eosId: 2,
              padId: -1,
            }),
          ),
        }),
    ).toThrow(/only BPE/);
  });

  it("a spec's tokenizer.model is the one image_start_idx is derived with", async () => {
    const spec = await loadLlamaModelSpec();
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-tok-"));
    writeFileSync(path.join(dir, "same.model"), writeModelProto(spec));
    // "USER:" is ▁US + ER + ":". Without the pieces that merge its letters it is ▁ U S E R : (six
    // tokens, three more), so the image slots start three positions later.
    const pieces = spec.pieces.map((p) => (p.piece.length > 1 && "▁USER".includes(p.piece) ? { ...p, piece: p.piece + "_removed" } : p));
    writeFileSync(path.join(dir, "other.model"), writeModelProto({ ...spec, pieces }));
    const withModel = (file: string) => tinyWithTokenizer(path.join(dir, file));
    const same = await check(withModel("same.model"), { dirs: TINY_DIRS });
    expect(same.errors).toEqual([]);
    expect(same.result.phases[1]!.derived!.imageStartIdx).toBe(35);
    const other = await check(withModel("other.model"), { dirs: TINY_DIRS });
    expect(other.result.phases[1]!.derived!.imageStartIdx).toBe(38);
    const missing = await check(withModel("nope.model"), { dirs: TINY_DIRS });
    expect(missing.one("E0308").message).toMatch(/cannot load the tokenizer/);
  });
});

function tinyWithTokenizer(file: string): string {
  return TINY.replace(
    "language  = tiny_llama",
    `language  = tiny_llama { tokenizer: tokenizer { model: ${JSON.stringify(file)}, huggingface: "org/same-vocabulary" } }`,
  );
}

describe("tokenizer family: no silent LLaMA-2 tokenizer", () => {
  const lang = (override: string) => TINY.replace("language  = tiny_llama", `language  = tiny_llama { ${override} }`);

  it("every standard-library language model names its family and the Hugging Face tokenizer the Cerebras writer loads", () => {
    const models = stdlib().instances("llama");
    expect(models.map((m) => m.name)).toContain("vicuna_7b_v1_5");
    expect(models.map((m) => m.name)).toContain("llama3_8b_instruct");
    for (const m of models) {
      const tokenizer = m.plain.tokenizer as { huggingface?: string } | undefined;
      if (m.plain.tokenizer_family === "llama2") expect(tokenizer?.huggingface, m.name).toBe("NousResearch/Llama-2-7b-hf");
      // Another family's vocabulary is not embedded: the model carries none, so a spec must name its own (E0311).
      else expect(tokenizer, m.name).toBeUndefined();
    }
  });

  it("a model of another family without a tokenizer.model is E0311 at the family, naming it and the fix; nothing is derived", async () => {
    const source = lang("tokenizer_family: llama3");
    const r = await check(source, { dirs: TINY_DIRS });
    const e = r.one("E0311");
    expect(e.message).toMatch(/llama3-family model/);
    expect(e.message).toMatch(/embedded vocabulary is llama2's/);
    expect(e.help.join("\n")).toMatch(/tokenizer: tokenizer \{ json: "…\/tokenizer\.json", huggingface:/); // byte-level BPE
    expect(pos(e)).toEqual(locate(source, "llama3"));
    expect(r.result.phases.every((p) => p.derived === undefined)).toBe(true);
  });

  it("the same model with its own tokenizer.model derives with it (no E0311)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-fam-"));
    const file = path.join(dir, "own.model");
    writeFileSync(file, writeModelProto(await loadLlamaModelSpec()));
    const r = await check(
      lang(`tokenizer_family: mistral, tokenizer: tokenizer { model: ${JSON.stringify(file)}, huggingface: "org/own" }`),
      { dirs: TINY_DIRS },
    );
    expect(r.errors).toEqual([]);
    expect(r.result.phases[1]!.derived!.tokenizer!.source).toContain("own.model");
  });

  it("the emitted huggingface_tokenizer is the spec's; a tokenizer without one is E0312 (check and build alike), not a default", async () => {
    const named = await check(lang('tokenizer: tokenizer { huggingface: "org/some-tokenizer" }'), { dirs: TINY_DIRS });
    expect(named.errors).toEqual([]);
    const files = new Map(filesToWrite(named.result.emitted).map((f) => [f.path, f.content]));
    expect((load(files.get("align/preprocess.yaml")!) as { processing: Record<string, unknown> }).processing.huggingface_tokenizer).toBe(
      "org/some-tokenizer",
    );

    const source = lang("tokenizer: tokenizer {}");
    const unnamed = await check(source, { dirs: TINY_DIRS });
    expect(unnamed.errors.map((d) => d.code)).toEqual(["E0312"]); // at the one tokenizer both phases use
    const outputs = filesToWrite(unnamed.result.emitted);
    const e = unnamed.result.diags.sorted().find((d) => d.code === "E0312");
    expect(e?.message).toMatch(/loads a Hugging Face tokenizer, and the language model names none/);
    expect(e?.help.join("\n")).toMatch(/llama2_tokenizer/);
    expect(pos(e!)).toEqual(locate(source, "tokenizer {}"));
    expect(outputs.some((f) => f.path.endsWith("preprocess.yaml"))).toBe(false);
  });

  it("a local huggingface folder must hold the spec's tokenizer.model (E1100); a missing one is W1100; a Hub name is not looked up", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-hf-"));
    const ours = path.join(dir, "ours.model");
    writeFileSync(ours, writeModelProto(await loadLlamaModelSpec()));
    const spec = (hf: string) => lang(`tokenizer: tokenizer { model: ${JSON.stringify(ours)}, huggingface: ${JSON.stringify(hf)} }`);
    const codes = async (hf: string) => (await check(spec(hf), { dirs: TINY_DIRS })).result.diags.sorted().map((d) => d.code);
    mkdirSync(path.join(dir, "same"));
    copyFileSync(ours, path.join(dir, "same", "tokenizer.model"));
    expect(await codes(path.join(dir, "same"))).toEqual([]);
    expect(await codes("org/not-looked-up")).toEqual([]);
    const missing = await check(spec(path.join(dir, "nowhere")), { dirs: TINY_DIRS });
    expect(missing.one("W1100").message).toMatch(/tokenizer folder \S*nowhere does not exist/);
    expect(missing.errors).toEqual([]);
    mkdirSync(path.join(dir, "other"));
    writeFileSync(path.join(dir, "other", "tokenizer.model"), "another vocabulary");
    const other = await check(spec(path.join(dir, "other")), { dirs: TINY_DIRS });
    expect(other.one("E1100").message).toMatch(/holds another tokenizer\.model than \S*ours\.model/);
    expect(pos(other.one("E1100"))).toEqual(locate(spec(path.join(dir, "other")), JSON.stringify(path.join(dir, "other"))));
    mkdirSync(path.join(dir, "empty"));
    expect((await check(spec(path.join(dir, "empty")), { dirs: TINY_DIRS })).one("E1100").message).toMatch(/holds no tokenizer\.model/);
  });
});
