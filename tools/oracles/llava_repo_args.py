"""The LLaVA repository's own command line, as facts for `--target llava-repo` (test/llava-repo.test.ts).

Reads llava/train/train.py of a LLaVA checkout (a git directory: `llavac` never ships its code), runs its
argument dataclasses (ModelArguments, DataArguments, TrainingArguments, the last over transformers'
TrainingArguments) through transformers' HfArgumentParser, and writes

  test/fixtures/llava-repo/args.json     every flag the parser accepts: type, default, choices; the
                                         repository's scripts/v1_5/pretrain.sh and finetune.sh as the
                                         parser reads them; its scripts/zero*.json (as data)
  test/fixtures/llava-repo/parsed.json   for every example that builds for the target, each phase's
                                         train.sh arguments (LLAVAC_PRINT_ARGS=1) and the values the
                                         real parser makes of them

Only the three dataclass definitions are taken from train.py (by the `ast` module) and run; the rest of
the file imports the repository's model code, torch kernels and deepspeed, which parsing does not need.

The repository pins transformers 4.37.2; the local index has later releases. The flags llavac emits in
4.37.2's spelling that the parsing release names differently are in PINNED_RENAMES, and are renamed
before parsing (and recorded in args.json).

usage (from the repository root; regenerates both files):
  /tmp/venv-chat/bin/python tools/oracles/llava_repo_args.py --llava GIT_DIR
where GIT_DIR is a LLaVA clone's .git (or `llavac`'s fetched mirror of github:haotian-liu/LLaVA).
"""

import argparse
import ast
import dataclasses
import json
import os
import shlex
import subprocess
import sys
import tempfile
import typing

import transformers

# Flags llavac emits as transformers 4.37.2 spells them → the flag of the release parsing here, with what
# changed. The test holds llavac's emitted flags to these names.
PINNED_RENAMES = {
    "--evaluation_strategy": "--eval_strategy",
    "--warmup_ratio": "--warmup_steps",
}
PINNED_NOTES = {
    "--evaluation_strategy": "renamed eval_strategy in 4.41; the old name was removed in 4.46",
    "--warmup_ratio": "removed in 5.0: a float in [0, 1) given to --warmup_steps is the same ratio of the total steps",
}

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_PLACEHOLDER = "<out>"


def dataclasses_of(train_py: str):
    """ModelArguments, DataArguments and TrainingArguments, defined from their source alone."""
    tree = ast.parse(train_py)
    wanted = {"ModelArguments", "DataArguments", "TrainingArguments"}
    nodes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in wanted]
    if {n.name for n in nodes} != wanted:
        sys.exit(f"train.py defines {sorted(n.name for n in nodes)}, expected {sorted(wanted)}")
    module = ast.Module(body=nodes, type_ignores=[])
    scope = {
        "dataclass": dataclasses.dataclass,
        "field": dataclasses.field,
        "transformers": transformers,
        **{name: getattr(typing, name) for name in ("Optional", "Dict", "Sequence", "List")},
    }
    exec(compile(module, "llava/train/train.py (dataclasses)", "exec"), scope)
    return [scope[n] for n in ("ModelArguments", "DataArguments", "TrainingArguments")]


def describe(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "value"):  # enums (IntervalStrategy, SchedulerType, ...)
        return value.value
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    return repr(value)


def type_name(action) -> str:
    t = action.type
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        return "bool"
    if t is None:
        return "str"
    name = getattr(t, "__name__", repr(t))
    if name == "<lambda>" and action.choices is not None:
        return "choice"
    return {"string_to_bool": "bool"}.get(name, name)


def flag_table(parser):
    flags = {}
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        entry = {"dest": action.dest, "type": type_name(action), "default": describe(action.default)}
        if action.choices is not None:
            entry["choices"] = [describe(c) for c in action.choices]
        if action.nargs not in (None, "?"):
            entry["nargs"] = action.nargs
        for opt in action.option_strings:
            if opt.startswith("--"):
                flags[opt] = entry
    return dict(sorted(flags.items()))


def examples():
    out = []
    for folder, _, files in sorted(os.walk(os.path.join(ROOT, "examples"))):
        out += [os.path.relpath(os.path.join(folder, f), ROOT) for f in sorted(files) if f.endswith(".llava")]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llava", required=True, help="the LLaVA repository's git directory")
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "llava-repo"))
    a = ap.parse_args()
    git = ["git", f"--git-dir={a.llava}"]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    train_py = subprocess.run([*git, "show", "HEAD:llava/train/train.py"], check=True, capture_output=True, text=True).stdout
    parser = transformers.HfArgumentParser(dataclasses_of(train_py))
    table = flag_table(parser)
    for old, new in PINNED_RENAMES.items():
        if new not in table or old in table:
            sys.exit(f"{old} → {new}: not a rename in transformers {transformers.__version__}")
    os.makedirs(a.out, exist_ok=True)

    def show(path):
        return subprocess.run([*git, "show", f"HEAD:{path}"], check=True, capture_output=True, text=True).stdout

    def parse(argv):
        renamed = [PINNED_RENAMES.get(w, w) for w in argv]
        ns, rest = parser.parse_known_args(renamed)
        if rest:
            raise ValueError(f"the parser does not accept {rest}")
        return renamed, {w: describe(getattr(ns, table[w]["dest"])) for w in renamed if w.startswith("--")}

    reference = {}
    for phase, script in (("pretrain", "scripts/v1_5/pretrain.sh"), ("finetune", "scripts/v1_5/finetune.sh")):
        words = shlex.split(show(script).replace("\\\n", " "), comments=True)
        argv = words[words.index("llava/train/train_mem.py") + 1 :]
        reference[phase] = {"script": script, "launcher": words[: words.index("llava/train/train_mem.py")], "argv": argv, "parsed": parse(argv)[1]}
    zero = {f: json.loads(show(f"scripts/{f}")) for f in ("zero2.json", "zero3.json", "zero3_offload.json")}
    args_doc = {
        "source": {"llava": "haotian-liu/LLaVA", "commit": commit, "file": "llava/train/train.py"},
        "transformers": transformers.__version__,
        "pinned": "4.37.2",
        "renamed_since_pinned": {old: {"now": new, "note": PINNED_NOTES[old]} for old, new in PINNED_RENAMES.items()},
        "reference": reference,
        "zero": zero,
        "flags": table,
    }
    with open(os.path.join(a.out, "args.json"), "w") as f:
        json.dump(args_doc, f, indent=1, sort_keys=False)
        f.write("\n")

    parsed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in examples():
            outdir = os.path.join(tmp, spec.replace("/", "_"))
            r = subprocess.run(
                ["node", "bin/llavac.js", "build", spec, "--target", "llava-repo", "-o", outdir, "--format", "json"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env={**os.environ, "LLAVA_DATA": "."},
            )
            if r.returncode != 0:
                errors = sorted({d["code"] for d in json.loads(r.stdout)["diagnostics"] if d["severity"] == "error"})
                parsed[spec] = {"builds": False, "errors": errors}
                continue
            phases = {}
            for phase in sorted(os.listdir(outdir)):
                script = os.path.join(outdir, phase, "train.sh")
                if not os.path.isfile(script):
                    continue
                argv = subprocess.run(
                    ["bash", script], check=True, capture_output=True, text=True, env={**os.environ, "LLAVAC_PRINT_ARGS": "1"}
                ).stdout.splitlines()
                try:
                    values = parse(argv)[1]
                except ValueError as e:
                    sys.exit(f"{spec} {phase}: {e}")
                phases[phase] = {
                    "argv": [w.replace(outdir, OUT_PLACEHOLDER) for w in argv],
                    "parsed": {k: (v.replace(outdir, OUT_PLACEHOLDER) if isinstance(v, str) else v) for k, v in values.items()},
                }
            parsed[spec] = {"builds": True, "phases": phases}
    with open(os.path.join(a.out, "parsed.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "examples": parsed}, f, indent=1)
        f.write("\n")
    built = [s for s, v in parsed.items() if v["builds"]]
    print(f"{len(table)} flags; {len(built)} of {len(parsed)} examples build for llava-repo: {', '.join(built)}")


if __name__ == "__main__":
    main()
