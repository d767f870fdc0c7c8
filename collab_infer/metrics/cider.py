"""CIDEr-D (pycocoevalcap's ``Cider`` scorer, re-implemented).

For n = 1..4: TF-IDF vectors of the n-grams of each caption, with document
frequencies counted over the *references* of the evaluated corpus
(idf = log(#images) - log(max(1, df))); the similarity of hypothesis and reference
is the cosine with the hypothesis weights *clipped* to the reference weights, times a
Gaussian length penalty exp(-delta^2 / (2 sigma^2)), sigma = 6. Average over n and
over references, times 10. As in pycocoevalcap, ``delta`` is the difference of the
two captions' *bigram* counts (its ``length`` counter is incremented on n == 2),
which equals the word-length difference except for captions of 0 or 1 words.

Because idf is computed from the evaluated corpus, the per-image scores depend on the
whole corpus: the bootstrap (:mod:`collab_infer.metrics.bootstrap`) resamples the
per-image scores computed once on the full set.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from collab_infer.metrics.bleu import Tokenizer, _check_pairs, ngram_counts, tokenize_corpus

__all__ = ["cider_d", "cider_d_per_image"]


def _vec(counts, ref_len: float, df: dict, n: int):
    vec: list[dict] = [{} for _ in range(n)]
    norm = [0.0] * n
    length = 0
    for ngram, tf in counts.items():
        k = len(ngram) - 1
        w = float(tf) * (ref_len - math.log(max(1.0, df.get(ngram, 0.0))))
        vec[k][ngram] = w
        norm[k] += w * w
        if k == 1:
            length += tf
    return vec, [math.sqrt(x) for x in norm], length


def cider_d_per_image(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    n: int = 4,
    sigma: float = 6.0,
    tokenize: bool = True,
    tokenizer: Tokenizer = "ptb",
) -> np.ndarray:
    """Per-image CIDEr-D scores (their mean is :func:`cider_d`).

    :param hyps: one caption per image
    :param refs: for each image, at least one reference caption
    :param tokenize: apply the PTB tokenizer first (False: pre-tokenised input)
    :param tokenizer: ``"ptb"`` (pure Python) or ``"corenlp"`` (the jar; needs Java)
    :return: [images] float64
    """
    if tokenize:
        hyps, refs = tokenize_corpus(hyps, refs, tokenizer=tokenizer)
    _check_pairs(hyps, refs)
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    crefs = [[ngram_counts(r.split(), n) for r in rs] for rs in refs]
    ctest = [ngram_counts(h.split(), n) for h in hyps]
    df: dict = defaultdict(float)
    for rs in crefs:
        for ngram in {g for r in rs for g in r}:
            df[ngram] += 1
    ref_len = math.log(float(len(crefs)))
    penalty_scale = 2 * sigma**2
    scores = np.zeros(len(hyps))
    for i, (test, rs) in enumerate(zip(ctest, crefs, strict=True)):
        vec, norm, length = _vec(test, ref_len, df, n)
        score = np.zeros(n)
        for ref in rs:
            vref, nref, lref = _vec(ref, ref_len, df, n)
            delta = float(length - lref)
            penalty = math.exp(-(delta**2) / penalty_scale)
            for k in range(n):
                val = sum(
                    min(w, vref[k].get(g, 0.0)) * vref[k].get(g, 0.0) for g, w in vec[k].items()
                )
                if norm[k] != 0 and nref[k] != 0:
                    val /= norm[k] * nref[k]
                score[k] += val * penalty
        scores[i] = float(np.mean(score)) / len(rs) * 10.0
    return scores


def cider_d(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    n: int = 4,
    sigma: float = 6.0,
    tokenize: bool = True,
    tokenizer: Tokenizer = "ptb",
) -> float:
    """Corpus CIDEr-D (mean of the per-image scores; pycocoevalcap's scale, x10).

    >>> cider_d(["a red circle", "a blue square"], [["a red circle"], ["a blue square"]]) > 0
    True
    """
    per = cider_d_per_image(hyps, refs, n=n, sigma=sigma, tokenize=tokenize, tokenizer=tokenizer)
    return float(per.mean())
