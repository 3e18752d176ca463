// Every diagnostic the compiler can emit, with a title and an explanation (`llavac explain <code>`).
// Errors are E…, warnings W…; the hundreds group them: 0 syntax, 1 modules and names, 2 types,
// 3 model geometry and derived values, 4 training setup, 5 output.

export const CODES = {
  E0001: { title: "syntax error", explain: "The file does not follow the .llava grammar. The parser recovers and keeps going, so every syntax error in the file is listed in one run." },
  E0002: { title: "unexpected character", explain: "A character that cannot start any token (such as `@` or `$`). Strings are written in double quotes; comments start with `//`." },
  E0003: { title: "invalid literal", explain: "A literal that cannot be read: an unterminated string, a bad escape, or a number out of range." },

  E0101: { title: "module not found", explain: "`import ... from \"std/x\"` looks in the standard library; a path starting with `./` or `../` is relative to the importing file (`.llava` may be omitted)." },
  E0102: { title: "import cycle", explain: "Modules import each other in a loop. Move the shared declarations into a third module that both import." },
  E0103: { title: "name not exported", explain: "The imported module has no declaration with that name." },
  E0104: { title: "unknown name", explain: "No declaration, import or enum member with this name is visible here." },
  E0105: { title: "duplicate declaration", explain: "Two declarations in one module have the same name. Names must be unique per module (imports count)." },

  E0201: { title: "type mismatch", explain: "The value does not have the type the field declares." },
  E0202: { title: "unknown field", explain: "The schema has no field of this name. Schemas are closed: a misspelled field is an error, never silently ignored." },
  E0203: { title: "missing field", explain: "A required field (no default, not optional) has no value in an instance that is used by a phase." },
  E0204: { title: "constraint violated", explain: "The value has the right type but breaks a constraint of its field (a range such as `>= 1`, or a pattern `=~`)." },
  E0205: { title: "unknown enum member", explain: "The enum has no member of this name." },
  E0206: { title: "invalid regex", explain: "A regex literal that JavaScript's RegExp (and Python's `re`, which Cerebras uses) cannot compile, or that uses flags the target cannot honour." },
  E0207: { title: "bad unit", explain: "A quantity with an unknown unit, or a plain number where the field needs a unit (`66 steps`, `1 epoch`, `3%`)." },
  E0208: { title: "definition cycle", explain: "Declarations refer to each other in a loop, so none of them has a value." },
  E0209: { title: "bad call", explain: "A call of something that is not a function, or with wrong arguments. The built-in functions are `env(name, default)`; a phase reference takes `(states: ...)`." },
  E0210: { title: "duplicate field", explain: "The same field is given twice in one record." },
  E0211: { title: "not a schema", explain: "The name used as the kind of a declaration (`<kind> <name> { ... }`) or as a record constructor is not a schema." },

  E0301: { title: "image size not divisible by patch size", explain: "The vision encoder cuts the image into patch_size × patch_size squares; a remainder would be silently dropped by the convolution, and every derived count would be wrong." },
  E0302: { title: "projector input does not match the vision width", explain: "The projector's first layer takes the vision encoder's hidden states, so its input width must equal the encoder's hidden_size." },
  E0303: { title: "projector output does not match the text width", explain: "The projector writes into the text model's embedding space, so its output width must equal the text model's hidden_size." },
  E0304: { title: "vision select layer out of range", explain: "`select_layer` picks the encoder block whose output LLaVA uses: -L ≤ k ≤ L-1 for an L-layer encoder (negative values count from the end; -2 is LLaVA-1.5's penultimate block). Cerebras reduces the index modulo L, so an out-of-range value would silently select another block." },
  E0305: { title: "value disagrees with its derivation", explain: "A value llavac derives (num_patches, image_start_idx, max_sequence_length, text budget, schedule steps) was written explicitly with a different value. Remove it to use the derived one." },
  E0306: { title: "schedule length unknown", explain: "The number of steps is derived from the dataset size; a dataset without a known sample count needs `samples: N`, or the schedule needs `total: N steps`." },
  E0307: { title: "image transform size mismatch", explain: "The resize/crop sizes of the image transforms must produce the vision encoder's image size." },
  E0308: { title: "tokenizer unavailable", explain: "The tokenizer named by the spec could not be loaded, so token-derived values (image_start_idx) cannot be computed." },
  E0309: { title: "text does not fit", explain: "The image slots and fixed template tokens leave no room for text within max_sequence_length." },
  E0310: { title: "model inconsistency", explain: "Two parts of the model disagree (heads that do not divide the width, a rotary dimension larger than a head, ...)." },

  E0401: { title: "freeze pattern matches nothing", explain: "Cerebras raises at model build time when a freeze regex matches no module. llavac checks the regex against the model's real parameter tree before anything runs." },
  E0402: { title: "batch not divisible by systems", explain: "The global batch is split evenly across `num_csx` systems: batch % num_csx must be 0." },
  E0403: { title: "per-system batch not divisible by micro-batch", explain: "Each system accumulates micro-batches: (batch / num_csx) % micro_batch must be 0." },
  E0404: { title: "loss weight must be 1.0 with num_tokens scaling", explain: "With `loss_scaling: num_tokens` the loss is already normalised by the token count; Cerebras requires `loss_weight: 1.0`." },
  E0405: { title: "phase chain cycle", explain: "Phases start from each other in a loop; there is no first phase to run." },
  E0406: { title: "not a phase", explain: "`from` must name a phase declared in the spec." },
  E0407: { title: "chained phase loads more than model states", explain: "A phase that starts from another loads model weights only (`load_checkpoint_states: \"model\"`); optimizer, schedule and data position start fresh." },
  E0408: { title: "data folder missing", explain: "A folder the phase reads does not exist. `check` warns; `build --strict` refuses." },
  E0409: { title: "no phases", explain: "The spec declares no `phase`, so there is nothing to build." },

  E0601: { title: "weights folder incomplete", explain: "`check --weights DIR` expects seed step 3's layout: DIR/image_model (config.json, preprocessor_config.json, the CLIP weights) and DIR/text_model (LLaVA's config.json, Vicuna's config renamed config_lmsys.json, the weight shards with their index, and the tokenizer files)." },
  E0602: { title: "weights disagree with the spec", explain: "A value in the weights' config.json (hidden sizes, layers, heads, intermediate size, vocabulary, norm epsilon, rope theta, projector type, vision select layer, image and patch size) differs from the spec. The Cerebras converter would build a model the spec does not describe, or fail." },
  E0603: { title: "shard index lists missing files", explain: "A `*.index.json` maps tensors to shard files; every file it names must be in the folder." },
  E0604: { title: "tokenizer differs from the weights'", explain: "The spec's tokenizer.model derives image_start_idx and writes the HDF5 files; it must be the tokenizer the language model was trained with." },
  E0605: { title: "unreadable config", explain: "A JSON file of the weights folder could not be parsed." },

  E0501: { title: "emitted config rejected by the target schema", explain: "The YAML llavac produced failed the strict schema of the target release although every check of the spec passed. This is a bug in llavac; the key and the spec location are shown. Mistakes in a spec have their own codes (E0502–E0506)." },
  E0502: { title: "params layout the release cannot read", explain: "`format` picks the params.yaml layout: release 2.2.1 reads only `flat`, 2.10 only `trainer`, 2.3.0 both. Remove `format` to use the release's own layout." },
  E0503: { title: "HDF5 writer has no single input folder", explain: "Cerebras' create_hdf5_dataset.py (and 2.10's data_preprocessing) read the jsonl files of one folder (searched recursively). Set `preprocess.input` to that folder, or give the phase one dataset with `jsonl`; `llavac data hdf5` reads several folders, and `preprocess = none` writes no preprocess.yaml for a phase whose HDF5 files exist." },
  E0504: { title: "HDF5 writer has no output folder", explain: "preprocess.yaml names the folder the HDF5 files are written to: set `preprocess.output`, or `preprocess = none` when the phase's HDF5 files are made elsewhere." },
  E0505: { title: "template unknown to the Cerebras preprocessor", explain: "A chat template reaches create_hdf5_dataset.py only by its name in Cerebras' system-prompt registry (`cerebras_style`). A template without one cannot be reproduced there: set `cerebras_style`, or write the HDF5 files with `llavac data hdf5` and set `preprocess = none`." },
  E0506: { title: "cerebras_style not in the release's registry", explain: "The template's `cerebras_style` must be a system_prompt_style the target release's preprocessor knows (2.2.1 and 2.3.0: vicuna_v0, vicuna_v1, llava_v0, llava_v1, llava_plain, zephyr, mistral_instruct)." },

  W0301: { title: "schedule does not add up", explain: "warmup + decay steps differ from max_steps. The Cerebras 13B phase-1 reference has this inconsistency (66 + 2144 ≠ 2180); llavac reproduces an explicit value but says so." },
  W0302: { title: "schedule counts a different batch", explain: "The step count is computed with a reference batch that differs from the batch the phase trains with, so '1 epoch' is not one pass over the data." },
  W0303: { title: "backend default applies", explain: "A field is left unset and the target's own default applies, which differs from the other phases or from what the model family expects." },
  W0304: { title: "paths disagree", explain: "The HDF5 writer and the trainer look for images in different folders." },
  W0408: { title: "data folder missing", explain: "A folder the phase reads does not exist yet. This is a warning in `check` (the data may be prepared later) and an error in `build --strict`." },
} as const;

export type Code = keyof typeof CODES;
