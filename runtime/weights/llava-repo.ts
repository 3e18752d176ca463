// The weights hand-off with the LLaVA repository (`--target llava-repo`): its phase 1 saves the projector
// alone as `mm_projector.bin` (torch.save of {"model.mm_projector.0.weight": …}) and phase 2 loads it with
// `--pretrain_mm_mlp_adapter`. These convert between that file and llavac's Cerebras-named tensors (a
// checkpoint of `llavac run`, or any safetensors of Cerebras names) both ways. The repository's full-model
// outputs (phase 2: model*.safetensors in its own names) load with loadWeights like any HF checkpoint.
import { PROJECTOR_NAMES } from "../model/arch.js";
import { cerebrasToHf, hfToCerebras } from "./names.js";
import { openSafetensors } from "./safetensors.js";
import { readTorchStateDict, type PlainTensor, TorchFileError, writeTorchStateDict } from "./torch-pickle.js";

const PROJECTOR = PROJECTOR_NAMES.layer(0).split(".")[0]!;

/** The projector's Cerebras tensors under the names the repository's mm_projector.bin holds. */
export function toMmProjector(cerebras: ReadonlyMap<string, PlainTensor>): Map<string, PlainTensor> {
  const out = new Map<string, PlainTensor>();
  for (const [cs, t] of [...cerebras].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))) {
    if (!cs.startsWith(`${PROJECTOR}.`)) continue;
    const hf = cerebrasToHf(cs, "llava") ?? fail(`${cs}: no LLaVA name`);
    out.set(hf.hf, t);
  }
  if (out.size === 0) fail(`no ${PROJECTOR}.* tensors: nothing to hand to the repository`);
  return out;
}

/** mm_projector.bin's tensors under llavac's Cerebras names. */
export function fromMmProjector(llava: ReadonlyMap<string, PlainTensor>): Map<string, PlainTensor> {
  const out = new Map<string, PlainTensor>();
  for (const [name, t] of llava) {
    const m = hfToCerebras(name);
    if (m.kind !== "param" || !m.cs.startsWith(`${PROJECTOR}.`)) fail(`${name}: not an mm_projector tensor`);
    out.set(m.cs, t);
  }
  return out;
}

/** A llavac checkpoint (or Cerebras-named safetensors) → the repository's mm_projector.bin. */
export function checkpointToMmProjector(checkpoint: string, out: string): string[] {
  const f = openSafetensors(checkpoint);
  try {
    const tensors = new Map<string, PlainTensor>();
    for (const n of f.names()) if (n.startsWith(`${PROJECTOR}.`)) tensors.set(n, { shape: f.info(n)!.shape, values: f.float32(n) });
    const mm = toMmProjector(tensors);
    writeTorchStateDict(out, mm);
    return [...mm.keys()];
  } finally {
    f.close();
  }
}

/** The repository's mm_projector.bin (bytes) → Cerebras-named tensors. */
export function readMmProjector(bytes: Uint8Array): Map<string, PlainTensor> {
  return fromMmProjector(readTorchStateDict(bytes));
}

function fail(why: string): never {
  throw new TorchFileError(why);
}
