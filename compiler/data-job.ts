// From a spec's phase to the HDF5 job: inputs, template, tokenizer, MSL, num_patches and image root all
// come from the spec, so nothing is repeated on the command line.
import path from "node:path";
import type { Hdf5JobConfig } from "../runtime/data/hdf5-job.js";
import { ftfyNormalization } from "../runtime/text/ftfy.js";
import { tokenizerSourceOf } from "../runtime/text/tokenizer.js";
import type { CompileResult, PhaseResult } from "./compile.js";
import { templateOf, writerPadId, type Derived } from "./derive.js";
import { emitPreprocess } from "./emit/preprocess.js";
import { toPlain } from "./emit/yaml.js";

export class DataJobError extends Error {}

export function phaseFor(result: CompileResult, name: string | undefined): PhaseResult & { derived: Derived } {
  const names = result.phases.map((p) => p.unit.ir.$name);
  const p = name === undefined && result.phases.length === 1 ? result.phases[0] : result.phases.find((x) => x.unit.ir.$name === name);
  if (!p)
    throw new DataJobError(
      name === undefined
        ? `the spec has ${names.length} phases (${names.join(", ")}): choose one with --phase`
        : `no phase \`${name}\` (the spec has ${names.join(", ")})`,
    );
  if (!p.derived) throw new DataJobError(`phase ${p.unit.ir.$name} has errors; run \`llavac check\` first`);
  return p as PhaseResult & { derived: Derived };
}

/**
 * The phase as the writer of its held-out split sees it: the eval datasets through the phase's writer
 * settings, straight into `eval.hdf5` (read in order, so not shuffled).
 */
export function heldOutPhase(p: PhaseResult & { derived: Derived }): PhaseResult & { derived: Derived } {
  const ir = p.unit.ir;
  const ev = ir.eval;
  if (!ev?.data?.length || ev.hdf5 === undefined)
    throw new DataJobError(`phase ${ir.$name} has no held-out split: give it \`eval = eval_input { data: ..., hdf5: ... }\``);
  if (!ir.preprocess)
    throw new DataJobError(`phase ${ir.$name} has \`preprocess = none\`: its held-out HDF5 files in ${ev.hdf5} are made elsewhere`);
  const { input: _input, ...writer } = ir.preprocess;
  const preprocess = { ...writer, output: ev.hdf5, ...(ev.images !== undefined ? { images: ev.images } : {}) };
  return { ...p, unit: { ...p.unit, ir: { ...ir, data: ev.data, hdf5: ev.hdf5, images: ev.images ?? ir.images, preprocess } } };
}

export function hdf5JobConfig(
  result: CompileResult,
  phase: PhaseResult & { derived: Derived },
  opts: { workers: number; force: boolean; checkImages: boolean },
): Hdf5JobConfig {
  const ir = phase.unit.ir;
  const d = phase.derived;
  const resolve = (p: string) => path.resolve(result.ctx.cwd, p);
  const writer = ir.preprocess;
  if (!writer)
    throw new DataJobError(
      `phase ${ir.$name} has \`preprocess = none\`: give it an \`hdf5_writer { output: ... }\` to write its HDF5 files here`,
    );
  try {
    ftfyNormalization(writer.ftfy_normalizer);
  } catch (e) {
    throw new DataJobError(`phase ${ir.$name}: ${(e as Error).message}`);
  }
  const jsonl = ir.data.map((x) => x.jsonl);
  let inputs: string[];
  if (writer.input !== undefined) inputs = [writer.input];
  else if (jsonl.every((x): x is string => x !== undefined)) inputs = [...new Set(jsonl)];
  else throw new DataJobError(`phase ${ir.$name}: say where the jsonl files are, with \`jsonl\` on each dataset or \`preprocess.input\``);
  if (writer.output === undefined) throw new DataJobError(`phase ${ir.$name}: set \`preprocess.output\`, the folder the HDF5 files go to`);
  const tk = ir.model.language.tokenizer;
  const pre = toPlain(emitPreprocess(ir, d, writer).doc) as Record<string, Record<string, unknown>>;
  pre.setup = {
    ...pre.setup,
    input_dir: inputs.length === 1 ? inputs[0] : inputs,
    output_dir: writer.output,
    processes: Math.max(1, opts.workers),
  };
  // The config as the Cerebras writer records it in data_params.json: preprocess.yaml plus the defaults
  // its command line and set_defaults() add. processing.eos_id/pad_id are its overrides (none here); the
  // ids used are in post-process.
  pre.processing = {
    auth_token: null,
    chunk_len_to_split: 2000,
    remove_bos_in_chunks: false,
    split_text_to_tokenize: false,
    ...pre.processing,
    eos_id: null,
    pad_id: null,
  };
  pre.dataset = { min_sequence_len: 6, ...pre.dataset };
  return {
    inputs: inputs.map(resolve),
    out: resolve(writer.output),
    imageRoot: resolve(writer.images ?? ir.images),
    checkImages: opts.checkImages,
    template: templateOf(ir.template),
    tokenizer: tokenizerSourceOf(tk, resolve),
    padId: writerPadId(ir, d)!,
    msl: d.msl,
    numPatches: d.numPatches,
    filesPerRecord: writer.files_per_record,
    outputName: writer.output_name,
    overLength: writer.over_length,
    useFtfy: writer.use_ftfy,
    ftfyNormalizer: writer.ftfy_normalizer,
    workers: opts.workers,
    force: opts.force,
    params: { ...pre, llavac_tokenizer: tk?.json ?? tk?.model ?? "llama-2 (embedded)" },
    vocabSize: d.tokenizer!.vocabSize,
    eosId: d.tokenizer!.eos,
  };
}
