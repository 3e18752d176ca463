// The diagnostics catalog: every diagnostic the compiler can emit, one condition per code. For each code:
// a title, the message template its raise site fills (`{hole}`s), the explanation `llavac explain` prints,
// and the trigger: a small spec that produces it (test/catalog.test.ts compiles every trigger).
// The letter is the default level (E… error, W… warning); `--deny CODE` makes a warning an error,
// `--allow CODE` silences a warning. The hundreds group the codes: 0 syntax, 1 modules and names, 2 types,
// 3 model geometry and derived values, 4 training setup, 5 output, 6 weights, 7 command line and data (`check --data`).
//
// Adding a code: one entry here, `trigger` included. A trigger is either a whole spec (`spec`) or an edit of
// the small valid spec the tests start from (test/helpers.ts TINY): `edit: [find, replace]` and/or `append`;
// a code that only a bug in llavac raises says so instead: `trigger: { internal: "why" }`.

export type Level = "error" | "warning";

export interface Trigger {
  /** A whole spec (the root file, spec.llava). */
  spec?: string;
  /** Replace the one occurrence of `find` in the test's small valid spec. */
  edit?: readonly [find: string, replace: string];
  /** Text added at the end of the small valid spec. */
  append?: string;
  /** More files next to the spec (relative path → text). */
  files?: Readonly<Record<string, string>>;
  /** The data folders the small valid spec reads are not created. */
  noData?: true;
  /** `check --weights` of this folder (made of `files`). */
  weights?: string;
  /** `check --data`: the phases' jsonl (made of `files` and `bytes`) read as the HDF5 writer reads it. */
  data?: true;
  /** More files, as base64 (bytes a text file cannot hold, such as invalid UTF-8). */
  bytes?: Readonly<Record<string, string>>;
  /** Raised by `build` (emission), not by `check`. */
  build?: true;
  /** Command-line overrides (`--set path=value` each). */
  set?: readonly string[];
  /** The environment the spec is compiled in. */
  env?: Readonly<Record<string, string>>;
  /** No spec can produce it: it reports a bug in llavac (the reason says why). The catalog test checks that no
   *  trigger, example or fuzz input produces it. */
  internal?: string;
}

export interface CodeInfo {
  title: string;
  /** The message, with `{name}` holes that the raise site fills. */
  message?: string;
  explain: string;
  /** The data-presence warnings that `--strict` denies. */
  strict?: true;
  trigger?: Trigger;
}

/** A tiny tokenizer.json (word level) for the triggers that need one: `<|im_start|>` and `<|im_end|>` are special. */
const TINY_TOKENIZER_JSON = JSON.stringify({
  version: "1.0",
  added_tokens: ["<s>", "<|im_start|>", "<|im_end|>"].map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  })),
  normalizer: null,
  pre_tokenizer: { type: "Whitespace" },
  post_processor: null,
  decoder: null,
  model: { type: "WordLevel", vocab: { "<s>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "[UNK]": 3 }, unk_token: "[UNK]" },
});

export const CODES = {
  E0001: {
    title: "syntax error",
    message: "{detail}",
    explain:
      "The file does not follow the .llava grammar. The parser recovers and keeps going, so every syntax error in the file is listed in one run.",
    trigger: { spec: "let = 1\n" },
  },
  E0002: {
    title: "unexpected character",
    message: "{detail}",
    explain:
      "A character that cannot start any token (such as `@` or `$`). Strings are written in double quotes; comments start with `//`.",
    trigger: { spec: "let a = @\n" },
  },
  E0003: {
    title: "invalid literal",
    message: "{detail}",
    explain: "A literal that cannot be read: an unterminated string, a bad escape, or a number out of range.",
    trigger: { spec: 'let a = "\\q"\n' },
  },
  E0004: {
    title: "nesting too deep",
    explain:
      "Brackets nested more than 64 levels deep, more than 64 `-` signs in a row, or an expression more than 256 levels deep (each operator of a chain such as `a / b / c` counts as one level). No real spec comes near these limits; they keep the compiler from running out of stack. Name the inner parts with `let` declarations.",
    trigger: { spec: "let a = " + "[".repeat(70) + "1" + "]".repeat(70) + "\n" },
  },
  E0005: {
    title: "unterminated comment",
    explain: "A `/*` comment has no closing `*/`, so it runs to the end of the file. The error points at the opening `/*`.",
    trigger: { spec: "let a = 1\n/* never closed\nlet b = 2\n" },
  },
  E0006: {
    title: "unclosed bracket",
    explain:
      "A `{`, `[` or `(` is still open where the next top-level declaration starts (a declaration at the start of a line, such as `let x` or `phase p {`) or at the end of the file. The error points where the closer is needed; the notes show where each open bracket was opened.",
    trigger: { spec: "let a = [1, 2\nlet b = 3\n" },
  },
  E0007: {
    title: "definitions nest too deeply",
    explain:
      "Evaluating a value went more than 500 levels deep through names and expressions (for example a chain of `let` declarations, each naming the next, or type aliases of aliases). The limit keeps the checker from running out of stack; no real spec comes near it.",
    trigger: { spec: Array.from({ length: 600 }, (_, i) => `let a${i} = a${i + 1}\n`).join("") + "let a600 = 1\n" },
  },
  E0008: {
    title: "file too large",
    explain:
      "A source file with more than 200,000 tokens (a spec has a few thousand). Parsing keeps every token in memory, so such a file, generated or hostile, is refused before it is parsed. Split it into modules, or generate less.",
    trigger: { spec: "let a = [" + "1, ".repeat(100_001) + "1]\n" },
  },

  E0101: {
    title: "module not found",
    explain:
      '`import ... from "std/x"` looks in the standard library; a path starting with `./` or `../` is relative to the importing file (`.llava` may be omitted).',
    trigger: { edit: ['"std/projectors"', '"std/projector"'] },
  },
  E0102: {
    title: "import cycle",
    message: "import cycle: {chain}",
    explain: "Modules import each other in a loop. Move the shared declarations into a third module that both import.",
    trigger: { spec: 'import { b } from "./b"\nlet a = 1\n', files: { "b.llava": 'import { a } from "./spec"\nlet b = 1\n' } },
  },
  E0103: {
    title: "name not exported",
    message: "module {module} has no declaration `{name}`",
    explain: "The imported module has no declaration with that name.",
    trigger: { edit: ['import { tiny_vit } from "std/vision"', 'import { tiny_vitt } from "std/vision"'] },
  },
  E0104: {
    title: "unknown name",
    message: "unknown {kind} `{name}`",
    explain: "No declaration, import or enum member with this name is visible here.",
    trigger: { edit: ["projector = mlp2x_gelu", "projector = mlp2x_gleu"] },
  },
  E0105: {
    title: "duplicate declaration",
    explain: "Two declarations in one module have the same name. Names must be unique per module (imports count).",
    trigger: { append: "\nlet shapes = 3\n" },
  },
  E0106: {
    title: "module is not a readable file",
    explain:
      "The imported path exists but is not a source file llavac can read: a folder, a named pipe (FIFO), a device such as /dev/zero, a socket, or a file over 16 MiB. llavac checks the kind of file before reading it, so such an import never hangs.",
    trigger: { spec: 'import { a } from "./folder.llava"\n', files: { "folder.llava/inside.txt": "" } },
  },
  E0107: {
    title: "module path cannot be resolved",
    explain:
      'An import path is either a standard module, "std/<name>", or a file relative to the importing one, "./<path>" or "../<path>" (`.llava` may be omitted). A bare name such as "vision" is neither.',
    trigger: { spec: 'import { a } from "vision"\n' },
  },
  E0108: {
    title: "built-in type redeclared",
    explain:
      "`int`, `float`, `bool`, `string`, `path`, `regex` and the quantities are built-in types; a schema, enum or type alias cannot take their names.",
    trigger: { spec: "schema int { a: float }\n" },
  },

  E0201: {
    title: "type mismatch",
    message: "expected `{expected}`, found {found}",
    explain: "The value does not have the type the field declares.",
    trigger: { edit: ["optimizer = adamw { lr: 1e-3 }", 'optimizer = adamw { lr: "fast" }'] },
  },
  E0202: {
    title: "unknown field",
    message: "`{schema}` has no field `{name}`",
    explain: "The schema has no field of this name. Schemas are closed: a misspelled field is an error, never silently ignored.",
    trigger: { edit: ["optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: 1e-3, beta: (0.9, 0.99) }"] },
  },
  E0203: {
    title: "missing field",
    message: "{what} is missing `{name}`",
    explain: "A required field (no default, not optional) has no value in an instance that is used by a phase.",
    trigger: { edit: ['  images    = "./images"\n  hdf5      = "./h5/align"', '  hdf5      = "./h5/align"'] },
  },
  E0204: {
    title: "constraint violated",
    message: "value `{value}` is out of range: it must be {op} {bound}",
    explain: "The value has the right type but breaks a constraint of its field (a range such as `>= 1`, or a pattern `=~`).",
    trigger: { edit: ["optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: 1e-3, betas: (0.9, 1.5) }"] },
  },
  E0205: {
    title: "unknown enum member",
    message: "`{name}` is not a member of {enums}",
    explain: "The enum has no member of this name.",
    trigger: { edit: ["vision    = tiny_vit", "vision    = tiny_vit { select: pach }"] },
  },
  E0206: {
    title: "invalid regex",
    message: "invalid regex: {reason}",
    explain: "A regex literal that JavaScript's RegExp (and Python's `re`, which Cerebras uses) cannot compile.",
    trigger: { edit: ["freeze    = [/^image_model/]", "freeze    = [/^image_model(/]"] },
  },
  E0207: {
    title: "plain number where a unit is needed",
    message: "expected `{unit}`, found a plain number",
    explain: "The field counts steps, epochs or a percentage, so the number needs its unit (`66 steps`, `1 epoch`, `3%`).",
    trigger: { edit: ["warmup: 10%", "warmup: 10"] },
  },
  E0208: {
    title: "definition cycle",
    message: "{what} is defined in terms of itself",
    explain: "Declarations refer to each other in a loop, so none of them has a value.",
    trigger: { append: "\nlet a = b\nlet b = a\n" },
  },
  E0209: {
    title: "not callable",
    message: "{what} cannot be called",
    explain: "Only two things can be called: the built-in `env(name, default)` and a phase reference such as `pretrain(states: model)`.",
    trigger: { append: "\nlet a = shapes()\n" },
  },
  E0210: {
    title: "duplicate field",
    message: "field `{name}` is given twice",
    explain: "The same field is given twice in one record.",
    trigger: { edit: ["optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: 1e-3, lr: 1e-3 }"] },
  },
  E0211: {
    title: "not a schema",
    message: "`{name}` is not a schema, so it cannot start a declaration",
    explain: "The name used as the kind of a declaration (`<kind> <name> { ... }`) is not a schema.",
    trigger: { append: "\nshapes other { samples: 1 }\n" },
  },
  E0212: {
    title: "a value used as a type",
    message: "`{name}` is a value, not a type",
    explain:
      "A type position (a field's type, an alias) names a declared value. Types are the primitive types (int, float, bool, string, path, regex, steps, epochs, percent) and schema, enum or type-alias names.",
    trigger: { append: "\nschema s { a: shapes }\n" },
  },
  E0213: {
    title: "pattern constraint on a non-string type",
    message: "`=~` constrains strings, not `{type}`",
    explain: '`=~ "regex"` constrains a string or path field; other types cannot match a pattern.',
    trigger: { append: '\nschema s { a: int & =~ "x" }\n' },
  },
  E0214: {
    title: "range constraint on a non-numeric type",
    message: "`{op}` constrains numbers, not `{type}`",
    explain: "Range constraints (`>=`, `<=`, `>`, `<`, `!=`) apply to numbers and quantities (steps, epochs, percent) only.",
    trigger: { append: "\nschema s { a: string & >= 1 }\n" },
  },
  E0215: {
    title: "record without a schema name",
    message: "a record here needs its schema name",
    explain:
      "A bare `{ ... }` is only understood where the expected type is one schema. Elsewhere write the schema's name before the braces: `adamw { lr: 1e-3 }`.",
    trigger: { append: "\nlet a = { x: 1 }\n" },
  },
  E0216: {
    title: "ambiguous record",
    message: "this record could be more than one schema",
    explain:
      "The field accepts several schemas, so a bare `{ ... }` does not say which one it is. Write the schema's name before the braces.",
    trigger: { edit: ["projector = mlp2x_gelu", "projector = { input_size: 64 }"] },
  },
  E0217: {
    title: "cannot negate",
    message: "cannot negate {what}",
    explain: "Unary `-` applies to numbers only.",
    trigger: { append: '\nlet a = -"x"\n' },
  },
  E0218: {
    title: "a type used as a value",
    message: "`{name}` is a type, not a value",
    explain: "A type alias names a type; it has no value to use in an expression or a field.",
    trigger: { append: "\ntype t = int\nlet a = t\n" },
  },
  E0219: {
    title: "value without fields",
    message: "{what} has no fields",
    explain: "`.name` reads a field of a record, a member of an enum or a declaration of an imported module; other values have no fields.",
    trigger: { append: "\nlet a = 3\nlet b = a.x\n" },
  },
  E0220: {
    title: "path joined with a non-string",
    message: "a path can only be joined with a string, not {what}",
    explain: "`path / x` joins path segments; `x` must be a string or a path.",
    trigger: { append: '\nlet a = "./x" / 3\n' },
  },
  E0221: {
    title: "operator cannot combine these values",
    message: "`{op}` cannot combine {left} and {right}",
    explain: "`+ - * /` combine numbers; `+` also concatenates strings and `/` joins paths. Other combinations have no meaning.",
    trigger: { append: '\nlet a = 1 + "x"\n' },
  },
  E0222: {
    title: "division by zero",
    message: "division by zero",
    explain: "The right side of `/` evaluates to zero.",
    trigger: { append: "\nlet a = 1 / 0\n" },
  },
  E0223: {
    title: "integer overflow",
    message: "integer overflow",
    explain:
      "An integer result is larger than 2^53 − 1, beyond which integers are not exact (JavaScript numbers, and the YAML readers of the targets).",
    trigger: { append: "\nlet a = 9007199254740991 + 1\n" },
  },
  E0224: {
    title: "required field set to none",
    message: "`{name}` is required and cannot be `none`",
    explain: "`none` unsets an optional field (`name?: type`); a required field needs a value.",
    trigger: { edit: ["optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: none }"] },
  },
  E0225: {
    title: "wrong tuple length",
    message: "expected a tuple of {count} (`{expected}`), found {found}",
    explain: "A tuple type has a fixed number of items, such as `(float, float)` for the AdamW betas.",
    trigger: { edit: ["optimizer = adamw { lr: 1e-3 }", "optimizer = adamw { lr: 1e-3, betas: (0.9, 0.99, 0.5) }"] },
  },
  E0226: {
    title: "env() with a named argument",
    message: "env() takes no named arguments",
    explain: '`env("NAME", default)` takes the variable\'s name and an optional default, both positional.',
    trigger: { append: '\nlet a = env("X", "d", default: "y")\n' },
  },
  E0227: {
    title: "env() with the wrong number of arguments",
    message: "env() takes a variable name and an optional default, got {count} arguments",
    explain: '`env("NAME")` or `env("NAME", default)`: one or two arguments.',
    trigger: { append: '\nlet a = env("X", "a", "b")\n' },
  },
  E0228: {
    title: "environment variable not set",
    message: "environment variable {name} is not set and has no default",
    explain: '`env("NAME")` without a default needs the variable to be set (and not empty) when the spec is compiled.',
    trigger: { append: '\nlet a = env("LLAVAC_TRIGGER_UNSET")\n' },
  },
  E0229: {
    title: "unknown argument of a phase reference",
    message: "a phase reference takes only `states`, not `{name}`",
    explain:
      "A phase reference (`from = pretrain(states: model)`) takes one named argument, `states`: what the next phase loads from the earlier one's checkpoint.",
    trigger: { edit: ["from      = align(states: model)", "from      = align(state: model)"] },
  },
  E0230: {
    title: "unknown unit",
    message: "unknown {kind} `{unit}`",
    explain: "Quantities are written with `steps`, `epochs` or `%`; a batch with `per step` and `per micro-batch`.",
    trigger: { edit: ["length: 2 epochs", "length: 2 epochz"] },
  },
  E0231: {
    title: "fractional number of steps",
    message: "a number of steps must be whole, found `{value}`",
    explain:
      "Steps count optimizer updates, so a number of steps is a whole number (a fraction of an epoch may be written as `0.5 epochs`).",
    trigger: { edit: ["length: 3 epochs", "length: 2.5 steps"] },
  },
  E0232: {
    title: "batch without its size per step",
    message: "a batch needs its size per step",
    explain: "A batch is written `256 per step`, optionally with `, 32 per micro-batch`; the size per step is the global batch.",
    trigger: { edit: ["batch     = 32 per step, 8 per micro-batch", "batch     = 8 per micro-batch"] },
  },
  E0233: {
    title: "cannot be overridden",
    message: "{what} cannot be overridden with `{ ... }`",
    explain: "Only a schema (`vit { ... }`) or an instance (`clip_vit_l14_336 { ... }`) takes fields in braces.",
    trigger: { append: "\nlet a = 3\nlet b = a { x: 1 }\n" },
  },
  E0234: {
    title: "unsupported regex flag",
    message: "unsupported regex flag{plural} `{flags}`",
    explain: "The freeze patterns run in Python's `re` on Cerebras and in JavaScript here; the flags both honour alike are i, m and s.",
    trigger: { edit: ["freeze    = [/^image_model/]", "freeze    = [/^image_model/g]"] },
  },
  E0235: {
    title: "field read but not set",
    message: "`{name}` is not set on {what}",
    explain:
      "`record.field` reads a field that this record leaves unset (an optional field without a default). Set it on the record, or do not read it.",
    trigger: { append: "\nlet b = warmup_cosine {}.reference_batch\n" },
  },
  E0236: {
    title: "string does not match its pattern",
    message: "{value} does not match /{pattern}/",
    explain: 'The field constrains its string with a pattern (`=~ "regex"`), and the value does not match it.',
    trigger: { append: '\nschema s { a: string & =~ "^x" }\nlet v = s { a: "y" }\n' },
  },

  E0237: {
    title: "env() default of another kind",
    explain:
      '`env("NAME", default)` reads the variable as the default\'s type, so the default is a string (or path), a number, a bool or a quantity (`100 steps`, `3%`).',
    trigger: { edit: ["optimizer = adamw { lr: 1e-3 }", 'optimizer = adamw { lr: env("LR", [1]) }'] },
  },

  E0301: {
    title: "image size not divisible by patch size",
    message: "image {dim} {size} is not divisible by patch size {patch} ({size} / {patch} = {ratio})",
    explain:
      "The vision encoder cuts the image into patch_size × patch_size squares; a remainder would be silently dropped by the convolution, and every derived count would be wrong.",
    trigger: { edit: ["vision    = tiny_vit", "vision    = tiny_vit { patch_size: 7 }"] },
  },
  E0302: {
    title: "projector input does not match the vision width",
    message: "the projector takes {input} features but the vision encoder produces {width}",
    explain:
      "The projector's first layer takes the vision encoder's hidden states, so its input width must equal the encoder's hidden_size.",
    trigger: { edit: ["projector = mlp2x_gelu", "projector = mlp2x_gelu { input_size: 128 }"] },
  },
  E0303: {
    title: "projector output does not match the text width",
    message: "the projector writes {output} features but the language model's embeddings are {width} wide",
    explain: "The projector writes into the text model's embedding space, so its output width must equal the text model's hidden_size.",
    trigger: { edit: ["projector = mlp2x_gelu", "projector = mlp2x_gelu { output_size: 100 }"] },
  },
  E0304: {
    title: "vision select layer out of range",
    message: "select_layer {layer} is out of range for a {layers}-layer encoder",
    explain:
      "`select_layer` picks the encoder block whose output LLaVA uses: -L ≤ k ≤ L-1 for an L-layer encoder (negative values count from the end; -2 is LLaVA-1.5's penultimate block). Cerebras reduces the index modulo L, so an out-of-range value would silently select another block.",
    trigger: { edit: ["vision    = tiny_vit", "vision    = tiny_vit { select_layer: -3 }"] },
  },
  E0305: {
    title: "value disagrees with its derivation",
    explain:
      "A value llavac derives (num_patches, image_start_idx, max_sequence_length, text budget, schedule steps) was written explicitly with a different value. Remove it to use the derived one.",
    trigger: {
      edit: ["  freeze    = [/^image_model/, /^text_model/]", "  freeze    = [/^image_model/, /^text_model/]\n  num_patches = 17"],
    },
  },
  E0306: {
    title: "schedule length unknown",
    message: "the schedule runs for {length}, but {why}",
    explain:
      "The number of steps is derived from the dataset size; a dataset without a known sample count needs `samples: N`, or the schedule needs `total: N steps`.",
    trigger: { edit: ["samples: 1000, ", ""] },
  },
  E0307: {
    title: "image transform size mismatch",
    message: "{transform} to {size} px, but the vision encoder takes {image} px images",
    explain: "The resize/crop sizes of the image transforms must produce the vision encoder's image size.",
    trigger: {
      edit: [
        "  freeze    = [/^image_model/]",
        "  freeze    = [/^image_model/]\n  transforms = [resize { size: 48 }, center_crop { size: 32 }, to_tensor]",
      ],
    },
  },
  E0308: {
    title: "tokenizer unavailable",
    message: "cannot load the tokenizer{which}: {reason}",
    explain: "The tokenizer named by the spec could not be loaded, so token-derived values (image_start_idx) cannot be computed.",
    trigger: { edit: ["language  = tiny_llama", 'language  = tiny_llama { tokenizer: tokenizer { model: "./missing.model" } }'] },
  },
  E0309: {
    title: "text does not fit",
    message: "no room for text: {slots} image slots + 1 leave {budget} of {msl} positions",
    explain: "The image slots and fixed template tokens leave no room for text within max_sequence_length.",
    trigger: { edit: ["language  = tiny_llama", "language  = tiny_llama { max_position_embeddings: 8 }"] },
  },
  E0310: {
    title: "attention heads do not divide the width",
    explain:
      "Multi-head attention splits the hidden width into num_heads heads of equal size, so hidden_size must be a multiple of num_heads (in the vision encoder and in the language model).",
    trigger: { edit: ["vision    = tiny_vit", "vision    = tiny_vit { num_heads: 5 }"] },
  },
  E0311: {
    title: "no tokenizer for the model's family",
    message:
      "{what} is a {family}-family model, but the spec gives it no tokenizer (`model` or `json`); llavac's embedded vocabulary is {embedded}'s",
    explain:
      'A language model names its `tokenizer_family`. llavac embeds LLaMA-2\'s vocabulary only, so a model of another family (llama3, mistral, qwen2) needs its own: a Hugging Face `tokenizer.json` (`tokenizer: tokenizer { json: "…/tokenizer.json", huggingface: "…" }`, the only form for llama3 and qwen2) or a sentencepiece `tokenizer.model` (`model:`, llama2 and mistral). Tokenising its template with LLaMA-2\'s vocabulary would give a wrong image_start_idx and wrong HDF5 files.',
    trigger: { edit: ["language  = tiny_llama", "language  = tiny_llama { tokenizer_family: llama3 }"] },
  },
  E0312: {
    title: "no Hugging Face tokenizer named",
    explain:
      "The Cerebras HDF5 writer (`huggingface_tokenizer` in preprocess.yaml) loads the tokenizer by its Hugging Face name, and llavac never guesses it: set `tokenizer.huggingface` on the language model (the standard library's LLaMA-2 models use `llama2_tokenizer`, NousResearch/Llama-2-7b-hf).",
    trigger: { edit: ["language  = tiny_llama", "language  = tiny_llama { tokenizer: tokenizer {} }"], build: true },
  },
  E1100: {
    title: "Hugging Face tokenizer folder missing or different",
    explain:
      "A `tokenizer.huggingface` that starts with `./`, `../` or `/` is a local folder (a Hugging Face Hub name is `owner/name`), and the Cerebras HDF5 writer loads it with transformers' AutoTokenizer. Where it exists (relative to the working directory, like the spec's other paths; a missing one is W1100), it must hold the same tokenizer.model (or tokenizer.json) that the spec's `model` (or `json`) names, or the writer would fail or tokenise with another vocabulary than the one llavac derives image_start_idx with.",
    trigger: {
      edit: ["language  = tiny_llama", 'language  = tiny_llama { tokenizer: tokenizer { huggingface: "./hf" } }'],
      files: { "hf/README.md": "not a tokenizer" },
    },
  },
  W1100: {
    title: "Hugging Face tokenizer folder does not exist",
    explain:
      "A `tokenizer.huggingface` that starts with `./`, `../` or `/` is a local folder that the Cerebras HDF5 writer loads with transformers' AutoTokenizer, and it is not there (relative to the working directory). Like a data folder it may be made where the job runs, so this is a warning; when it exists, it must hold the spec's tokenizer (E1100).",
    trigger: { edit: ["language  = tiny_llama", 'language  = tiny_llama { tokenizer: tokenizer { huggingface: "./no-such-folder" } }'] },
  },
  E0313: {
    title: "warm-up longer than the schedule",
    explain:
      "The warm-up steps come out of the schedule's total, so they cannot be more than the phase's max_steps. Shorten the warm-up or lengthen the schedule.",
    trigger: { edit: ["warmup_cosine { length: 2 epochs, warmup: 10% }", "warmup_cosine { length: 2 epochs, warmup: 500 steps }"] },
  },
  E0314: {
    title: "rotary dimension invalid",
    explain:
      "Rotary position embeddings rotate pairs of a head's dimensions: `rotary_dim` must be even and at most the head size (hidden_size / num_heads).",
    trigger: { edit: ["language  = tiny_llama", "language  = tiny_llama { rotary_dim: 3 }"] },
  },
  E0315: {
    title: "tokenizer and vocab_size disagree",
    explain:
      "The embedding and the LM head have one row per tokenizer piece: the language model's vocab_size must equal the number of pieces of the tokenizer the spec names (or the embedded LLaMA-2 one, 32,000). A tokenizer.json may have fewer tokens than vocab_size (Qwen2 pads its 151,646 tokens to 152,064 embedding rows), never more.",
    trigger: { edit: ["language  = tiny_llama", "language  = tiny_llama { vocab_size: 1000 }"] },
  },

  E0401: {
    title: "freeze pattern matches nothing",
    message: "freeze pattern /{pattern}/ matches no module of {model}",
    explain:
      "Cerebras raises at model build time when a freeze regex matches no module. llavac checks the regex against the model's real parameter tree before anything runs.",
    trigger: { edit: ["freeze    = [/^image_model/, /^text_model/]", "freeze    = [/^image_model/, /^text_models/]"] },
  },
  E0402: {
    title: "batch not divisible by systems",
    message: "batch {batch} does not split evenly across {systems} systems",
    explain: "The global batch is split evenly across `num_csx` systems: batch % num_csx must be 0.",
    trigger: { append: "\ncerebras cluster { num_csx: 3 }\n" },
  },
  E0403: {
    title: "per-system batch not divisible by micro-batch",
    message: "each system gets {per} samples per step, which is not a multiple of the micro-batch {micro}",
    explain: "Each system accumulates micro-batches: (batch / num_csx) % micro_batch must be 0.",
    trigger: { edit: ["batch     = 32 per step, 8 per micro-batch", "batch     = 32 per step, 12 per micro-batch"] },
  },
  E0404: {
    title: "loss weight must be 1.0 with num_tokens scaling",
    message: "loss_weight must be 1.0 with loss_scaling num_tokens, found {weight}",
    explain: "With `loss_scaling: num_tokens` the loss is already normalised by the token count; Cerebras requires `loss_weight: 1.0`.",
    trigger: { edit: ["  freeze    = [/^image_model/]", "  freeze    = [/^image_model/]\n  loss_weight = 0.5"] },
  },
  E0405: {
    title: "phase chain cycle",
    message: "phases start from each other in a loop: {loop}",
    explain: "Phases start from each other in a loop; there is no first phase to run.",
    trigger: {
      edit: [
        "  model     = tiny\n  data      = shapes\n  template  = plain",
        "  from      = tune\n  model     = tiny\n  data      = shapes\n  template  = plain",
      ],
    },
  },
  E0406: {
    title: "not a phase",
    explain: "`from` must name a phase declared in the spec.",
    trigger: { edit: ["from      = align(states: model)", "from      = aling(states: model)"] },
  },
  E0407: {
    title: "chained phase loads more than model states",
    message: "a phase that starts from another loads model states only, not {states}",
    explain:
      'A phase that starts from another loads model weights only (`load_checkpoint_states: "model"`); optimizer, schedule and data position start fresh.',
    trigger: { edit: ["from      = align(states: model)", "from      = align(states: [model, optimizer])"] },
  },
  E0409: {
    title: "no phases",
    message: "this spec declares no phase, so there is nothing to train",
    explain: "The spec declares no `phase`, so there is nothing to build.",
    trigger: { spec: "let a = 1\n" },
  },
  E0410: {
    title: "more than one target",
    explain: "A spec describes one cluster job: it has at most one `cerebras` target declaration (the phases all use it).",
    trigger: { append: "\ncerebras one {}\ncerebras two {}\n" },
  },

  E0420: {
    title: "eval_every is not a positive number of steps",
    message: "eval_every is {value} steps: evaluation needs a positive whole number of steps",
    explain:
      "`eval_every = N steps` evaluates the held-out split every N training steps (and at the end of the phase). N must be a whole number ≥ 1.",
    trigger: {
      edit: [
        "  freeze    = [/^image_model/, /^text_model/]",
        '  freeze    = [/^image_model/, /^text_model/]\n  eval = eval_input { data: held, hdf5: "./h5/held" }\n  eval_every = 0 steps',
      ],
      append: '\ndataset held { format: llava_jsonl, samples: 100, jsonl: "./heldout" }\n',
    },
  },
  E0421: {
    title: "eval_every is longer than the phase",
    message: "eval_every is {every} steps, but the phase runs {steps}",
    explain:
      "An interval longer than the phase would evaluate only at its end; use an interval of at most the phase's steps, or remove `eval_every`. Cerebras' eval_frequency has the same meaning.",
    trigger: {
      edit: [
        "  freeze    = [/^image_model/, /^text_model/]",
        '  freeze    = [/^image_model/, /^text_model/]\n  eval = eval_input { data: held, hdf5: "./h5/held" }\n  eval_every = 100 steps',
      ],
      append: '\ndataset held { format: llava_jsonl, samples: 100, jsonl: "./heldout" }\n',
    },
  },
  E0422: {
    title: "eval_every without a held-out split",
    message: "eval_every is set, but the phase declares no held-out data to evaluate (`eval.data`)",
    explain:
      "Evaluation reads a held-out split: datasets declared like the training ones and named in `eval = eval_input { data: ..., hdf5: ... }`. `llavac run` writes their HDF5 files into `eval.hdf5`; the Cerebras config reads that folder as its eval_input.",
    trigger: {
      edit: ["  freeze    = [/^image_model/, /^text_model/]", "  freeze    = [/^image_model/, /^text_model/]\n  eval_every = 10 steps"],
    },
  },
  E0423: {
    title: "held-out data without its own HDF5 folder",
    message: "the held-out split `eval.data` has no HDF5 folder of its own (`eval.hdf5`)",
    explain:
      "Without `eval.hdf5`, evaluation reads the phase's training HDF5 folder (Cerebras' eval_input defaults to it), so the held-out datasets would never be read. Give them their own folder.",
    trigger: {
      edit: [
        "  freeze    = [/^image_model/, /^text_model/]",
        "  freeze    = [/^image_model/, /^text_model/]\n  eval = eval_input { data: held }",
      ],
      append: '\ndataset held { format: llava_jsonl, samples: 100, jsonl: "./heldout" }\n',
    },
  },
  E0424: {
    title: "eval_every and run.eval_frequency disagree",
    message: "eval_every is {every} steps, but run.eval_frequency is {frequency}",
    explain:
      "With `eval_every` set, it is the evaluation interval both here and on Cerebras (runconfig.eval_frequency, the trainer's loop.eval_frequency); a different `run.eval_frequency` would make the two evaluate at different steps. Remove one.",
    trigger: {
      edit: [
        "  freeze    = [/^image_model/, /^text_model/]",
        '  freeze    = [/^image_model/, /^text_model/]\n  eval = eval_input { data: held, hdf5: "./h5/held" }\n  eval_every = 10 steps\n  run = run { eval_frequency: 20 }',
      ],
      append: '\ndataset held { format: llava_jsonl, samples: 100, jsonl: "./heldout" }\n',
    },
  },

  E0501: {
    title: "emitted config rejected by the target schema",
    explain:
      "The YAML llavac produced failed the strict schema of the target release although every check of the spec passed. This is a bug in llavac; the key and the spec location are shown. Mistakes in a spec have their own codes (E0502–E0506).",
    trigger: {
      internal:
        "every user-caused emission problem has its own code (E0502–E0506, E0312); a rejection by the strict schema after all checks passed is a bug in llavac",
    },
  },
  E0502: {
    title: "params layout the release cannot read",
    explain:
      "`format` picks the params.yaml layout: release 2.2.1 reads only `flat`, 2.10 only `trainer`, 2.3.0 both. Remove `format` to use the release's own layout.",
    trigger: { append: '\ncerebras cluster { release: "2.2.1", format: "trainer" }\n' },
  },
  E0503: {
    title: "HDF5 writer has no single input folder",
    explain:
      "Cerebras' create_hdf5_dataset.py (and 2.10's data_preprocessing) read the jsonl files of one folder (searched recursively). Set `preprocess.input` to that folder, or give the phase one dataset with `jsonl`; `llavac data hdf5` reads several folders, and `preprocess = none` writes no preprocess.yaml for a phase whose HDF5 files exist.",
    trigger: {
      edit: ["  data      = shapes\n  template  = plain", "  data      = [shapes, more]\n  template  = plain"],
      append: '\ndataset more { format: llava_jsonl, samples: 10, jsonl: "./jsonl_more" }\n',
    },
  },
  E0504: {
    title: "HDF5 writer has no output folder",
    explain:
      "preprocess.yaml names the folder the HDF5 files are written to: set `preprocess.output`, or `preprocess = none` when the phase's HDF5 files are made elsewhere.",
    trigger: { edit: ['preprocess = hdf5_writer { output: "./h5/align_raw" }', "preprocess = hdf5_writer {}"] },
  },
  E0505: {
    title: "template unknown to the Cerebras preprocessor",
    explain:
      "A chat template reaches create_hdf5_dataset.py only by its name in Cerebras' system-prompt registry (`cerebras_style`). A template without one cannot be reproduced there: set `cerebras_style`, or write the HDF5 files with `llavac data hdf5` and set `preprocess = none`.",
    trigger: { edit: ["template  = vicuna_v1", "template  = template { layout: chat }"] },
  },
  E0506: {
    title: "cerebras_style not in the release's registry",
    explain:
      "The template's `cerebras_style` must be a system_prompt_style the target release's preprocessor knows (2.2.1 and 2.3.0: vicuna_v0, vicuna_v1, llava_v0, llava_v1, llava_plain, zephyr, mistral_instruct).",
    trigger: { edit: ["template  = vicuna_v1", 'template  = vicuna_v1 { cerebras_style: "llama2" }'] },
  },

  E0601: {
    title: "weights folder incomplete",
    explain:
      "`check --weights DIR` expects seed step 3's layout: DIR/image_model (config.json, preprocessor_config.json, the CLIP weights) and DIR/text_model (LLaVA's config.json, Vicuna's config renamed config_lmsys.json, the weight shards with their index, and the tokenizer files).",
    trigger: { weights: "weights" },
  },
  E0602: {
    title: "weights disagree with the spec",
    explain:
      "A value in the weights' config.json (hidden sizes, layers, heads, intermediate size, vocabulary, norm epsilon, rope theta, projector type, vision select layer, image and patch size) differs from the spec. The Cerebras converter would build a model the spec does not describe, or fail.",
    trigger: { weights: "weights", files: { "weights/image_model/config.json": '{ "hidden_size": 1 }' } },
  },
  E0603: {
    title: "shard index lists missing files",
    message: "{index} lists {count} shard file(s) that do not exist: {files}",
    explain: "A `*.index.json` maps tensors to shard files; every file it names must be in the folder.",
    trigger: {
      weights: "weights",
      files: { "weights/text_model/model.safetensors.index.json": '{ "weight_map": { "w": "model-00001.safetensors" } }' },
    },
  },
  E0604: {
    title: "tokenizer differs from the weights'",
    message: "the spec's tokenizer {ours} is not the weights' {theirs}",
    explain:
      "The spec's tokenizer.model derives image_start_idx and writes the HDF5 files; it must be the tokenizer the language model was trained with.",
    trigger: {
      weights: "weights",
      edit: ["language  = tiny_llama", 'language  = tiny_llama { tokenizer: tokenizer { model: "./ours.model" } }'],
      files: { "ours.model": "ours", "weights/text_model/tokenizer.model": "theirs" },
    },
  },
  E0605: {
    title: "unreadable config",
    message: "{file} is not valid JSON: {reason}",
    explain: "A JSON file of the weights folder could not be parsed.",
    trigger: { weights: "weights", files: { "weights/image_model/config.json": "{" } },
  },
  E0606: {
    title: "weights use a feature the converter does not support",
    explain:
      "LLaVA's `mm_use_im_start_end` and `mm_use_im_patch_token` add image start/end or patch tokens to the vocabulary; the Cerebras converter and LLaVA-1.5 do not support them, so weights trained with them cannot be converted.",
    trigger: { weights: "weights", files: { "weights/text_model/config.json": '{ "mm_use_im_start_end": true }' } },
  },

  E0701: {
    title: "malformed --set",
    explain:
      "A command-line override is written `--set <declaration>.<field>...=<value>`: a declaration of the spec, then field names separated by `.`, then `=` and a value written as in the spec (`--set finetune.optimizer.lr=2e-5`, `--set 'pretrain.batch=128 per step'`).",
    trigger: { set: ["tune"] },
  },
  E0702: {
    title: "--set names no declaration",
    explain:
      "The first name of a `--set` path must be a declaration of the spec file itself (a phase, a model, a `let`), not an imported or standard-library name.",
    trigger: { set: ["tnue.batch=3 per step"] },
  },
  E0703: {
    title: "--set names no field",
    explain:
      "A name after the first in a `--set` path must be a field of the schema of the value before it; a path descends only into records (instances), not into lists or plain values.",
    trigger: { set: ["tune.optimizer.lrr=2e-5"] },
  },
  E0704: {
    title: "--set value does not parse",
    explain:
      "The text after `=` in a `--set` must be one value in the spec's own syntax: strings in double quotes (quote them for the shell too: `--set 'pretrain.images=\"./imgs\"'`), enum members and declarations by name, `128 per step`, `3%`, `[a, b]`.",
    trigger: { set: ["tune.optimizer.lr=2e-5)"] },
  },
  E0705: {
    title: "environment value has the wrong type",
    explain:
      '`env("NAME", default)` takes the type of its default: with a number, a bool or a quantity as the default, the environment variable must hold a value of that type, written as in a spec (`2e-5`, `true`, `100 steps`, `3%`).',
    trigger: { edit: ["optimizer = adamw { lr: 1e-3 }", 'optimizer = adamw { lr: env("LR", 1e-3) }'], env: { LR: "fast" } },
  },
  E0706: {
    title: "--set given twice",
    explain: "Two `--set` options assign the same path (or one assigns a field inside a value another replaces whole); keep one.",
    trigger: { set: ["tune.optimizer.lr=1e-3", "tune.optimizer=adamw { lr: 2e-3 }"] },
  },

  W0301: {
    title: "schedule does not add up",
    message: "warm-up {warmup} + decay {decay} = {sum} steps, but the phase runs {steps}",
    explain:
      "warmup + decay steps differ from max_steps. The Cerebras 13B phase-1 reference has this inconsistency (66 + 2144 ≠ 2180); llavac reproduces an explicit value but says so.",
    trigger: {
      edit: [
        "schedule  = warmup_cosine { length: 2 epochs, warmup: 10% }",
        "schedule  = warmup_cosine { length: 2 epochs, warmup: 10%, decay: 60 steps }",
      ],
    },
  },
  W0302: {
    title: "schedule counts a different batch",
    message: "the schedule counts steps of {reference} samples, but the phase trains {batch} per step",
    explain:
      "The step count is computed with a reference batch that differs from the batch the phase trains with, so '1 epoch' is not one pass over the data.",
    trigger: {
      edit: ["schedule  = warmup_cosine { length: 3 epochs }", "schedule  = warmup_cosine { length: 3 epochs, reference_batch: 64 }"],
    },
  },
  W0303: {
    title: "backend default applies",
    message: "`{field}` is unset, so Cerebras applies its default {default}",
    explain:
      "A field is left unset and the target's own default applies, which differs from the other phases or from what the model family expects.",
    trigger: { edit: ["language  = tiny_llama", "language  = tiny_llama { embd_pdrop: none }"] },
  },
  W0304: {
    title: "paths disagree",
    message: "the HDF5 writer checks images in {writer}, but training reads them from {trainer}",
    explain: "The HDF5 writer and the trainer look for images in different folders.",
    trigger: {
      edit: [
        'preprocess = hdf5_writer { output: "./h5/align_raw" }',
        'preprocess = hdf5_writer { output: "./h5/align_raw", images: "./other" }',
      ],
    },
  },
  W0420: {
    title: "the held-out split is trained on",
    message: "held-out dataset `{name}` is not held out: {reason}",
    explain:
      "The eval loss measures how the model does on samples it did not learn from; evaluating on a training dataset (or its jsonl folder) measures memorisation instead.",
    trigger: {
      edit: [
        "  freeze    = [/^image_model/, /^text_model/]",
        '  freeze    = [/^image_model/, /^text_model/]\n  eval = eval_input { data: shapes, hdf5: "./h5/held" }\n  eval_every = 10 steps',
      ],
    },
  },
  W0408: {
    title: "data folder missing",
    message: "{what} {dir} does not exist",
    strict: true,
    explain:
      "A folder the phase reads does not exist yet. A warning by default (the data may be prepared later); `--strict` (or `--deny W0408`) makes it an error, for a build that is about to run.",
    trigger: { noData: true },
  },
  E0411: {
    title: "HDF5 data written for another layout",
    message: "the HDF5 folder {dir} was written for another layout: {differences}",
    explain:
      "An HDF5 folder records in its data_params.json the layout it was written with: the tokenizer's vocabulary size, eos and pad ids, the maximum sequence length and the image slots (num_patches, image_patch_start_idx). When these differ from the phase's, the data was written for another tokenizer, template or model, and training on it would read the wrong tokens or fail inside the model; rewrite it with `llavac data hdf5 --force`.",
    trigger: {
      files: {
        "h5/align/data_params.json": JSON.stringify({
          "post-process": { vocab_size: 512, eos_id: 2, pad_id: 0 },
          processing: { max_seq_length: 128 },
        }),
      },
    },
  },
  E0710: {
    title: "data cannot be read",
    message: "phase {phase}: its jsonl cannot be read: {reason}",
    explain:
      "`check --data` reads each phase's jsonl files (the datasets' `jsonl` folders, or `preprocess.input`) as `llavac data hdf5` would; a missing folder, or one without `.jsonl` files, leaves nothing to check, and the writer would stop there.",
    trigger: { data: true },
  },
  W0710: {
    title: "samples longer than the MSL",
    message: "{count} of {checked} samples of phase {phase} are longer than the MSL ({msl} tokens): `data hdf5` drops them",
    strict: true,
    explain:
      "A sample's tokens with the template, the tokenizer and the image slots are more than the phase's max_sequence_length, so the HDF5 writer drops it (`too_long`); with `preprocess.over_length: truncate` it cuts it instead (W0711). The histogram shows how far the lengths go past the MSL.",
    trigger: {
      data: true,
      files: {
        "jsonl/a.jsonl":
          '{"id": 1, "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word"}]}\n',
      },
    },
  },
  W0711: {
    title: "samples cut to the MSL",
    message: "{count} of {checked} samples of phase {phase} are longer than the MSL ({msl} tokens): `data hdf5` cuts them",
    strict: true,
    explain:
      "With `preprocess.over_length: truncate` the writer keeps a sample longer than the MSL, cut to its first MSL positions: the end of the conversation (often the last answer) is not trained on.",
    trigger: {
      data: true,
      files: {
        "jsonl/a.jsonl":
          '{"id": 1, "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word"}]}\n',
      },
      edit: [
        'preprocess = hdf5_writer { output: "./h5/align_raw" }',
        'preprocess = hdf5_writer { output: "./h5/align_raw", over_length: truncate }',
      ],
    },
  },
  W0712: {
    title: "images missing",
    message: "{count} of {checked} samples of phase {phase} name an image that does not exist: `data hdf5` skips them",
    strict: true,
    explain:
      "The record's `image`, under the phase's image root, is not there (`missing_image`). The Cerebras writer drops such samples counting them only as discarded; llavac skips them by name.",
    trigger: {
      data: true,
      files: {
        "jsonl/a.jsonl":
          '{"id": 1, "image": "a.jpg", "conversations": [{"from": "human", "value": "<image>\\nq"}, {"from": "gpt", "value": "a"}]}\n',
      },
    },
  },
  W0713: {
    title: "images unreadable",
    message: "{count} of {checked} samples of phase {phase} have an image that cannot be read: `data hdf5` skips them",
    strict: true,
    explain:
      "The image exists but is not an image llavac (and PIL) can read (`bad_image`). `check --data` reads only the header unless `--decode-images` is given; `data hdf5` decodes every image fully, so a file cut after its header is found by `--decode-images` and by the writer.",
    trigger: {
      data: true,
      files: {
        "jsonl/a.jsonl":
          '{"id": 1, "image": "a.jpg", "conversations": [{"from": "human", "value": "<image>\\nq"}, {"from": "gpt", "value": "a"}]}\n',
        "images/a.jpg": "not an image",
      },
    },
  },
  W0714: {
    title: "image paths escape the image root",
    message: "{count} of {checked} samples of phase {phase} have an image path that leaves the image root: `data hdf5` skips them",
    strict: true,
    explain:
      "An image path from a data file must stay inside the image root: absolute paths, `..` and symbolic links that lead outside (followed to their target) are refused (`unsafe_image_path`).",
    trigger: {
      data: true,
      files: {
        "jsonl/a.jsonl":
          '{"id": 1, "image": "../a.jpg", "conversations": [{"from": "human", "value": "<image>\\nq"}, {"from": "gpt", "value": "a"}]}\n',
      },
    },
  },
  W0715: {
    title: "unknown roles",
    message: "{count} of {checked} samples of phase {phase} have a turn whose role is neither human nor gpt: `data hdf5` skips them",
    strict: true,
    explain:
      "Turns are `human` (or `user`) and `gpt` (or `assistant`); the Cerebras writer ignores roles, so an unknown one is trained as whatever its position says (`bad_role`).",
    trigger: {
      data: true,
      files: { "jsonl/a.jsonl": '{"id": 1, "conversations": [{"from": "human", "value": "q"}, {"from": "robot", "value": "a"}]}\n' },
    },
  },
  W0716: {
    title: "turns out of order",
    message: "{count} of {checked} samples of phase {phase} have turns that do not alternate human, gpt: `data hdf5` skips them",
    strict: true,
    explain:
      "The writer pairs turns by position: a gpt turn first, or two human turns in a row, would train a human turn as the assistant's answer (`role_order`).",
    trigger: {
      data: true,
      files: { "jsonl/a.jsonl": '{"id": 1, "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}]}\n' },
    },
  },
  W0717: {
    title: "image placeholder count",
    message: "{count} of {checked} samples of phase {phase} do not have exactly one <image> per image: `data hdf5` skips them",
    strict: true,
    explain:
      "A sample with an image needs exactly one `<image>` placeholder, and a text-only sample none (`image_token_count`): the image features fill one block of slots, so any other count means the text and the image disagree (the most reported LLaVA training failure: image tokens and features do not match).",
    trigger: {
      data: true,
      files: {
        // Text-only, so that no image check comes first (the writer checks the image before the text).
        "jsonl/a.jsonl": '{"id": 1, "conversations": [{"from": "human", "value": "<image>\\nq"}, {"from": "gpt", "value": "a"}]}\n',
      },
    },
  },
  W0718: {
    title: "no supervised token",
    message: "{count} of {checked} samples of phase {phase} have no position that carries loss: `data hdf5` skips them",
    strict: true,
    explain:
      "After the layout (and a cut to the MSL, with `over_length: truncate`) no position of the sample is trained on (`no_supervised_tokens`), typically a long prompt whose answer falls past the MSL.",
    trigger: {
      data: true,
      files: {
        "jsonl/a.jsonl":
          '{"id": 1, "conversations": [{"from": "human", "value": "word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word"}, {"from": "gpt", "value": "a"}]}\n',
      },
      edit: [
        'preprocess = hdf5_writer { output: "./h5/tune_raw" }',
        'preprocess = hdf5_writer { output: "./h5/tune_raw", over_length: truncate }',
      ],
    },
  },
  W0719: {
    title: "lines that are not JSON",
    message: "{count} of {checked} lines of phase {phase}'s jsonl are not valid JSON: `data hdf5` skips them",
    strict: true,
    explain: "A jsonl line must be one JSON value (`malformed_json`); the Cerebras writer stops at the first such line.",
    trigger: { data: true, files: { "jsonl/a.jsonl": "{not json\n" } },
  },
  W0720: {
    title: "lines that are not UTF-8",
    message: "{count} of {checked} lines of phase {phase}'s jsonl are not valid UTF-8: `data hdf5` skips them",
    strict: true,
    explain:
      "A line with bytes that are not UTF-8 (`invalid_utf8`) would be read with replacement characters by Python; llavac skips it rather than train on altered text.",
    trigger: {
      data: true,
      files: { "jsonl/a.jsonl": "" },
      bytes: {
        "jsonl/b.jsonl": "eyJpZCI6MSwiY29udmVyc2F0aW9ucyI6W3siZnJvbSI6Imh1bWFuIiwidmFsdWUiOiJx/yJ9LHsiZnJvbSI6ImdwdCIsInZhbHVlIjoiYSJ9XX0K",
      },
    },
  },
  W0721: {
    title: "records not in LLaVA's format",
    message: "{count} of {checked} records of phase {phase} are not LLaVA conversations: `data hdf5` skips them",
    strict: true,
    explain:
      "A record is a JSON object with `conversations`, a list of `{from, value}` turns, an optional `image` string and an `id` (`invalid_record`).",
    trigger: { data: true, files: { "jsonl/a.jsonl": "[1, 2]\n" } },
  },
  W0722: {
    title: "odd number of turns",
    message: "{count} of {checked} samples of phase {phase} have an odd number of turns: `data hdf5` skips them",
    strict: true,
    explain: "Every human turn needs an answer (`odd_turns`); the Cerebras writer stops with an AssertionError.",
    trigger: { data: true, files: { "jsonl/a.jsonl": '{"id": 1, "conversations": [{"from": "human", "value": "q"}]}\n' } },
  },
  W0723: {
    title: "conversations without turns",
    message: "{count} of {checked} samples of phase {phase} have no turns: `data hdf5` skips them",
    strict: true,
    explain: "`conversations` is an empty list (`no_turns`).",
    trigger: { data: true, files: { "jsonl/a.jsonl": '{"id": 1, "conversations": []}\n' } },
  },
  E0820: {
    title: "two tokenizers given",
    message: "the tokenizer gives both a sentencepiece `model` and a `json`: which one tokenises?",
    explain: "A tokenizer is either a sentencepiece `tokenizer.model` (`model`) or a Hugging Face `tokenizer.json` (`json`), not both.",
    trigger: {
      edit: ["language  = tiny_llama", 'language  = tiny_llama { tokenizer: tokenizer { model: "./a.model", json: "./tokenizer.json" } }'],
    },
  },
  E0821: {
    title: "sentencepiece model for a byte-level family",
    message: "{family}-family tokenizers are byte-level BPE, shipped as tokenizer.json, but the spec gives a sentencepiece `model`",
    explain:
      "Llama-3's and Qwen2's tokenizers are byte-level BPE: their Hugging Face folders ship tokenizer.json (Llama-3's `original/tokenizer.model` is a tiktoken file, not sentencepiece). Give it as `tokenizer { json: \"…/tokenizer.json\" }`.",
    trigger: {
      edit: ["language  = tiny_llama", 'language  = tiny_llama { tokenizer_family: llama3, tokenizer: tokenizer { model: "./a.model" } }'],
    },
  },
  E0822: {
    title: "template's special token not in the tokenizer",
    message: "{name} uses the special token{s} {tokens}, which the tokenizer {source} does not have",
    explain:
      "A `turns` template writes its special tokens as text and lists them in `special_tokens`; the tokenizer must have each as a special token (tokenizer.json's added_tokens, or sentencepiece's control pieces), or the header would be tokenised as ordinary text and the model trained on the wrong ids. The standard library's `llama3` needs a Llama-3 tokenizer, `chatml` a Qwen2 one.",
    trigger: { edit: ["template  = vicuna_v1", "template  = llama3"], append: 'import { llama3 } from "std/templates"\n' },
  },
  E0823: {
    title: "template needs a BOS the tokenizer lacks",
    message: "{name} starts each sample with BOS, but the tokenizer {source} has no bos_token",
    explain:
      "The plain and chat layouts, and a `turns` template with `bos: true`, start each sample with the tokenizer's BOS. A tokenizer without one (Qwen2's) needs a `turns` template with `bos: false`, such as `chatml`.",
    trigger: {
      edit: [
        "language  = tiny_llama",
        'language  = tiny_llama { tokenizer_family: qwen2, vocab_size: 4, tokenizer: tokenizer { json: "./tok/tokenizer.json" } }',
      ],
      files: { "tok/tokenizer.json": TINY_TOKENIZER_JSON, "tok/tokenizer_config.json": '{"bos_token": null, "eos_token": "<|im_end|>"}' },
    },
  },
  E0824: {
    title: "the release's preprocessor cannot lay out the template",
    message: "{detail}",
    explain:
      "A `turns` template (special-token headers, a supervised end-of-turn token) reaches the Cerebras HDF5 writers only where the release has a layout for it: 2.2.1's and 2.3.0's create_hdf5_dataset.py have none, and 2.10's data-preprocessing pipeline lays out Llama-3 only for phase 1 (`finetuning_llava_hook_prompt_completion` with its custom Llama-3 tokenizer). Write the HDF5 files with `llavac data hdf5` and set `preprocess = none`.",
    trigger: {
      edit: [
        "language  = tiny_llama",
        'language  = tiny_llama { tokenizer_family: qwen2, vocab_size: 4, tokenizer: tokenizer { json: "./tok/tokenizer.json", huggingface: "org/tok" } }',
      ],
      append: 'import { chatml } from "std/templates"\n',
      set: ["tune.template=chatml"],
      files: { "tok/tokenizer.json": TINY_TOKENIZER_JSON, "tok/tokenizer_config.json": '{"bos_token": "<s>", "eos_token": "<|im_end|>"}' },
      build: true,
    },
  },
  // ---- 1000: the LLaVA repository's GPU launch (`gpus`, `--target llava-repo`) ----
  E1000: {
    title: "more than one gpus block",
    message: "a spec has at most one `gpus` block",
    explain: "A spec describes one GPU cluster: at most one `gpus` declaration, which every phase's launch script uses.",
    trigger: { append: "\ngpus a {}\ngpus b {}\n" },
  },
  E1001: {
    title: "freezing the LLaVA repository cannot express",
    message:
      "phase {phase}: {count} parameters would be trained or frozen differently by every combination of the repository's freeze switches",
    explain:
      "The LLaVA repository freezes by switches, not patterns: the vision tower is always frozen; `--tune_mm_mlp_adapter` trains mm_projector alone; otherwise `--freeze_backbone` freezes the language model's body (embeddings, layers, norm, not lm_head) and `--freeze_mm_mlp_adapter` freezes mm_projector. The phase's freeze patterns must split the parameter tree (`llavac params`) exactly as one of these combinations does; the notes list the parameters that would differ from the nearest one.",
    trigger: { edit: ["freeze    = [/^image_model/, /^text_model/]", "freeze    = [/^text_model/]"], append: "\ngpus cluster {}\n" },
  },
  E1002: {
    title: "batch not divisible by GPUs",
    message: "batch {batch} does not split evenly across {gpus} GPUs",
    explain:
      "Without a micro-batch the per-GPU batch (`--per_device_train_batch_size`) is batch ÷ (GPUs per node × nodes), which must be whole.",
    trigger: { append: "\ngpus cluster { per_node: 3 }\n" },
  },
  E1003: {
    title: "gradient accumulation not whole",
    message: "batch {batch} is not a whole number of micro-batches of {micro} on {gpus} GPUs",
    explain:
      "`--gradient_accumulation_steps` = batch ÷ (micro-batch × GPUs per node × nodes) must be a whole number ≥ 1. The GPU batch is the phase's `gpu.batch`, or its `batch`.",
    trigger: { append: "\ngpus cluster { per_node: 8 }\n" },
  },
  E1004: {
    title: "schedule the Trainer cannot run",
    message: "the Trainer's schedule cannot express `{what}`",
    explain:
      "transformers 4.37.2 (the LLaVA repository's pin) warms the learning rate up linearly from 0 and decays its cosine to 0: `initial_lr` and `final_lr` must be 0.",
    trigger: {
      edit: ["warmup_cosine { length: 3 epochs }", "warmup_cosine { length: 3 epochs, final_lr: 1e-5 }"],
      append: "\ngpus cluster {}\n",
    },
  },
  E1005: {
    title: "optimizer the Trainer cannot run",
    message: "torch's AdamW cannot express `{what}`",
    explain: "The repository trains with torch's AdamW (`--optim adamw_torch`), which always corrects the moments' bias.",
    trigger: { edit: ["adamw { lr: 2e-4 }", "adamw { lr: 2e-4, correct_bias: false }"], append: "\ngpus cluster {}\n" },
  },
  E1006: {
    title: "template without a LLaVA conversation",
    message: "template {template} is none of the LLaVA repository's conversations (--version)",
    explain:
      '`--version` names one of llava/conversation.py\'s templates, and the repository formats the data with it: llavac knows `plain` (→ plain), `vicuna_v1` (→ v1), `llava_v1` (→ llava_v1), `mistral_instruct` (→ mistral_instruct) and the ChatML of `chatml_direct` (`chatml { system: "Answer the questions.", separator: "" }`) by their text. The repository has no Llama-3 conversation.',
    trigger: { edit: ["template  = vicuna_v1", 'template  = template { layout: chat, system: "Hi." }'], append: "\ngpus cluster {}\n" },
  },
  E1007: {
    title: "projector the LLaVA repository cannot build",
    message: "projector {projector} is not one the LLaVA repository builds (--mm_projector_type)",
    explain: "The repository builds `linear` or `mlpNx_gelu`: N Linear layers with bias and GELU between them.",
    trigger: {
      edit: ["projector = mlp2x_gelu", "projector = mlp_projector { depth: 2, activation: relu }"],
      append: "\ngpus cluster {}\n",
    },
  },
  E1008: {
    title: "no HuggingFace id for the LLaVA repository",
    message: "the {part} has no `huggingface` id for {flag}",
    explain:
      'The repository loads the language model (`--model_name_or_path`) and the vision tower (`--vision_tower`) by HuggingFace id or local folder: the model\'s parts must say `huggingface: "..."`.',
    trigger: { append: "\ngpus cluster {}\n" },
  },
  E1009: {
    title: "offload without ZeRO-3",
    message: "phase {phase} runs ZeRO-{stage}, and offloading needs ZeRO-3",
    explain:
      "`gpus { offload: true }` uses the repository's scripts/zero3_offload.json. A phase that trains only the projector runs ZeRO-2 unless its `gpu = { zero: 3 }` says otherwise.",
    trigger: { append: "\ngpus cluster { offload: true }\n" },
  },
  E1010: {
    title: "several nodes without a hostfile",
    message: "{nodes} nodes with the deepspeed launcher need a `hostfile`",
    explain: "`deepspeed --hostfile` starts every node from the first one: the hostfile lists them (`host slots=N`).",
    trigger: { append: "\ngpus cluster { nodes: 2 }\n" },
  },
  E1011: {
    title: "several nodes without a master address",
    message: "{nodes} nodes with torchrun need the first node's address (`master`)",
    explain: "`torchrun` runs on every node and meets the others at `--master_addr`, the first node.",
    trigger: { append: "\ngpus cluster { nodes: 2, launcher: torchrun }\n" },
  },
  E1012: {
    title: "no data the LLaVA repository can read",
    message: "phase {phase} has no LLaVA JSON or jsonl for `--data_path`",
    explain:
      "The repository reads one LLaVA JSON per phase. llavac makes it from each dataset's `jsonl` folder (`llavac data prepare` output), its `root`/`file` LLaVA JSON, or the phase's `preprocess.input` folder.",
    trigger: {
      edit: [
        'dataset shapes { format: llava_jsonl, samples: 1000, jsonl: "./jsonl" }',
        "dataset shapes { format: llava_json, samples: 1000 }",
      ],
      append: "\ngpus cluster {}\n",
    },
  },
  W1000: {
    title: "warm-up rounding the Trainer does not keep",
    message: "warmup_rounding {rounding} is not kept: the Trainer rounds the warm-up ratio up",
    explain: "`--warmup_ratio` makes ⌈ratio × steps⌉ warm-up steps, which can be one more than the spec's rounding.",
    trigger: { edit: ["warmup: 10% }", "warmup: 10%, warmup_rounding: floor }"], append: "\ngpus cluster {}\n" },
  },
  W1001: {
    title: "decay steps the Trainer does not keep",
    message: "decay {decay} steps is not kept: the Trainer's cosine runs over the rest of the steps",
    explain: "The Trainer's cosine schedule decays over all the steps after the warm-up; a stated `decay` is not passed on.",
    trigger: { edit: ["warmup: 10% }", "warmup: 10%, decay: 5 steps }"], append: "\ngpus cluster {}\n" },
  },
  W1002: {
    title: "cbf16 trains as bf16 on GPUs",
    message: "precision cbf16 is Cerebras' own: the GPU job trains in bf16",
    explain: "`--bf16 True` is the nearest the Trainer has to Cerebras' cbf16.",
    trigger: { edit: ["adamw { lr: 2e-4 }", "adamw { lr: 2e-4 }\n  precision = cbf16"], append: "\ngpus cluster {}\n" },
  },
  W1003: {
    title: "held-out evaluation the LLaVA repository does not run",
    message: "phase {phase} evaluates a held-out split, which the LLaVA repository's train.py does not",
    explain: "train.py has no evaluation dataset: `eval_every` is not passed on (`--evaluation_strategy no`).",
    trigger: {
      edit: ["adamw { lr: 2e-4 }", 'adamw { lr: 2e-4 }\n  eval = eval_input { data: shapes, hdf5: "./h5/tune" }\n  eval_every = 5 steps'],
      append: "\ngpus cluster {}\n",
    },
  },

  E0840: {
    title: "cls_patch on a tower without a CLS token",
    message: "{tower} has no CLS token (prepend_cls_token: false), so `select: cls_patch` has no CLS feature to keep",
    explain:
      "`select: cls_patch` feeds the projector the CLS token's feature and every patch's; `patch` drops the CLS feature. A tower without a CLS token (SigLIP) has only patch features, and `patch` already gives all of them ((H/p)·(W/p) image slots: 729 for siglip_so400m_patch14_384). For Cerebras llavac writes such a tower's `patch` as `image_feature_select_mode: cls_patch`, the Model Zoo's mode that keeps every encoder output (its `patch` always drops the first one).",
    trigger: { edit: ["vision    = tiny_vit", "vision    = tiny_vit { prepend_cls_token: false, select: cls_patch }"] },
  },
  W0840: {
    title: "the Cerebras checkpoint converter cannot convert this tower",
    message:
      "the Model Zoo {release} LLaVA checkpoint converter converts CLIP vision towers only: convert-in.sh and convert-out.sh cannot convert {tower} (no CLS token)",
    explain:
      "The job scripts' convert-in.sh and convert-out.sh call the Model Zoo's convert_checkpoint.py for LLaVA, whose image_model converter is CLIP's (class_embedding, pre_layrnorm, CLIPVisionConfig) in every release llavac targets (cs-2.2 to cs-2.5 formats). A SigLIP tower's training config is expressible (no CLS token, no pre-layernorm, gelu_new, and `image_feature_select_mode: cls_patch` to keep every patch), but its HF weights cannot go through that converter.",
    trigger: {
      edit: ["vision    = tiny_vit", "vision    = tiny_vit { prepend_cls_token: false, use_post_embed_layer_norm: false }"],
      append: "\ncerebras cluster { num_csx: 1 }\n",
    },
  },
  W0841: {
    title: "the Cerebras ViT takes another image size",
    message:
      "the Model Zoo {release} ViTModel needs an image size its patch size divides (model.image_model.image_size): {tower}'s {size} px in {patch} px patches is written as {cut}",
    explain:
      "The Model Zoo's ViTEmbeddingLayer asserts image_size % patch_size == 0 in every release. A tower that drops the remainder (`drop_remainder: true`; SigLIP so400m: 384 px in 14 px patches, 27 × 27 = 729 patches and 6 pixels unused) is written at the largest size with the same patch grid (378 × 378), with image_data_size and the transforms' resize at that size: the same number of patches and image slots, but the images are resized to 378 px where HF (and `llavac run`) resize to 384 px and leave the last 6 pixels unread.",
    trigger: {
      edit: [
        "vision    = tiny_vit",
        "vision    = tiny_vit { image_size: (36, 36), drop_remainder: true, transforms: [resize { size: (36, 36) }, to_tensor] }",
      ],
    },
  },

  E0800: {
    title: "key/value heads do not divide the query heads",
    message: "num_key_value_heads {kv} does not divide num_heads {heads}",
    explain:
      "Grouped-query attention shares each key/value head among num_heads / num_key_value_heads query heads, so num_key_value_heads must divide num_heads (Llama-3-8B and Mistral-7B: 8 of 32; Qwen2-7B: 4 of 28; 1 is multi-query attention).",
    trigger: { edit: ["language  = tiny_llama", "language  = tiny_llama { num_key_value_heads: 3 }"] },
  },
  E0801: {
    title: "llama3 rope scaling frequency band is empty",
    message: "rope_scaling high_freq_factor {high} must be greater than low_freq_factor {low}",
    explain:
      "Llama-3.1's rope scaling keeps wavelengths shorter than original_max_position_embeddings / high_freq_factor, divides those longer than original / low_freq_factor by `factor`, and blends the band between: high_freq_factor must be greater than low_freq_factor (the blend divides by their difference).",
    trigger: {
      edit: [
        "language  = tiny_llama",
        "language  = tiny_llama { rope_scaling: llama3_rope_scaling { low_freq_factor: 4.0, high_freq_factor: 1.0 } }",
      ],
      append: '\nimport { llama3_rope_scaling } from "std/language"\n',
    },
  },
  E0802: {
    title: "rope scaling without rotary positions",
    message: "rope_scaling scales rotary positions, but the model's position_embedding_type is {kind}",
    explain:
      "`rope_scaling` changes the frequencies of rotary position embeddings; a model with another position embedding has none to scale.",
    trigger: {
      edit: ["language  = tiny_llama", "language  = tiny_llama { position_embedding_type: learned, rope_scaling: llama3_rope_scaling {} }"],
      append: '\nimport { llama3_rope_scaling } from "std/language"\n',
    },
  },
  E0803: {
    title: "a language-model field the release cannot express",
    message: "Cerebras release {release} cannot express {field}: {reason}",
    explain:
      "Each Model Zoo release's config classes accept their own set of text-model keys. Grouped-query attention (`attention_module: multiquery_attention`, `extra_attention_params: {num_kv_groups}`), `rope_theta` and the sliding window (`attention_sliding_window_length`) are in 2.2.1, 2.3.0 and 2.10; Llama-3.1's `llama3` rope scaling (`pos_scaling_type: llama3`, `pos_scaling_extra_args`) only in 2.10. Target release 2.10 (`cerebras cluster { release: \"2.10\" }`), or train such a model with `llavac run`.",
    trigger: {
      edit: ["language  = tiny_llama", "language  = tiny_llama { rope_scaling: llama3_rope_scaling {} }"],
      append: '\nimport { llama3_rope_scaling } from "std/language"\n',
      build: true,
    },
  },
  W0800: {
    title: "sliding window as long as the context",
    message: "sliding_window {window} is not shorter than max_position_embeddings {msl}: it changes nothing",
    explain:
      "With a sliding window each position attends itself and the sliding_window − 1 positions before it. A window at least as long as the sequences never blocks anything, so it is probably a mistake (Mistral-7B v0.1 had 4,096 of 32,768; v0.2 has none).",
    trigger: { edit: ["language  = tiny_llama", "language  = tiny_llama { sliding_window: 128 }"] },
  },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;
export type ErrorCode = Extract<Code, `E${string}`>;
export type WarningCode = Extract<Code, `W${string}`>;

export function isCode(s: string): s is Code {
  return Object.hasOwn(CODES, s);
}

export function defaultLevel(code: Code): Level {
  return code.startsWith("W") ? "warning" : "error";
}

/** The codes `--strict` denies. */
export const STRICT_CODES: Code[] = (Object.keys(CODES) as Code[]).filter((c) => (CODES[c] as CodeInfo).strict === true);

// ---------------- message templates ----------------

type HoleNames<S extends string> = S extends `${string}{${infer H}}${infer R}`
  ? H extends `${string} ${string}`
    ? HoleNames<R>
    : H | HoleNames<R>
  : never;
type TemplateOf<C extends Code> = (typeof CODES)[C] extends { message: infer M extends string } ? M : never;
/** The values a raise site gives for a code's `{hole}`s. */
export type Holes<C extends Code> = { [K in HoleNames<TemplateOf<C>>]: string | number };

const HOLE = /\{([A-Za-z_]+)\}/g;

/** A code's message with its holes filled. */
export function fill<C extends Code>(code: C, holes: Holes<C>): string {
  const template = (CODES[code] as CodeInfo).message;
  if (template === undefined) throw new Error(`${code} has no message template`);
  return template.replace(HOLE, (_, name: string) => String((holes as Record<string, string | number>)[name]));
}

const templateRegex = new Map<Code, RegExp>();

/** Whether a message is an instance of its code's template (every hole matches some text). */
export function fitsTemplate(code: Code, message: string): boolean {
  const template = (CODES[code] as CodeInfo).message;
  if (template === undefined) return true;
  let re = templateRegex.get(code);
  if (!re) {
    const parts = template.split(HOLE).map((p, i) => (i % 2 === 1 ? "([\\s\\S]*)" : p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    templateRegex.set(code, (re = new RegExp(`^${parts.join("")}$`)));
  }
  return re.test(message);
}

// ---------------- levels ----------------

/** The level a code is raised at after `--deny`/`--allow`: "allow" drops it. */
export type LevelPolicy = ReadonlyMap<Code, Level | "allow">;

export class LevelUsageError extends Error {}

/** `--deny`, `--allow` and `--strict` as one policy; a mistake in them is a usage error. */
export function levelPolicy(o: { deny?: readonly string[]; allow?: readonly string[]; strict?: boolean }): Map<Code, Level | "allow"> {
  const policy = new Map<Code, Level | "allow">();
  const known = (raw: string, flag: string): Code => {
    const c = raw.toUpperCase();
    if (!isCode(c))
      throw new LevelUsageError(`${flag} ${raw}: unknown code (codes look like E0401 or W0301; \`llavac explain CODE\` describes one)`);
    return c;
  };
  for (const raw of o.allow ?? []) {
    const c = known(raw, "--allow");
    if (defaultLevel(c) === "error")
      throw new LevelUsageError(`--allow ${c}: ${c} is an error, and an error cannot be allowed (only warnings can)`);
    policy.set(c, "allow");
  }
  for (const c of [...(o.strict ? STRICT_CODES : []), ...(o.deny ?? []).map((raw) => known(raw, "--deny"))]) {
    if (policy.get(c) === "allow") throw new LevelUsageError(`${c} is both allowed and denied`);
    policy.set(c, "error");
  }
  return policy;
}
