// The model's variables, one per parameter of the architecture description, under its Cerebras name.
// Aliases (text_model.ln_f.weight for transformer_decoder.norm.weight; lm_head for tied embeddings)
// resolve to the same variable.
import * as tf from "../backend/tf.js";
import { llavaParameters, numel, type LlavaArch, type ParamSpec } from "./arch.js";
import type { ParamSource } from "./layers.js";

/** A stable 31-bit hash of a name, to give each parameter its own initialisation seed. */
function nameSeed(name: string, seed: number): number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return (h >>> 0) % 2147483647;
}

export interface InitOptions {
  seed: number;
  /** Standard deviation of normal initialisation, per component. */
  std: { image_model: number; text_model: number; projector_image_model: number };
}

/** How a fresh parameter starts: norm scales at one, norm shifts and biases at zero, the rest normal(0, std) (as Cerebras initialises). */
function initialValue(p: ParamSpec, o: InitOptions): tf.Tensor {
  switch (p.role) {
    case "norm_scale":
      return tf.ones(p.shape);
    case "norm_shift":
    case "bias":
      return tf.zeros(p.shape);
    case "weight":
    case "embedding":
      return tf.truncatedNormal(p.shape, 0, o.std[p.component], "float32", nameSeed(p.name, o.seed));
  }
}

let stores = 0;

export class ParamStore implements ParamSource {
  readonly specs: ParamSpec[];
  /** tfjs names variables globally; each store's names carry its own prefix ("3:text_model.…"). */
  private readonly prefix = `${++stores}:`;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly alias = new Map<string, string>();

  constructor(
    readonly arch: LlavaArch,
    init: InitOptions,
  ) {
    this.specs = llavaParameters(arch);
    for (const p of this.specs) {
      const value = tf.tidy(() => initialValue(p, init));
      this.vars.set(p.name, tf.variable(value, true, this.prefix + p.name));
      value.dispose();
      for (const a of p.aliases) this.alias.set(a, p.name);
    }
  }

  /** The canonical name of `name` (itself, or the parameter it is an alias of). */
  canonical(name: string): string | undefined {
    if (this.vars.has(name)) return name;
    return this.alias.get(name);
  }

  has(name: string): boolean {
    return this.canonical(name) !== undefined;
  }

  get(name: string): tf.Variable {
    const c = this.canonical(name);
    if (c === undefined) throw new Error(`the model has no parameter ${name}`);
    return this.vars.get(c)!;
  }

  /** The parameter a tfjs variable name (as variableGrads keys its gradients) belongs to. */
  parameterOf(variableName: string): string {
    return variableName.startsWith(this.prefix) ? variableName.slice(this.prefix.length) : variableName;
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  /** Replace a parameter's value (shapes must agree). */
  assign(name: string, value: tf.Tensor): void {
    const v = this.get(name);
    if (v.shape.join() !== value.shape.join()) throw new Error(`${name}: shape [${value.shape}] does not fit the model's [${v.shape}]`);
    v.assign(value);
  }

  count(names: Iterable<string> = this.vars.keys()): number {
    let n = 0;
    for (const k of names) n += numel(this.get(k).shape);
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
