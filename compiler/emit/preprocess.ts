// The matching HDF5 preprocessing config for Cerebras' `create_hdf5_dataset.py LlavaPhaseOne|LlavaPhaseTwo`.
import { NUM_PATCHES_RULE } from "../../runtime/model/arch.js";
import type { Derived } from "../derive.js";
import type { ErrorCode } from "../codes.js";
import type { HdfWriterIR, PhaseIR } from "../ir.js";
import type { KeyOrigins } from "./cerebras-params.js";
import { float, type YValue } from "./yaml.js";
import { EMBEDDED_FAMILY } from "../../runtime/text/tokenizer.js";

/** A spec the Cerebras preprocessor cannot run, found while emitting (a user diagnostic, not a schema rejection). */
export interface PreprocessProblem {
  code: ErrorCode;
  irPath: string;
  message: string;
  help: string;
}

export function emitPreprocess(
  ir: PhaseIR,
  d: Derived,
  p: HdfWriterIR,
): { doc: YValue; origins: KeyOrigins; problems: PreprocessProblem[] } {
  const origins: KeyOrigins = new Map();
  const problems: PreprocessProblem[] = [];
  const chat = ir.template.layout === "chat";
  const put = (o: Record<string, YValue>, section: string, key: string, value: YValue | undefined, irPath: string, derived?: string) => {
    if (value === undefined) return;
    o[key] = value;
    origins.set(`${section}.${key}`, derived ? { ir: irPath, derived } : { ir: irPath });
  };

  let input = p.input;
  let inputPath = "preprocess.input";
  if (input === undefined) {
    const jsonl = ir.data.map((x) => x.jsonl).filter((x): x is string => x !== undefined);
    const folders = [...new Set(jsonl)];
    if (ir.data.length > 0 && jsonl.length === ir.data.length && folders.length === 1) {
      input = folders[0];
      inputPath = "data.0.jsonl";
    } else {
      const what =
        jsonl.length < ir.data.length
          ? `${jsonl.length === 0 ? "no" : "not every"} dataset names its jsonl folder`
          : `the phase's datasets are in ${folders.length} folders`;
      problems.push({
        code: "E0503",
        irPath: "preprocess",
        message: `the HDF5 writer reads one input folder of jsonl files, and ${what}`,
        help: 'set `input` to one folder holding every jsonl file of the phase (`preprocess = hdf5_writer { input: "./jsonl/phase1", ... }`), or `preprocess = none` if the HDF5 files are made elsewhere',
      });
    }
  }
  if (p.output === undefined)
    problems.push({
      code: "E0504",
      irPath: "preprocess",
      message: "the HDF5 writer needs an output folder",
      help: 'set `preprocess = hdf5_writer { output: "./h5/phase1", ... }`, or `preprocess = none` if the HDF5 files are made elsewhere',
    });
  if (ir.template.layout === "turns")
    problems.push({
      code: "E0824",
      irPath: "template",
      message: `template ${ir.template.$name ?? ""} lays out turns with special tokens, and create_hdf5_dataset.py (2.2.1, 2.3.0) has no such layout`,
      help: "write the HDF5 files with `llavac data hdf5` and set `preprocess = none`",
    });
  if (chat && !ir.template.cerebras_style) {
    problems.push({
      code: "E0505",
      irPath: "template",
      message: `template ${ir.template.$name ?? ""} has no Cerebras system_prompt_style, so create_hdf5_dataset.py cannot reproduce it`,
      help: "set `cerebras_style` on the template, or write the HDF5 files with `llavac data hdf5` and set `preprocess = none`",
    });
  }

  // The writer loads the tokenizer by its Hugging Face name; it comes from the spec, never a default here.
  const tk = ir.model.language.tokenizer;
  if (tk?.huggingface === undefined) {
    const std = ir.model.language.tokenizer_family === EMBEDDED_FAMILY ? "`tokenizer: llama2_tokenizer` (std/language) or " : "";
    problems.push({
      code: "E0312",
      irPath: tk ? "model.language.tokenizer" : "model.language",
      message: `the Cerebras HDF5 writer loads a Hugging Face tokenizer, and the language model${ir.model.language.$name ? ` ${ir.model.language.$name}` : ""} names none`,
      help: `set ${std}\`tokenizer: tokenizer { huggingface: "<the tokenizer's Hugging Face name>", ... }\` on the language model`,
    });
  }

  const setup: Record<string, YValue> = {};
  put(setup, "setup", "input_dir", input, inputPath);
  put(setup, "setup", "output_dir", p.output, "preprocess.output");
  put(setup, "setup", "processes", p.processes, "preprocess.processes");
  put(
    setup,
    "setup",
    "dataset_processor",
    chat ? "LlavaPhaseTwoPreprocessor" : "LlavaPhaseOnePreprocessor",
    "template.layout",
    "plain → phase one, chat → phase two",
  );

  const processing: Record<string, YValue> = {};
  put(processing, "processing", "tokenizer_type", "HuggingFaceTokenizer", "model.language.tokenizer");
  put(processing, "processing", "huggingface_tokenizer", tk?.huggingface, "model.language.tokenizer.huggingface");
  put(
    processing,
    "processing",
    "max_seq_length",
    d.msl,
    "model.language.max_position_embeddings",
    "the language model's max_position_embeddings",
  );
  put(processing, "processing", "short_seq_prob", float(p.short_seq_prob), "preprocess.short_seq_prob");
  put(processing, "processing", "output_name", p.output_name, "preprocess.output_name");
  put(processing, "processing", "files_per_record", p.files_per_record, "preprocess.files_per_record");
  put(processing, "processing", "write_in_batch", p.write_in_batch, "preprocess.write_in_batch");
  put(processing, "processing", "write_remainder", p.write_remainder, "preprocess.write_remainder");
  put(processing, "processing", "resume_from_checkpoint", p.resume_from_checkpoint, "preprocess.resume_from_checkpoint");
  put(processing, "processing", "display_pbar", p.display_pbar, "preprocess.display_pbar");
  put(processing, "processing", "seed", p.seed, "preprocess.seed");
  // The writer's own pad override: without it the Cerebras run pads by its tokenizer folder's rule, and a
  // spec's explicit pad would be honoured by `llavac data hdf5` only.
  if (tk?.pad_id !== undefined) put(processing, "processing", "pad_id", tk.pad_id, "model.language.tokenizer.pad_id");

  const dataset: Record<string, YValue> = {};
  put(dataset, "dataset", "use_ftfy", p.use_ftfy, "preprocess.use_ftfy");
  put(dataset, "dataset", "ftfy_normalizer", p.ftfy_normalizer, "preprocess.ftfy_normalizer");
  put(dataset, "dataset", "wikitext_detokenize", p.wikitext_detokenize, "preprocess.wikitext_detokenize");
  put(dataset, "dataset", "multi_turn_key", "conversations", "data", "the LLaVA record layout");
  put(dataset, "dataset", "multi_turn_content_key", "value", "data", "the LLaVA record layout");
  if (chat) put(dataset, "dataset", "multi_modal_non_image_ex_key", "model", "data", "text-only LLaVA records carry a `model` key");
  put(dataset, "dataset", "image_key", "image", "data", "the LLaVA record layout");
  put(dataset, "dataset", "image_token", "<image>", "data", "the LLaVA record layout");
  const imageDir = p.images ?? ir.images;
  const imagePath = p.images !== undefined ? "preprocess.images" : "images";
  if (chat) {
    put(dataset, "dataset", "image_dir", imageDir, imagePath);
    put(dataset, "dataset", "num_patches", d.numPatches, "model.vision.patch_size", NUM_PATCHES_RULE);
    put(dataset, "dataset", "system_prompt_style", ir.template.cerebras_style, "template.cerebras_style");
    put(dataset, "dataset", "prompt_prefix", ir.template.user, "template.user");
    put(dataset, "dataset", "completion_prefix", ir.template.assistant, "template.assistant");
  } else {
    put(dataset, "dataset", "num_patches", d.numPatches, "model.vision.patch_size", NUM_PATCHES_RULE);
    put(dataset, "dataset", "image_dir", imageDir, imagePath);
  }
  return { doc: { setup, processing, dataset }, origins, problems };
}

/**
 * The same job for Model Zoo 2.10's data-preprocessing pipeline (data_preparation/data_preprocessing,
 * which replaced create_hdf5_dataset.py): LLaVA records through the `finetuning_llava_hook` read hook.
 * Phase 2 follows the 2.10 reference (llava_phase_2_preproc.yaml); phase 1 uses the prompt–completion
 * hook the 2.10 Llama-3 phase-1 config uses, with the spec's own tokenizer.
 */
export function emitDataPreprocess(
  ir: PhaseIR,
  d: Derived,
  p: HdfWriterIR,
): { doc: YValue; origins: KeyOrigins; problems: PreprocessProblem[] } {
  const base = emitPreprocess(ir, d, p);
  const problems = base.problems.filter((x) => x.code !== "E0824");
  // 2.10 lays out Llama-3 only in phase 1, through its custom Llama-3 tokenizer (llava_phase_1_llama3.yaml).
  const family = ir.model.language.tokenizer_family;
  const llama3 = family === "llama3" && ir.template.layout === "plain";
  if (ir.template.layout === "turns")
    problems.push({
      code: "E0824",
      irPath: "template",
      message: `template ${ir.template.$name ?? ""} lays out turns with special tokens, and release 2.10's data-preprocessing hooks have no such layout (its Llama-3 support is phase 1: the plain template with CustomLlama3Tokenizer)`,
      help: "write the HDF5 files with `llavac data hdf5` and set `preprocess = none`",
    });
  const origins: KeyOrigins = new Map();
  const b = base.doc as Record<string, Record<string, YValue>>;
  const from = (to: string, key: string) => {
    const o = base.origins.get(key);
    if (o) origins.set(to, o);
  };
  const chat = ir.template.layout === "chat";
  const setup: Record<string, YValue> = {};
  if (b.setup!.input_dir !== undefined) {
    setup.data = { source: b.setup!.input_dir!, type: "local" };
    from("setup.data.source", "setup.input_dir");
  }
  if (b.setup!.output_dir !== undefined) {
    setup.output_dir = b.setup!.output_dir!;
    from("setup.output_dir", "setup.output_dir");
  }
  setup.image_dir = b.dataset!.image_dir!;
  from("setup.image_dir", "dataset.image_dir");
  setup.processes = p.processes;
  origins.set("setup.processes", { ir: "preprocess.processes" });
  setup.mode = "finetuning";
  origins.set("setup.mode", { ir: "template", derived: "LLaVA data goes through the fine-tuning mode" });

  const hookKwargs: Record<string, YValue> = {
    multi_turn_key: "conversations",
    image_key: "image",
    image_token: "<image>",
    multi_turn_content_key: "value",
  };
  if (chat && ir.template.cerebras_style) hookKwargs.system_prompt_style = ir.template.cerebras_style;
  hookKwargs.phase = chat ? 2 : 1;
  const hf = ir.model.language.tokenizer?.huggingface;
  const processing: Record<string, YValue> = {
    ...(hf === undefined
      ? {}
      : llama3
        ? {
            custom_tokenizer:
              "cerebras.modelzoo.data_preparation.data_preprocessing.custom_tokenizer_example.CustomLlama3Tokenizer:CustomLlama3Tokenizer",
            tokenizer_params: { pretrained_model_name_or_path: hf },
          }
        : { huggingface_tokenizer: hf }),
    max_seq_length: d.msl,
    write_in_batch: p.write_in_batch,
    ...(llama3 ? { write_remainder: p.write_remainder } : {}),
    resume_from_checkpoint: p.resume_from_checkpoint,
    read_hook: `cerebras.modelzoo.data_preparation.data_preprocessing.hooks:${chat ? "finetuning_llava_hook" : "finetuning_llava_hook_prompt_completion"}`,
    read_hook_kwargs: hookKwargs,
    shuffle_seed: p.seed,
    shuffle: true,
    use_ftfy: p.use_ftfy,
    ftfy_normalizer: p.ftfy_normalizer,
    wikitext_detokenize: p.wikitext_detokenize,
    UNSAFE_skip_jsonl_decoding_errors: false,
  };
  if (llama3) {
    for (const k of ["processing.custom_tokenizer", "processing.tokenizer_params.pretrained_model_name_or_path"])
      origins.set(k, { ir: "model.language.tokenizer.huggingface", derived: "a llama3-family tokenizer: 2.10's CustomLlama3Tokenizer" });
    from("processing.write_remainder", "processing.write_remainder");
  }
  for (const [k, key] of [
    ["huggingface_tokenizer", "processing.huggingface_tokenizer"],
    ["max_seq_length", "processing.max_seq_length"],
    ["write_in_batch", "processing.write_in_batch"],
    ["resume_from_checkpoint", "processing.resume_from_checkpoint"],
    ["shuffle_seed", "processing.seed"],
    ["use_ftfy", "dataset.use_ftfy"],
    ["ftfy_normalizer", "dataset.ftfy_normalizer"],
    ["wikitext_detokenize", "dataset.wikitext_detokenize"],
  ] as const)
    if (!(llama3 && k === "huggingface_tokenizer")) from(`processing.${k}`, key);
  origins.set("processing.read_hook", {
    ir: "template.layout",
    derived: "chat → finetuning_llava_hook, plain → its prompt–completion variant",
  });
  from("processing.read_hook_kwargs.system_prompt_style", "dataset.system_prompt_style");
  const dataset: Record<string, YValue> = { num_patches: d.numPatches, is_multimodal: true, max_num_img: 1 };
  from("dataset.num_patches", "dataset.num_patches");
  if (llama3) {
    dataset.sep_token = "";
    origins.set("dataset.sep_token", { ir: "template", derived: "llava_phase_1_llama3.yaml: no separator" });
  }
  return { doc: { setup, processing, dataset }, origins, problems };
}
