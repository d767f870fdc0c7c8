"""ROUGE-L (pycocoevalcap's ``Rouge`` scorer, re-implemented).

Per image: the longest common subsequence (LCS) of hypothesis and each reference
gives precision LCS/|hyp| and recall LCS/|ref|; the maxima over references are
combined into an F-measure with beta = 1.2; the corpus score is the mean over images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from collab_infer.metrics.bleu import Tokenizer, _check_pairs, tokenize_corpus

__all__ = ["lcs_length", "rouge_l", "rouge_l_per_image"]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(|a||b|) DP)."""
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def _image_score(hyp: str, refs: Sequence[str], beta: float) -> float:
    cand = hyp.split(" ")
    precs, recs = [], []
    for ref in refs:
        toks = ref.split(" ")
        lcs = lcs_length(toks, cand)
        precs.append(lcs / len(cand))
        recs.append(lcs / len(toks))
    p, r = max(precs), max(recs)
    if p == 0 or r == 0:
        return 0.0
    return (1 + beta**2) * p * r / (r + beta**2 * p)


def rouge_l_per_image(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    beta: float = 1.2,
    tokenize: bool = True,
    tokenizer: Tokenizer = "ptb",
) -> np.ndarray:
    """Per-image ROUGE-L F-scores, [images] float64 in [0, 1]."""
    if tokenize:
        hyps, refs = tokenize_corpus(hyps, refs, tokenizer=tokenizer)
    _check_pairs(hyps, refs)
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    return np.array(
        [_image_score(h, rs, beta) for h, rs in zip(hyps, refs, strict=True)], dtype=np.float64
    )


def rouge_l(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    beta: float = 1.2,
    tokenize: bool = True,
    tokenizer: Tokenizer = "ptb",
) -> float:
    """Corpus ROUGE-L: the mean of :func:`rouge_l_per_image`.

    >>> rouge_l(["a red circle"], [["a red circle"]])
    1.0
    """
    return float(
        rouge_l_per_image(hyps, refs, beta=beta, tokenize=tokenize, tokenizer=tokenizer).mean()
    )
