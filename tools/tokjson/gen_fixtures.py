"""Builds the tokenizer.json test fixtures and the ids Hugging Face computes for them (run once; the output is
committed under test/fixtures/tokjson/). Needs `tokenizers`, `transformers` (for its sentencepiece converter
and apply_chat_template) and `sentencepiece`:

    python tools/tokjson/gen_fixtures.py [OUT_DIR]

What it writes:
  llama3/   a byte-level BPE trained here (Llama-3's pre-tokenizer regex, its special tokens, BOS added by the
            post-processor) with Llama-3-8B-Instruct's published chat template in tokenizer_config.json
  qwen2/    the same vocabulary as Qwen2 declares it (no BOS, <|im_end|> eos, <|endoftext|> pad) with
            Qwen2-7B-Instruct's chat template
  mistral/  a sentencepiece BPE (byte fallback) trained here, its tokenizer.model, and the tokenizer.json that
            transformers' LlamaConverter makes of it, with Mistral-7B-Instruct-v0.2's chat template
  strings.json.gz   >= 10,000 varied strings and the ids `tokenizers` gives for each fixture
  chat.json         per template, 2-turn conversations: apply_chat_template's ids and the assistant mask
"""
import gzip, json, os, random, sys, tempfile, unicodedata

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")  # Debian's sentencepiece_model_pb2 predates protobuf 4
import sentencepiece as spm
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaTokenizer, PreTrainedTokenizerFast

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "tokjson")
rng = random.Random(20261201)

LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
            "<|im_start|>", "<|im_end|>", "<|endoftext|>"]

# Published chat templates (tokenizer_config.json of each model on the Hub).
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
QWEN2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == "
    "'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are "
    "supported!') }}{% endif %}{% endfor %}"
)

# ---- varied text -------------------------------------------------------------------------------------------
WORDS = {
    "en": "the quick brown fox jumps over lazy dog image shows a cat sitting on table what is in this picture answer "
          "question describe detail color left right people car street building tree sky water photo chart".split(),
    "de": "Straße Größe über schön Mädchen Bäume fährt weiß Grüße Käse".split(),
    "fr": "élève où garçon déjà Noël français château œuvre naïve".split(),
    "ru": "привет мир кошка сидит на столе что изображено картинке".split(),
    "el": "καλημέρα κόσμε γάτα εικόνα".split(),
    "zh": "你好 世界 图片 里有 一只 猫 坐在 桌子 上 什么".split(),
    "ja": "こんにちは 世界 画像 猫 テーブル カタカナ ひらがな".split(),
    "ko": "안녕하세요 세계 고양이 사진 무엇".split(),
    "ar": "مرحبا بالعالم قطة صورة".split(),
    "he": "שלום עולם חתול תמונה".split(),
    "hi": "नमस्ते दुनिया बिल्ली तस्वीर".split(),
    "th": "สวัสดี ชาวโลก แมว รูปภาพ".split(),
    "vi": "xin chào thế giới con mèo hình ảnh".split(),
    "tr": "İstanbul ığdır şeker çiçek".split(),
}
EMOJI = ["😀", "🐱", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "🤖", "✨", "🧑🏿‍💻", "☕", "🫠"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u2003", "\u3000", "\t\t \n", "    "]
CODE = ["def f(x):\n    return x**2", "for (let i = 0; i < n; i++) { a[i] += 1; }", "if x != None and y >= 3:",
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }", "SELECT * FROM t WHERE id = 7;",
        "const re = /^a+b*$/u;", "x = {'k': [1, 2, 3]}", "fn main() -> Result<(), Box<dyn Error>> {}", "$ ls -la ~/.cache",
        "<div class=\"a\">&amp;</div>", "a_b-c.d/e\\f", "λx. x + 1", "`code` **bold** _it_"]
SPECIAL_TEXT = SPECIALS + ["<s>", "</s>", "<unk>", "[INST]", "[/INST]", "<image>", "<|eot_id", "<|im_start|>user\n"]
CONTRACTIONS = ["don't", "I'LL", "we've", "she'd", "it's", "THEY'RE", "I'm", "o'clock"]


def mojibake(s):
    b = s.encode("utf-8")
    for enc in ("latin-1", "cp1252"):
        try:
            return b.decode(enc)
        except UnicodeDecodeError:
            pass
    return b.decode("latin-1")


def random_codepoints(n):
    out = []
    while len(out) < n:
        c = rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0x2FFF), rng.randint(0x3000, 0xD7FF), rng.randint(0xE000, 0xFFFD), rng.randint(0x10000, 0x1FAFF)])
        if unicodedata.category(chr(c)) not in ("Cs",):
            out.append(chr(c))
    return "".join(out)


def word():
    lang = rng.choice(list(WORDS))
    w = rng.choice(WORDS[lang])
    return w.upper() if rng.random() < 0.05 else w.capitalize() if rng.random() < 0.15 else w


def piece():
    k = rng.random()
    if k < 0.45:
        return word()
    if k < 0.55:
        return rng.choice(EMOJI)
    if k < 0.65:
        return str(rng.randint(0, 10 ** rng.randint(1, 12))) + rng.choice(["", ".", ",5", "%", "th"])
    if k < 0.72:
        return rng.choice(CODE)
    if k < 0.78:
        return rng.choice(SPECIAL_TEXT)
    if k < 0.84:
        return mojibake(rng.choice(["café", "naïve", "Größe", "привет", "你好", "😀", "—“quoted”—"]))
    if k < 0.90:
        return rng.choice(CONTRACTIONS)
    if k < 0.95:
        return random_codepoints(rng.randint(1, 6))
    return rng.choice(["!", "?", "...", ",", ";", ":", "—", "«", "»", "(", ")", "\"", "'", "-", "•"])


def sentence():
    n = rng.randint(1, 14)
    parts = []
    for _ in range(n):
        parts.append(piece())
        parts.append(rng.choice(SPACES) if rng.random() < 0.2 else " " if rng.random() < 0.85 else "")
    s = "".join(parts)
    r = rng.random()
    if r < 0.05:
        s = rng.choice(SPACES) + s
    elif r < 0.1:
        s = s + rng.choice(SPACES)
    elif r < 0.12:
        s = rng.choice(SPACES) * rng.randint(1, 5)
    return s


corpus = [sentence() for _ in range(30000)]
# a natural-language tail so merges look like English and the chat prompts tokenise into words
corpus += ["A chat between a curious user and an artificial intelligence assistant.", "You are a helpful assistant.",
           "What is in the image? The image shows a cat sitting on a table.", "Describe the picture in detail."] * 200
# the strings under test: generated after training, from the same generator, plus fixed edge cases
strings = ["", " ", "\n", "  \n\n  ", "hello world", "Hello,   world!\n", "12345678901234567890", "<|eot_id|><|eot_id|>",
           "<s>text</s>", "👨‍👩‍👧‍👦👨‍👩‍👧‍👦", "\t\tindented\n\t\tcode", "a" * 300, "é" * 50, "ÃƒÂ©"]
while len(strings) < 10500:
    strings.append(sentence())

os.makedirs(OUT, exist_ok=True)

# ---- (a) byte-level BPE, Llama-3 style ---------------------------------------------------------------------
bpe = Tokenizer(models.BPE(byte_fallback=False, ignore_merges=True))
bpe.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
])
bpe.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, special_tokens=[], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                              show_progress=False)
bpe.train_from_iterator(corpus, trainer=trainer)
bpe.add_special_tokens(SPECIALS)
bos = bpe.token_to_id("<|begin_of_text|>")


def save_bpe(folder, post_bos, config):
    t = Tokenizer.from_str(bpe.to_str())
    if post_bos:
        t.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                                         special_tokens=[("<|begin_of_text|>", bos)])
    else:
        t.post_processor = processors.ByteLevel(trim_offsets=False)
    d = os.path.join(OUT, folder)
    os.makedirs(d, exist_ok=True)
    t.save(os.path.join(d, "tokenizer.json"))
    cfg = dict(config, tokenizer_class="PreTrainedTokenizerFast", model_max_length=8192, clean_up_tokenization_spaces=False,
               added_tokens_decoder={str(bpe.token_to_id(s)): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                                              "single_word": False, "special": True} for s in SPECIALS})
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
    return PreTrainedTokenizerFast.from_pretrained(d)


llama3 = save_bpe("llama3", True, {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": LLAMA3_TEMPLATE})
qwen2 = save_bpe("qwen2", False, {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "chat_template": QWEN2_TEMPLATE})

# ---- (b) sentencepiece BPE → tokenizer.json (Mistral / LLaMA-2 style) ---------------------------------------
md = os.path.join(OUT, "mistral")
os.makedirs(md, exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "corpus.txt")
    # rare characters (the random code points) are left to byte fallback rather than given pieces
    counts = {}
    for s in corpus:
        for ch in s:
            counts[ch] = counts.get(ch, 0) + 1
    with open(src, "w") as f:
        for s in corpus:
            s = "".join(ch for ch in s if counts[ch] >= 50)
            s = s.replace("\n", " ").replace("\r", " ")
            if s.strip():
                f.write(s + "\n")
    spm.SentencePieceTrainer.train(input=src, model_prefix=os.path.join(md, "tokenizer"), vocab_size=2000, model_type="bpe",
                                   byte_fallback=True, split_digits=True, allow_whitespace_only_pieces=True, normalization_rule_name="identity",
                                   remove_extra_whitespaces=False, add_dummy_prefix=True, character_coverage=0.9995, bos_id=1, eos_id=2,
                                   unk_id=0, pad_id=-1, max_sentence_length=100000, minloglevel=2)
os.remove(os.path.join(md, "tokenizer.vocab"))
# transformers' own sentencepiece → tokenizers conversion (LlamaTokenizer over a folder with only tokenizer.model);
# BOS is added by the post-processor, as LlamaTokenizerFast's update_post_processor writes it
conv = LlamaTokenizer.from_pretrained(md, legacy=True)
backend = conv.backend_tokenizer
backend.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
backend.save(os.path.join(md, "tokenizer.json"))
with open(os.path.join(md, "tokenizer_config.json"), "w") as f:
    json.dump({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
               "add_bos_token": True, "add_eos_token": False, "legacy": True, "clean_up_tokenization_spaces": False,
               "chat_template": MISTRAL_TEMPLATE}, f, indent=2)
mistral = PreTrainedTokenizerFast(tokenizer_file=os.path.join(md, "tokenizer.json"), bos_token="<s>", eos_token="</s>", unk_token="<unk>")
mistral.chat_template = MISTRAL_TEMPLATE

# ---- expected ids --------------------------------------------------------------------------------------------
raw = {"llama3": Tokenizer.from_file(os.path.join(OUT, "llama3", "tokenizer.json")),
       "qwen2": Tokenizer.from_file(os.path.join(OUT, "qwen2", "tokenizer.json")),
       "mistral": Tokenizer.from_file(os.path.join(md, "tokenizer.json"))}
out = {"strings": strings, "ids": {}, "with_special": {}}
for name in ("llama3", "mistral"):
    out["ids"][name] = [e.ids for e in raw[name].encode_batch(strings, add_special_tokens=False)]
    # the post-processor's rule (BOS for both), on a slice
    out["with_special"][name] = [e.ids for e in raw[name].encode_batch(strings[:200], add_special_tokens=True)]
with gzip.open(os.path.join(OUT, "strings.json.gz"), "wt", encoding="utf-8", compresslevel=9) as f:
    json.dump(out, f, ensure_ascii=False, separators=(",", ":"))

# ---- chat templates ------------------------------------------------------------------------------------------
CONVS = [
    [("user", "What is in the image?"), ("assistant", "A cat sitting on a table."), ("user", "What color is it?"), ("assistant", "It is orange, with white paws.")],
    [("user", "Describe the picture in detail.\nBe brief."), ("assistant", "Two people  walk down a street; 3 cars.\n\nThat's all."),
     ("user", "Écrivez en français 😀"), ("assistant", "Très bien: un chat.")],
]
SYSTEM = "You are a helpful assistant that describes images."
EOT = {"llama3": "<|eot_id|>", "chatml": "<|im_end|>", "mistral_instruct": "</s>"}
chat = {}
for tname, tok in (("llama3", llama3), ("chatml", qwen2), ("mistral_instruct", mistral)):
    cases = []
    for conv in CONVS:
        for system in ([None, SYSTEM] if tname != "mistral_instruct" else [None]):
            msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": r, "content": c} for r, c in conv]
            text = tok.apply_chat_template(msgs, tokenize=False)
            ids = tok.apply_chat_template(msgs, tokenize=True, return_dict=True)["input_ids"]
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            assert enc["input_ids"] == ids, (tname, text)
            # assistant spans: each answer (trimmed as the template trims) and the end-of-turn token right after it
            spans, pos = [], 0
            for r, c in conv:
                if r != "assistant":
                    continue
                body = c.strip() if tname == "llama3" else c
                start = text.index(body + EOT[tname], pos)
                end = start + len(body) + len(EOT[tname])
                spans.append((start, end))
                pos = end
            mask = [1 if any(a < e and b > s for s, e in spans) else 0 for a, b in enc["offset_mapping"]]
            cases.append({"system": system, "turns": [{"from": "human" if r == "user" else "gpt", "value": c} for r, c in conv],
                          "text": text, "ids": ids, "assistant_mask": mask})
    chat[tname] = cases
with open(os.path.join(OUT, "chat.json"), "w") as f:
    json.dump({"generator": "tools/tokjson/gen_fixtures.py", "transformers": __import__("transformers").__version__,
               "tokenizers": __import__("tokenizers").__version__, "templates": chat}, f, ensure_ascii=False, indent=1)
print("wrote", OUT, {k: len(v) for k, v in out["ids"].items()}, "strings")
