// Writes test/fixtures/llava-repo/mm_projector*.bin and mm_projector.json: the parity fixture's projector
// handed to the LLaVA repository. llavac's writer makes mm_projector.bin; the real torch then loads it
// (torch.load, weights_only) into the repository's projector (mlp2x_gelu, with train.py's key stripping)
// and saves the same tensors itself, in float32 and bfloat16, for the reader's test. Run once, from the root:
//   TORCH_PYTHON=/tmp/venv-chat/bin/python npx tsx tools/oracles/mm-projector-fixture.ts
import { execFileSync } from "node:child_process";
import path from "node:path";
import { hfToCerebras } from "../../runtime/weights/names.js";
import { openSafetensors } from "../../runtime/weights/safetensors.js";
import type { PlainTensor } from "../../runtime/weights/torch-pickle.js";
import { writeTorchStateDict } from "../../runtime/weights/torch-pickle.js";
import { toMmProjector } from "../../runtime/weights/llava-repo.js";

const ROOT = path.join(import.meta.dirname, "..", "..");
const OUT = path.join(ROOT, "test/fixtures/llava-repo");
const f = openSafetensors(path.join(ROOT, "test/fixtures/parity/model.safetensors"));
const cerebras = new Map<string, PlainTensor>();
for (const n of f.names()) {
  const m = hfToCerebras(n);
  if (m.kind === "param" && m.cs.startsWith("projector_image_model."))
    cerebras.set(m.cs, { shape: f.info(n)!.shape, values: f.float32(n) });
}
writeTorchStateDict(path.join(OUT, "mm_projector.bin"), toMmProjector(cerebras));
execFileSync(process.env.TORCH_PYTHON ?? "python3", [path.join(ROOT, "tools/oracles/mm_projector_torch.py"), OUT], { stdio: "inherit" });
