"""Write the SigLIP parity fixture: a small random-weight LLaVA whose vision tower is SigLIP (no CLS token,
no pre-layernorm, gelu_pytorch_tanh, biased patch embedding, the attention-pooling head present in the
weights but unused), in the llava-hf layout and names, with its logits and loss on fixed inputs computed by
HuggingFace's own LlavaForConditionalGeneration (eager attention, float32) in PyTorch.

    python tools/parity/make_siglip_fixture.py test/fixtures/parity-siglip

Needs torch, transformers (>= 4.52) and safetensors. test/parity-siglip.test.ts reads only the files written
here: model.safetensors (as save_pretrained writes it), inputs.safetensors (pixel_values, input_ids,
attention_mask, labels, loss_mask int32, logits) and expected.json (the configuration, the loss, versions).
The features LLaVA reads are every patch of the last encoder layer (`vision_feature_select_strategy="full"`,
`vision_feature_layer=-1`): there is no CLS token to drop, and the encoder's post_layernorm is not applied.
"""
import json
import sys
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file
from transformers import LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, SiglipVisionConfig

out = Path(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/parity-siglip")
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(4321)

VOCAB = 256            # tokens 0..254 are text, 255 is the image token
IMAGE_TOKEN = 255
IMAGE, PATCH = 32, 8   # 16 patches, all of them image features
PATCHES = (IMAGE // PATCH) ** 2
vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                            image_size=IMAGE, patch_size=PATCH, num_channels=3, hidden_act="gelu_pytorch_tanh",
                            layer_norm_eps=1e-6, vision_use_head=True)
text = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
                   rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=False,
                   attention_bias=False, mlp_bias=False, pad_token_id=0, bos_token_id=1, eos_token_id=2)
config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_TOKEN,
                     image_seq_length=PATCHES, projector_hidden_act="gelu",
                     vision_feature_select_strategy="full", vision_feature_layer=-1,
                     multimodal_projector_bias=True, tie_word_embeddings=False)
config._attn_implementation = "eager"
model = LlavaForConditionalGeneration(config).eval().float()
# Random init leaves norms at 1 and biases at 0; perturb everything so the test sees every tensor.
with torch.no_grad():
    for name, p in model.named_parameters():
        p.add_(torch.randn_like(p) * (0.05 if p.dim() == 1 else 0.02))
model.save_pretrained(out, safe_serialization=True)
for extra in ("config.json", "generation_config.json"):
    (out / extra).unlink(missing_ok=True)

# Two sequences of 40 positions: BOS, text, 16 image slots from position 5, text, right padding.
T, START = 40, 5
ids = torch.zeros(2, T, dtype=torch.long)
mask = torch.zeros(2, T, dtype=torch.long)
for b, length in enumerate((40, 29)):
    ids[b, :length] = torch.randint(3, 255, (length,))
    ids[b, 0] = 1
    ids[b, START:START + PATCHES] = IMAGE_TOKEN
    mask[b, :length] = 1
pixels = torch.randn(2, 3, IMAGE, IMAGE)

with torch.no_grad():
    logits = model(input_ids=ids, attention_mask=mask, pixel_values=pixels).logits.float()
    # The image features LLaVA spliced in: every patch, no CLS to drop.
    feats = model.model.get_image_features(pixel_values=pixels, vision_feature_layer=-1,
                                           vision_feature_select_strategy="full")
    feats = feats.pooler_output if hasattr(feats, "pooler_output") else feats
    feats = torch.stack(list(feats)) if isinstance(feats, (list, tuple)) else feats
assert feats.shape[-2] == PATCHES, feats.shape

labels = torch.zeros_like(ids)
labels[:, :-1] = ids[:, 1:]
loss_mask = torch.zeros_like(ids)
for b in range(2):
    end = int(mask[b].sum())
    loss_mask[b, START + PATCHES - 1:end - 1] = 1
ce = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), labels.reshape(-1), reduction="none").reshape(2, T)
loss = float((ce * loss_mask).sum() / loss_mask.sum())
hf_labels = torch.full_like(ids, -100)
hf_labels[:, 1:] = torch.where(loss_mask[:, :-1].bool(), ids[:, 1:], torch.full_like(ids[:, 1:], -100))
with torch.no_grad():
    hf_loss = float(model(input_ids=ids, attention_mask=mask, pixel_values=pixels, labels=hf_labels).loss)
assert abs(hf_loss - loss) < 1e-5, (hf_loss, loss)

llavac_ids = ids.clone()
llavac_ids[ids == IMAGE_TOKEN] = 0
save_file({
    "pixel_values": pixels.contiguous(),
    "input_ids": llavac_ids.to(torch.int32).contiguous(),
    "attention_mask": mask.to(torch.int32).contiguous(),
    "labels": labels.to(torch.int32).contiguous(),
    "loss_mask": loss_mask.to(torch.int32).contiguous(),
    "logits": logits.contiguous(),
}, str(out / "inputs.safetensors"))

names = sorted(n for n, _ in model.named_parameters())
(out / "expected.json").write_text(json.dumps({
    "generator": "tools/parity/make_siglip_fixture.py",
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "loss": loss,
    "hf_loss": hf_loss,
    "image_start_idx": START,
    "num_patches": PATCHES,
    "vision": {k: getattr(vision, k) for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                                                "image_size", "patch_size", "num_channels", "hidden_act", "layer_norm_eps",
                                                "vision_use_head")}
              | {"feature_layer": -1, "select_strategy": "full"},
    "text": {k: getattr(text, k) for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                            "num_attention_heads", "max_position_embeddings", "rms_norm_eps")}
            | {"rope": getattr(text, "rope_parameters", None) or {"rope_theta": getattr(text, "rope_theta", None)}},
    "head_tensors": [n for n in names if ".head." in n],
    "tensors": names,
}, indent=1, default=str) + "\n")
print(f"wrote {out}: loss {loss:.6f}, {len(names)} tensors")
