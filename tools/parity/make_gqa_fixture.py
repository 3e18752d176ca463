"""Write the grouped-query-attention parity fixtures: small random-weight LLaVAs in HuggingFace's llava-hf
layout whose text models have fewer key/value heads than query heads, with the logits, loss and greedy
generations HuggingFace's own LlavaForConditionalGeneration (eager attention, float32) computes.

    python tools/parity/make_gqa_fixture.py test/fixtures/parity-gqa

Needs torch, transformers (>= 5, `rope_parameters`) and safetensors. test/parity-gqa.test.ts reads only the
files written here. One folder per case:
  mistral   MistralConfig: 2 key/value heads of 4, rope_theta 1e6, a sliding window of 16 (shorter than the
            40-position inputs, so it changes the logits)
  llama31   LlamaConfig: multi-query (1 key/value head of 4), rope_theta 500,000 and Llama-3.1's `llama3` rope
            scaling with original_max_position_embeddings 48 (the head's frequencies fall in all three bands)
  qwen2     Qwen2Config: 2 key/value heads of 4, biases on q/k/v (not on o_proj), rope_theta 1e6
Files of each: model.safetensors, inputs.safetensors, expected.json, generate.json (as tools/parity/make_fixture.py).
"""
import json
import sys
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file
from transformers import (CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, MistralConfig,
                          Qwen2Config)

root = Path(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/parity-gqa")

VOCAB = 256            # tokens 0..254 are text, 255 is the image token
IMAGE_TOKEN = 255
IMAGE, PATCH = 32, 8   # 16 patches
PATCHES = (IMAGE // PATCH) ** 2
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=64, rms_norm_eps=1e-5, hidden_act="silu", tie_word_embeddings=False,
              pad_token_id=0, bos_token_id=1, eos_token_id=2)
CASES = {
    "mistral": MistralConfig(**COMMON, num_key_value_heads=2, rope_theta=1e6, sliding_window=16),
    "llama31": LlamaConfig(**COMMON, num_key_value_heads=1, attention_bias=False, mlp_bias=False,
                           rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                            "high_freq_factor": 4.0, "original_max_position_embeddings": 48}),
    "qwen2": Qwen2Config(**COMMON, num_key_value_heads=2, rope_theta=1e6, use_sliding_window=False),
}


def make(name: str, text, seed: int) -> None:
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                              image_size=IMAGE, patch_size=PATCH, num_channels=3, hidden_act="quick_gelu",
                              layer_norm_eps=1e-5, projection_dim=32)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_TOKEN,
                         image_seq_length=PATCHES, projector_hidden_act="gelu",
                         vision_feature_select_strategy="default", vision_feature_layer=-2,
                         multimodal_projector_bias=True, tie_word_embeddings=False)
    config._attn_implementation = "eager"
    model = LlavaForConditionalGeneration(config).eval().float()
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(torch.randn_like(p) * (0.05 if p.dim() == 1 else 0.02))
    model.save_pretrained(out, safe_serialization=True)
    for extra in ("config.json", "generation_config.json"):
        (out / extra).unlink(missing_ok=True)

    T, START = 40, 5
    ids = torch.zeros(2, T, dtype=torch.long)
    mask = torch.zeros(2, T, dtype=torch.long)
    for b, length in enumerate((40, 31)):
        ids[b, :length] = torch.randint(3, 255, (length,))
        ids[b, 0] = 1
        ids[b, START:START + PATCHES] = IMAGE_TOKEN
        mask[b, :length] = 1
    pixels = torch.randn(2, 3, IMAGE, IMAGE)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, pixel_values=pixels).logits.float()
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
    rope = dict(text.rope_parameters)
    (out / "expected.json").write_text(json.dumps({
        "generator": "tools/parity/make_gqa_fixture.py",
        "case": name,
        "class": type(model.model.language_model).__name__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "loss": loss,
        "hf_loss": hf_loss,
        "image_start_idx": START,
        "num_patches": PATCHES,
        "vision": {k: getattr(vision, k) for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                                                    "image_size", "patch_size", "num_channels", "hidden_act", "layer_norm_eps")}
                  | {"feature_layer": -2, "select_strategy": "default"},
        "text": {k: getattr(text, k) for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                                "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                                                "rms_norm_eps")}
                | {"rope": rope, "sliding_window": getattr(text, "sliding_window", None) if name == "mistral" else None,
                   "qkv_bias": name == "qwen2"},
        "tensors": sorted(n for n, _ in model.named_parameters()),
    }, indent=1, default=str) + "\n")

    NEW = 32
    generations = []
    for b, length in ((1, 31), (0, 24)):
        prompt = ids[b:b + 1, :length]
        runs = []
        for use_cache in (True, False):
            with torch.no_grad():
                g = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), pixel_values=pixels[b:b + 1],
                                   max_new_tokens=NEW, do_sample=False, use_cache=use_cache, output_scores=True,
                                   return_dict_in_generate=True, eos_token_id=text.eos_token_id, pad_token_id=text.pad_token_id)
            runs.append(g)
        new = runs[0].sequences[0, length:].tolist()
        assert new == runs[1].sequences[0, length:].tolist(), "HF's generate differs with and without its cache"
        top2 = [torch.topk(s[0].float(), 2).values for s in runs[0].scores]
        generations.append({"sequence": b, "prompt_length": length, "new_tokens": new,
                            "min_margin": float(min(float(t[0] - t[1]) for t in top2))})
    (out / "generate.json").write_text(json.dumps({
        "generator": "tools/parity/make_gqa_fixture.py",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "call": "LlavaForConditionalGeneration.generate(do_sample=False, max_new_tokens=32), eager attention",
        "eos_token_id": text.eos_token_id,
        "generations": generations,
    }, indent=1) + "\n")
    print(f"wrote {out}: {type(model.model.language_model).__name__}, loss {loss:.6f}; greedy {[g['new_tokens'][:6] for g in generations]} ...")


for i, (name, text) in enumerate(CASES.items()):
    make(name, text, 4321 + i)
