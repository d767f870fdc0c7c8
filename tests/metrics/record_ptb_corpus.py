"""Record pycocoevalcap's PTB tokenisation of the hazard corpus (needs Java; run once).

    .venv/bin/python tests/metrics/record_ptb_corpus.py

Writes ``tests/metrics/data/ptb_corpus.json.gz``: the captions of
:func:`ptb_corpus.generate_corpus` and, for each, what pycocoevalcap hands its scorers
(the CoreNLP 3.4.1 jar's ``-preserveLines -lowerCase`` tokens, its punctuation filter).

Each caption is isolated between two sentinel lines, so a caption holding a character the
jar ends a line at (``\\r``, U+2028, ...) cannot shift the others: its output lines are
joined with spaces. It then checks three things and prints them: (1) pycocoevalcap's own
``PTBTokenizer.tokenize`` on all captions without such a character at once agrees
(with them, pycocoevalcap itself misaligns captions and images); (2)
:func:`collab_infer.metrics.corenlp.corenlp_tokenize` agrees on every caption; (3) how
many captions the pure-Python tokenizer gets wrong.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ptb_corpus import generate_corpus  # noqa: E402

from collab_infer.metrics.corenlp import CORENLP_LINE_BREAKS, corenlp_jar, corenlp_tokenize  # noqa: E402
from collab_infer.metrics.tokenize import PUNCTUATIONS, tokenize_caption  # noqa: E402

SENTINEL = "qqsentinelqq"
OUT = HERE / "data" / "ptb_corpus.json.gz"


def _filter(line: str) -> str:
    return " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS)


def record_isolated(captions: list[str]) -> list[str]:
    jar = corenlp_jar()
    lines = [SENTINEL]
    for c in captions:
        lines += [c.replace("\n", " "), SENTINEL]
    path = HERE / "data" / "_ptb_input.txt"
    path.write_bytes("\n".join(lines).encode("utf-8"))
    cmd = ["java", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer"]
    cmd += ["-preserveLines", "-lowerCase", str(path)]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode("utf-8")
    path.unlink()
    groups: list[list[str]] = []
    for line in out.split("\n"):
        if line == SENTINEL:
            groups.append([])
        else:
            groups[-1].append(line)
    groups = groups[:-1]
    if len(groups) != len(captions):
        raise RuntimeError(f"{len(groups)} outputs for {len(captions)} captions")
    return [" ".join(_filter(x) for x in g if _filter(x)) for g in groups]


def main() -> None:
    captions = generate_corpus()
    ptb = record_isolated(captions)

    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    clean = [i for i, c in enumerate(captions) if not any(b in c for b in CORENLP_LINE_BREAKS)]
    full = PTBTokenizer().tokenize({i: [{"caption": captions[i]}] for i in clean})
    agree = sum(full[i][0] == ptb[i] for i in clean)
    print(f"pycocoevalcap PTBTokenizer (whole corpus in one file) agrees on {agree}/{len(clean)}")
    print(f"  captions without a line-break character ({len(captions) - len(clean)} hold one)")
    exact = corenlp_tokenize(captions)
    n_exact = sum(a == b for a, b in zip(exact, ptb, strict=True))
    print(f"corenlp_tokenize agrees on {n_exact}/{len(ptb)}")
    for c, a, b in zip(captions, exact, ptb, strict=True):
        if a != b:
            print(f"  {c!r}: {a!r} != {b!r}")
    ours = [tokenize_caption(c) for c in captions]
    n_ours = sum(a == b for a, b in zip(ours, ptb, strict=True))
    print(f"pure-Python tokenizer agrees on {n_ours}/{len(ptb)}")

    jar = corenlp_jar()
    payload = {
        "source": "pycocoevalcap PTBTokenizer: java -cp stanford-corenlp-3.4.1.jar "
        "edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase, then its "
        "PUNCTUATIONS filter; each caption isolated between sentinel lines",
        "jar_sha256": hashlib.sha256(jar.read_bytes()).hexdigest(),
        "captions": captions,
        "ptb": ptb,
    }
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    OUT.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(captions)} captions)")


if __name__ == "__main__":
    main()
