"""The tiny example's own vocabulary: a sentencepiece BPE model fitted to the text it trains on, as a user
would for a small model (LLaMA-2's 32,000 pieces would be 97% of its parameters and most of its step time).

    node bin/llavac.js data synth shapes --out /tmp/tiny-corpus
    /usr/bin/python3 tools/tiny-tokenizer/train_tokenizer.py /tmp/tiny-corpus examples/tiny-shapes/tokenizer

The text: every caption, caption prompt, question and answer that `llavac data synth shapes` writes (its
defaults, seed 0: captions/, questions/, heldout/), the `vicuna_v1` template's system prompt and role names
(read from stdlib/templates.llava, their one home), and the chat prompt "What colour is the shape?" (among
the questions). As LLaMA-2: BPE, identity normalisation, digits split, byte_fallback (so any text stays
encodable: all 256 <0xNN> pieces are in the vocabulary), <unk> 0, <s> 1, </s> 2. Deterministic: one thread,
no sampling or shuffling of the input (BPE training draws no random numbers). Writes tokenizer.model and a tokenizer_config.json that
makes the folder loadable by transformers' AutoTokenizer (what the Cerebras writer's
`huggingface_tokenizer` names) and pads with <unk> (0), as llavac pads with the embedded LLaMA-2 vocabulary.
Tested with Debian's python3-sentencepiece 0.1.97."""
import io
import json
import os
import re
import sys

import sentencepiece as spm

VOCAB = 512
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def template_text() -> list[str]:
    src = open(os.path.join(ROOT, "stdlib", "templates.llava"), encoding="utf-8").read()
    body = re.search(r"^template vicuna_v1 \{(.*?)^\}", src, re.S | re.M)
    if not body:
        sys.exit("stdlib/templates.llava has no `template vicuna_v1 { ... }`")
    fields = dict(re.findall(r'^\s*(system|user|assistant):\s*"((?:[^"\\]|\\.)*)"', body.group(1), re.M))
    if set(fields) != {"system", "user", "assistant"}:
        sys.exit(f"vicuna_v1: expected system, user and assistant, found {sorted(fields)}")
    return [json.loads(f'"{v}"') for v in (fields["system"], fields["user"], fields["assistant"])]


def corpus(data: str) -> list[str]:
    lines = []
    for split in ("captions", "questions", "heldout"):
        file = os.path.join(data, split, f"{split}.jsonl")
        with open(file, encoding="utf-8") as f:
            for line in f:
                for turn in json.loads(line)["conversations"]:
                    lines.append(turn["value"].replace("<image>", "").strip())
    if len(lines) < 1000:
        sys.exit(f"{data}: only {len(lines)} lines; give the folder `llavac data synth shapes --out` wrote")
    return lines + template_text()


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, out = sys.argv[1], sys.argv[2]
    text = corpus(data)
    os.makedirs(out, exist_ok=True)
    model = os.path.join(out, "tokenizer.model")
    # Trained into memory: the model file records the trainer's options, and a model_prefix would put the
    # output folder's name in it.
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_writer=proto,
        model_type="bpe",
        vocab_size=VOCAB,
        character_coverage=1.0,
        byte_fallback=True,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        # The corpus has fewer distinct merges than the vocabulary has room for: stop there (the rest of
        # the pieces are never produced) rather than fail.
        hard_vocab_limit=False,
        minloglevel=2,
    )
    with open(model, "wb") as f:
        f.write(proto.getvalue())
    sp = spm.SentencePieceProcessor(model_file=model)
    # Every line of the corpus round-trips and needs no byte piece; any other text falls back to bytes.
    for s in text:
        ids = sp.encode(s)
        assert sp.decode(ids) == s, s
        assert not any(sp.is_byte(i) or sp.is_unknown(i) for i in ids), s
    assert all(sp.is_byte(sp.piece_to_id(f"<0x{b:02X}>")) for b in range(256))
    assert sp.decode(sp.encode("Grün 緑 🟩")) == "Grün 緑 🟩"
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2)
    config = {
        "tokenizer_class": "LlamaTokenizer",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<unk>",
        "add_bos_token": True,
        "add_eos_token": False,
        "legacy": True,
        "clean_up_tokenization_spaces": False,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    print(f"{model}: {sp.get_piece_size()} pieces, from {len(text)} lines")


if __name__ == "__main__":
    main()
