"""Parameter counts of the SigLIP vision towers of std/vision, as transformers computes them from the same
configuration (SiglipVisionModel built on the meta device: shapes only, no weights, no download).

    /path/to/venv/bin/python tools/oracles/siglip_counts.py test/fixtures/counts/siglip.json

Needs torch and transformers. test/siglip.test.ts reads only the JSON written here. Each entry gives the
tower's total with SigLIP's attention-pooling head (`head.*`, what the published checkpoints hold), the
head's own count, and every tensor's shape, so the test can compare llavac's tree (which has no head:
LLaVA reads the encoder's hidden states and never runs the head) name by name through the HF name table.
"""
import json
import re
import sys
from pathlib import Path

import torch
import transformers
from transformers import SiglipVisionConfig, SiglipVisionModel

# The stdlib instance name → the HF configuration it declares (google/siglip-so400m-patch14-384,
# google/siglip-base-patch16-224, and the tiny test tower).
TOWERS = {
    "siglip_so400m_patch14_384": dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                                      num_attention_heads=16, image_size=384, patch_size=14),
    "siglip_base_patch16_224": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                    num_attention_heads=12, image_size=224, patch_size=16),
    "tiny_siglip": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                        image_size=32, patch_size=8),
}

out = Path(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/counts/siglip.json")
out.parent.mkdir(parents=True, exist_ok=True)
towers = {}
for name, kw in TOWERS.items():
    config = SiglipVisionConfig(num_channels=3, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, **kw)
    with torch.device("meta"):
        model = SiglipVisionModel(config)
    shapes = {n: list(p.shape) for n, p in model.named_parameters()}
    total = sum(p.numel() for p in model.parameters())
    head = sum(p.numel() for n, p in model.named_parameters() if ".head." in f".{n}")
    towers[name] = {"config": kw, "num_patches": (kw["image_size"] // kw["patch_size"]) ** 2,
                    "total": total, "head": head, "without_head": total - head, "shapes": shapes}
    print(f"{name}: {total:,} parameters ({head:,} in the pooling head, {total - head:,} without it)")

text = json.dumps({
    "generator": "tools/oracles/siglip_counts.py",
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "towers": towers,
}, indent=1)
# One line per shape.
text = re.sub(r"\[\s+([0-9,\s]+?)\s+\]", lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text)
out.write_text(text + "\n")
