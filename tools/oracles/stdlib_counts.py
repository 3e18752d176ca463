"""Parameter counts of the standard library's models as transformers computes them from the same configs.

    /path/to/venv/bin/python tools/oracles/stdlib_counts.py test/fixtures/counts/stdlib.json

Needs torch and transformers. Each model is built on the meta device (no memory, no weights) with
transformers' own class for its family, and its parameters counted; test/counts.test.ts holds llavac's
parameter tree of every std/ language model and vision tower to these numbers, and this file's configs to
the standard library's fields. Adding a model to std/: add its published config here and run it again.
"""
import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import (CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

# name in std/language → (family, the model's published config: HF keys).
LANGUAGE = {
    "vicuna_7b_v1_5": ("llama", dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                                     num_attention_heads=32, num_key_value_heads=32, tie_word_embeddings=False)),
    "vicuna_13b_v1_5": ("llama", dict(vocab_size=32000, hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                                      num_attention_heads=40, num_key_value_heads=40, tie_word_embeddings=False)),
    "llama_2_7b": ("llama", dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                                 num_attention_heads=32, num_key_value_heads=32, tie_word_embeddings=False)),
    "tiny_llama": ("llama", dict(vocab_size=32000, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=False)),
    "tiny_llama_256": ("llama", dict(vocab_size=32000, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                                     num_attention_heads=8, num_key_value_heads=8, tie_word_embeddings=False)),
    "tiny_gqa_llama": ("mistral", dict(vocab_size=32000, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                                       num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)),
    "llama3_8b_instruct": ("llama", dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                         num_attention_heads=32, num_key_value_heads=8, rope_theta=500000.0,
                                         max_position_embeddings=8192, tie_word_embeddings=False)),
    "llama3_1_8b_instruct": ("llama", dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                           num_attention_heads=32, num_key_value_heads=8, rope_theta=500000.0,
                                           max_position_embeddings=131072, tie_word_embeddings=False,
                                           rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})),
    "mistral_7b_instruct_v0_2": ("mistral", dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                                 num_attention_heads=32, num_key_value_heads=8, rope_theta=1000000.0,
                                                 max_position_embeddings=32768, sliding_window=None, tie_word_embeddings=False)),
    "qwen2_7b_instruct": ("qwen2", dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                                        num_attention_heads=28, num_key_value_heads=4, rope_theta=1000000.0,
                                        max_position_embeddings=32768, tie_word_embeddings=False)),
}
VISION = {
    "clip_vit_l14_336": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                             image_size=336, patch_size=14),
    "clip_vit_b16_224": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                             image_size=224, patch_size=16),
    "tiny_vit": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=8),
}
CLASSES = {"llama": (LlamaConfig, LlamaForCausalLM), "mistral": (MistralConfig, MistralForCausalLM),
           "qwen2": (Qwen2Config, Qwen2ForCausalLM)}


def count(model: torch.nn.Module) -> int:
    # Tied tensors are one parameter (named_parameters deduplicates them).
    return sum(p.numel() for _, p in model.named_parameters())


out = Path(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/counts/stdlib.json")
result = {"generator": "tools/oracles/stdlib_counts.py", "torch": torch.__version__, "transformers": transformers.__version__,
          "language": {}, "vision": {}}
with torch.device("meta"):
    for name, (family, cfg) in LANGUAGE.items():
        config_cls, model_cls = CLASSES[family]
        model = model_cls(config_cls(**cfg))
        result["language"][name] = {"class": model_cls.__name__, "config": cfg, "parameters": count(model)}
    for name, cfg in VISION.items():
        model = CLIPVisionModel(CLIPVisionConfig(**cfg))
        result["vision"][name] = {"class": "CLIPVisionModel", "config": cfg, "parameters": count(model)}
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(result, indent=1) + "\n")
for kind in ("language", "vision"):
    for name, r in result[kind].items():
        print(f"{name:28} {r['parameters']:>16,}")
