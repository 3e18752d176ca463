"""ftfy's fix_text over JSON lines: each stdin line is a JSON string, each stdout line the JSON of
ftfy.fix_text(it, normalization=NORM) (NORM: argv[1], default NFC; "none" for None). The first output
line is {"ftfy": version}. Used by test/ftfy.test.ts (live, with the interpreter oracle-python.ts picks),
bench/ftfy.mjs, and tools/oracles/ftfy-fixture.ts (once, with ftfy 6.1.1 on PYTHONPATH).
"""
import json
import sys

import ftfy

norm = sys.argv[1] if len(sys.argv) > 1 else "NFC"
norm = None if norm == "none" else norm
out = sys.stdout
out.write(json.dumps({"ftfy": ftfy.__version__}) + "\n")
for line in sys.stdin:
    out.write(json.dumps(ftfy.fix_text(json.loads(line), normalization=norm)) + "\n")
