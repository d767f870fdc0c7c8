"""Corpus BLEU / CIDEr-D of the hazard corpus: pycocoevalcap's full pipeline (its
PTBTokenizer, i.e. the Java jar, then its scorers) against our scorers on our tokens.

    .venv/bin/python tests/metrics/measure_tokenizer_metrics.py [OLD_TOKENIZE_PY]

Prints, for each tokenizer, BLEU-4 and CIDEr-D and their differences from pycocoevalcap.
Images: the corpus captions (those without a character at which the jar ends a line,
which would misalign pycocoevalcap itself) in a seeded shuffle, five per image: one
hypothesis, four references. ``OLD_TOKENIZE_PY``: a file defining another
``tokenize_caption`` (e.g. the previous tokenizer) to measure as well.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import pathlib
import random
import sys

import numpy as np

from collab_infer.metrics import corpus_bleu, tokenize_caption
from collab_infer.metrics.bleu import tokenize_corpus
from collab_infer.metrics.cider import cider_d_per_image
from collab_infer.metrics.corenlp import CORENLP_LINE_BREAKS

HERE = pathlib.Path(__file__).resolve().parent


def main() -> None:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    data = json.loads(gzip.decompress((HERE / "data" / "ptb_corpus.json.gz").read_bytes()))
    caps = [c for c in data["captions"] if not any(b in c for b in CORENLP_LINE_BREAKS)]
    random.Random(0).shuffle(caps)
    n = len(caps) // 5
    hyps = [caps[5 * i] for i in range(n)]
    refs = [caps[5 * i + 1 : 5 * i + 5] for i in range(n)]
    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": r} for r in rs] for i, rs in enumerate(refs)})
    res = tok.tokenize({i: [{"caption": h}] for i, h in enumerate(hyps)})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, cider_img = Cider().compute_score(gts, res)
    print(f"{n} images, {5 * n} captions")
    print(f"pycocoevalcap (jar): BLEU-4 {bleu[3]:.6f}  CIDEr-D {cider:.6f}")
    runs = {
        "tokenize_corpus (python, one file per call)": lambda: tokenize_corpus(hyps, refs),
        "tokenize_caption (python, each caption alone)": lambda: _each(tokenize_caption),
        "tokenize_corpus(tokenizer='corenlp')": lambda: tokenize_corpus(
            hyps, refs, tokenizer="corenlp"
        ),
    }
    if len(sys.argv) > 1:
        spec = importlib.util.spec_from_file_location("old_tokenize", sys.argv[1])
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        runs = {f"{sys.argv[1]}": lambda: _each(old.tokenize_caption), **runs}

    def _each(fn):
        return [fn(h) for h in hyps], [[fn(r) for r in rs] for rs in refs]

    for name, run in runs.items():
        th, tr = run()
        b4 = corpus_bleu(th, tr, tokenize=False)["bleu4"]
        per = cider_d_per_image(th, tr, tokenize=False)
        n_diff = sum(th[i] != res[i][0] or tr[i] != gts[i] for i in range(n))
        print(
            f"{name}: BLEU-4 {b4:.6f} (diff {b4 - bleu[3]:+.2e})  CIDEr-D {per.mean():.6f} "
            f"(diff {per.mean() - cider:+.2e}; per image max |diff| "
            f"{np.abs(per - np.asarray(cider_img)).max():.2e}); images with a token "
            f"difference: {n_diff}"
        )


if __name__ == "__main__":
    main()
