"""The sentencepiece library as an oracle. argv[1] is a tokenizer.model.
Default: stdin is a JSON list of strings, stdout their ids. With argv[2] == "pieces": stdout is every piece's
text by id (sentencepiece's own reading of the model file)."""
import json
import sys

import sentencepiece as spm

sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
if len(sys.argv) > 2 and sys.argv[2] == "pieces":
    print(json.dumps([sp.id_to_piece(i) for i in range(sp.get_piece_size())]))
else:
    print(json.dumps([sp.encode(s) for s in json.load(sys.stdin)]))
