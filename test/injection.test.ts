// Strings from a spec land in YAML and JSON unchanged, whatever they hold: they can never add keys.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { parse } from "../grammar/index.js";
import { buildFiles, flatten } from "./build-helpers.js";
import { TINY, VIRTUAL } from "./helpers.js";

const NASTY = [
  `quote " and ' both`,
  "new\nline\n\nand a trailing one\n",
  "key: value # comment",
  "- item",
  "${HOME} and $(rm -rf /) and `backticks`",
  "日本語 ünïcödé 😀",
  "  leading and trailing spaces  ",
  "yes",
  "null",
  "0x10",
  "&anchor *alias !!python/object:os.system",
  "{ a: 1 }",
  "tab\there",
];

/** A spec literal for `s`, with the escapes the .llava string syntax needs. */
function literal(s: string): string {
  return JSON.stringify(s);
}

function python(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    try {
      execFileSync(py, ["-c", "import yaml"], { stdio: "ignore" });
      return py;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

describe("injection: spec strings round-trip through the emitted YAML", () => {
  it.each(NASTY.map((s, i) => [i, s] as const))("string %i", async (_, nasty) => {
    let src = TINY.replace('images    = "./images"', `images    = ${literal(nasty)}`);
    src = src.replace('hdf5      = "./h5/align"', `hdf5      = ${literal("./h5/" + nasty)}`);
    src = src.replace(
      'preprocess = hdf5_writer { output: "./h5/align_raw" }',
      `preprocess = hdf5_writer { output: ${literal(nasty)}, input: ${literal(nasty + "/in")} }`,
    );
    src = src.replace("language  = tiny_llama", `language  = tiny_llama { tokenizer: tokenizer { huggingface: ${literal(nasty)} } }`);
    const { result, files } = await buildFiles(path.join(VIRTUAL, "inject.llava"), { source: src });
    expect(result.diags.errorCount, result.diags.items.map((d) => d.message).join("\n")).toBe(0);
    const params = load(files.get("align/params.yaml")!) as any;
    expect(params.train_input.img_data_dir).toBe(nasty);
    expect(params.eval_input.img_data_dir).toBe(nasty);
    expect(params.train_input.data_dir).toBe("./h5/" + nasty);
    const pre = load(files.get("align/preprocess.yaml")!) as any;
    expect(pre.setup.output_dir).toBe(nasty);
    expect(pre.setup.input_dir).toBe(nasty + "/in");
    expect(pre.processing.huggingface_tokenizer).toBe(nasty);
    expect(pre.dataset.image_dir).toBe(nasty);
    // No key was added or lost: the key set equals that of a build with plain strings.
    const plain = await buildFiles(path.join(VIRTUAL, "inject.llava"), { source: TINY });
    expect([...flatten(params).keys()]).toEqual([...flatten(load(plain.files.get("align/params.yaml")!)).keys()]);
    expect([...flatten(pre).keys()]).toEqual([...flatten(load(plain.files.get("align/preprocess.yaml")!)).keys()]);
    // The manifest is JSON and parses.
    expect(() => JSON.parse(files.get("manifest.json")!)).not.toThrow();
  });

  const py = python();
  it.skipIf(!py)("PyYAML (what Cerebras uses) reads the same values", async () => {
    const src = TINY.replace('images    = "./images"', `images    = ${literal(NASTY.join("|"))}`);
    const { files } = await buildFiles(path.join(VIRTUAL, "inject.llava"), { source: src });
    const out = execFileSync(
      py!,
      [
        "-c",
        "import sys, json, yaml; d = yaml.safe_load(sys.stdin); print(json.dumps([d['train_input']['img_data_dir'], sorted(d.keys()), d['optimizer']['eps']]))",
      ],
      { input: files.get("align/params.yaml")! },
    ).toString();
    expect(JSON.parse(out)).toEqual([NASTY.join("|"), ["eval_input", "model", "optimizer", "runconfig", "train_input"], 1e-8]);
  });

  it("names are identifiers: quotes, newlines or backticks cannot be part of one", () => {
    for (const bad of ['phase "p" { }', "phase p`x { }", "phase p${x} { }", "phase pé { }"]) {
      expect(parse(bad, "t.llava").problems.length, bad).toBeGreaterThan(0);
    }
  });
});
