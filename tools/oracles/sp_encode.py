"""Encode strings with the sentencepiece library: argv[1] is a tokenizer.model, stdin a JSON list of strings."""
import json
import sys

import sentencepiece as spm

sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
print(json.dumps([sp.encode(s) for s in json.load(sys.stdin)]))
