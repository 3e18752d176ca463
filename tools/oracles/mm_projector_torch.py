"""The real torch's side of test/fixtures/llava-repo/mm_projector*: run by tools/oracles/mm-projector-fixture.ts.

Loads llavac's mm_projector.bin with torch.load(weights_only=True), checks it against the parity fixture's
projector, loads it into the LLaVA repository's mlp2x_gelu projector the way its initialize_vision_modules
does (keys after "mm_projector.", strict load_state_dict), and saves the same tensors with torch.save in
float32 and bfloat16 (torch-f32.bin, torch-bf16.bin) for llavac's reader. Writes mm_projector.json.
"""

import hashlib
import json
import os
import sys

import torch
from safetensors.torch import load_file

out = sys.argv[1]
root = os.path.dirname(os.path.dirname(out.rstrip("/")))
parity = load_file(os.path.join(root, "fixtures", "parity", "model.safetensors"))
hf = {k: v for k, v in parity.items() if "multi_modal_projector" in k}
# LlavaForConditionalGeneration's linear_1/linear_2 are the repository's Sequential indices 0 and 2.
expected = {f"model.mm_projector.{(int(k.split('linear_')[1][0]) - 1) * 2}.{k.rsplit('.', 1)[1]}": v for k, v in hf.items()}

ours = torch.load(os.path.join(out, "mm_projector.bin"), map_location="cpu", weights_only=True)
assert sorted(ours) == sorted(expected), (sorted(ours), sorted(expected))
for k, v in expected.items():
    assert ours[k].dtype == torch.float32 and torch.equal(ours[k], v), k

# The repository's loading: get_w(weights, "mm_projector") into nn.Sequential(Linear, GELU, Linear).
w = expected["model.mm_projector.0.weight"]
projector = torch.nn.Sequential(torch.nn.Linear(w.shape[1], w.shape[0]), torch.nn.GELU(), torch.nn.Linear(w.shape[0], w.shape[0]))
projector.load_state_dict({k.split("mm_projector.")[1]: v for k, v in ours.items() if "mm_projector" in k}, strict=True)

torch.save(dict(expected), os.path.join(out, "torch-f32.bin"))
torch.save({k: v.to(torch.bfloat16) for k, v in expected.items()}, os.path.join(out, "torch-bf16.bin"))


def digest(t):
    return hashlib.sha256(t.contiguous().to(torch.float32).numpy().tobytes()).hexdigest()


summary = {
    "torch": torch.__version__,
    "llavac_file_loads": True,
    "repository_projector_loads": True,
    "tensors": {k: {"shape": list(v.shape), "f32_sha256": digest(v), "bf16_sha256": digest(v.to(torch.bfloat16))} for k, v in sorted(expected.items())},
}
with open(os.path.join(out, "mm_projector.json"), "w") as f:
    json.dump(summary, f, indent=1)
    f.write("\n")
print(f"mm_projector.bin: torch.load and the repository's projector accept it ({len(expected)} tensors)")
