// The generated training program (out/<phase>/train.ts): readable TypeScript that imports llavac's
// runtime, holds the resolved configuration as a typed constant, and runs the phase. Every value is
// written as a JSON literal (strings through JSON.stringify), so nothing in a spec can become code.
import CodeBlockWriter from "code-block-writer";
import type { PhaseRunConfig } from "../../runtime/train/config.js";
import type { ModelIR } from "../ir.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json | undefined };

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function isScalarArray(v: Json[]): boolean {
  return v.every((x) => x === null || typeof x !== "object");
}

/** Comments placed before keys, by dotted path. */
type Notes = Record<string, string>;

function writeValue(w: CodeBlockWriter, v: Json, at: string, notes: Notes): void {
  if (v === null || typeof v !== "object") {
    w.write(typeof v === "number" && !Number.isFinite(v) ? "null" : JSON.stringify(v));
    return;
  }
  if (Array.isArray(v)) {
    if (isScalarArray(v)) {
      w.write("[" + v.map((x) => JSON.stringify(x)).join(", ") + "]");
      return;
    }
    w.write("[").newLine();
    w.indent(() =>
      v.forEach((x, i) => {
        writeValue(w, x, `${at}.${i}`, notes);
        w.write(",").newLine();
      }),
    );
    w.write("]");
    return;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  if (entries.length === 0) {
    w.write("{}");
    return;
  }
  // Small flat objects stay on one line.
  if (
    entries.every(
      ([k, x]) => (x === null || typeof x !== "object" || (Array.isArray(x) && isScalarArray(x))) && !notes[at ? `${at}.${k}` : k],
    )
  ) {
    const line =
      "{ " +
      entries
        .map(
          ([k, x]) =>
            `${IDENT.test(k) ? k : JSON.stringify(k)}: ${Array.isArray(x) ? "[" + x.map((y) => JSON.stringify(y)).join(", ") + "]" : JSON.stringify(x)}`,
        )
        .join(", ") +
      " }";
    if (line.length <= 96) {
      w.write(line);
      return;
    }
  }
  w.write("{").newLine();
  w.indent(() => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      const path = at ? `${at}.${k}` : k;
      const note = notes[path];
      if (note) for (const line of note.split("\n")) w.writeLine(`// ${line}`);
      w.write(`${IDENT.test(k) ? k : JSON.stringify(k)}: `);
      writeValue(w, x, path, notes);
      w.write(",").newLine();
    }
  });
  w.write("}");
}

/** One line per comment; spec text in comments cannot end the comment (line comments, newlines removed). */
const oneLine = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, " ");

/** The program as TypeScript (train.ts), or with `javascript` as the ES module that `llavac run` runs beside it
 *  (train.mjs): the same text without the two type annotations, so no TypeScript compiler is loaded to run it. */
export function trainProgram(
  cfg: PhaseRunConfig,
  model: ModelIR,
  extra: { header: string[]; notes?: Notes; specPath?: string; javascript?: boolean },
): string {
  const w = new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: false });
  for (const line of extra.header) w.writeLine(`// ${oneLine(line)}`);
  w.writeLine("// TensorFlow.js training program: it imports llavac's runtime and trains this phase on this machine.");
  w.writeLine(`// Run it with: npx llavac run ${oneLine(extra.specPath ?? cfg.spec)} --phase ${cfg.phase}`);
  w.blankLine();
  w.writeLine(extra.javascript ? `import { main } from "llavac/runtime";` : `import { main, type PhaseRunConfig } from "llavac/runtime";`);
  w.blankLine();
  const v = model.vision,
    t = model.language;
  const graph = [
    `The model graph of \`${oneLine(model.$name ?? "model")}\`:`,
    `  image_model            ${oneLine(v.$name ?? "vit")}: ViT, ${v.num_hidden_layers} × ${v.hidden_size}, ${v.num_heads} heads, ${cfg.model.arch.vision.image_size.join("×")} px / ${cfg.model.arch.vision.patch_size.join("×")} patches, select_layer ${v.select_layer} (${v.select})`,
    `  projector_image_model  ${oneLine(model.projector.$name ?? model.projector.$schema)}: ${cfg.model.projector_activations.map((a) => `linear${a ? ` → ${a}` : ""}`).join(" → ")}`,
    `  text_model             ${oneLine(t.$name ?? "llama")}: LLaMA, ${t.num_hidden_layers} × ${t.hidden_size}, ${t.num_heads} heads${t.num_key_value_heads !== undefined && t.num_key_value_heads !== t.num_heads ? ` (${t.num_key_value_heads} key/value)` : ""}, vocab ${t.vocab_size}, MSL ${t.max_position_embeddings}`,
    `  image features replace ${cfg.model.num_patches} slots from position ${cfg.model.image_start_idx}`,
  ];
  const notes: Notes = {
    ...(extra.notes ?? {}),
    model: [extra.notes?.model, ...graph].filter((x) => x !== undefined).join("\n"),
    "optimizer.learning_rate": extra.notes?.["optimizer.learning_rate"] ?? "As params.yaml states it (Cerebras scheduler list).",
    max_steps: extra.notes?.max_steps ?? "runconfig.max_steps of params.yaml.",
    ...(cfg.eval
      ? { eval: "The held-out split (eval.data): its mean loss every `every` steps and at the end, without updating the weights." }
      : {}),
  };
  w.write(extra.javascript ? "const config = " : "const config: PhaseRunConfig = ");
  writeValue(w, cfg as unknown as Json, "", notes);
  w.write(";").newLine();
  w.blankLine();
  w.writeLine("await main(config, import.meta.url);");
  const text = w.toString();
  return text.endsWith("\n") ? text : text + "\n";
}
