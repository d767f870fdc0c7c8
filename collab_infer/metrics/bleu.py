"""COCO-caption BLEU-1..4 (pycocoevalcap's ``Bleu`` scorer, re-implemented).

Corpus-level BLEU over pre-tokenised captions: clipped n-gram matches against the
maximum count over an image's references, summed over the corpus; the brevity
penalty uses the reference length *closest* to each hypothesis (ties: the shorter),
summed over the corpus. Like pycocoevalcap, a tiny (1e-15) / small (1e-9) constant
guards zero counts, so a corpus without a single matching n-gram scores ~0, not NaN.

Sufficient statistics per image (:func:`bleu_stats`) are additive, which is what
:mod:`collab_infer.metrics.bootstrap` resamples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = [
    "TOKENIZERS",
    "Tokenizer",
    "BLEU_STAT_COLUMNS",
    "bleu_stats",
    "bleu_from_stats",
    "corpus_bleu",
    "ngram_counts",
]

#: Caption tokenizers: pure-Python PTB (default) or the CoreNLP jar itself.
Tokenizer = Literal["ptb", "corenlp"]
TOKENIZERS = ("ptb", "corenlp")

_TINY = 1e-15
_SMALL = 1e-9

#: Column layout of :func:`bleu_stats`: hypothesis length, effective reference length,
#: guesses (n-grams in the hypothesis) for n = 1..4, clipped matches for n = 1..4.
BLEU_STAT_COLUMNS = (
    ("testlen", "reflen")
    + tuple(f"guess{n}" for n in range(1, 5))
    + tuple(f"correct{n}" for n in range(1, 5))
)


def ngram_counts(words: Sequence[str], n: int = 4) -> Counter:
    """Counts of all 1..n-grams of ``words`` (tuples as keys)."""
    counts: Counter = Counter()
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            counts[tuple(words[i : i + k])] += 1
    return counts


def _image_stats(hyp: str, refs: Sequence[str], n: int) -> list[float]:
    hyp_words = hyp.split()
    ref_lens = []
    max_ref: dict[tuple, int] = {}
    for ref in refs:
        words = ref.split()
        ref_lens.append(len(words))
        for ngram, c in ngram_counts(words, n).items():
            if c > max_ref.get(ngram, 0):
                max_ref[ngram] = c
    testlen = len(hyp_words)
    reflen = min((abs(rl - testlen), rl) for rl in ref_lens)[1]
    correct = [0] * n
    for ngram, c in ngram_counts(hyp_words, n).items():
        correct[len(ngram) - 1] += min(max_ref.get(ngram, 0), c)
    guess = [max(0, testlen - k + 1) for k in range(1, n + 1)]
    return [testlen, reflen, *guess, *correct]


def bleu_stats(hyps: Sequence[str], refs: Sequence[Sequence[str]], n: int = 4) -> np.ndarray:
    """Per-image BLEU sufficient statistics.

    :param hyps: one pre-tokenised (space-separated) hypothesis per image
    :param refs: for each image, at least one pre-tokenised reference
    :return: [images, 2 + 2n] float64, columns :data:`BLEU_STAT_COLUMNS` (for n=4)
    """
    _check_pairs(hyps, refs)
    return np.array(
        [_image_stats(h, r, n) for h, r in zip(hyps, refs, strict=True)], dtype=np.float64
    ).reshape(len(hyps), 2 + 2 * n)


def bleu_from_stats(stats: np.ndarray, n: int = 4) -> np.ndarray:
    """Corpus BLEU-1..n from summed statistics.

    :param stats: [..., 2 + 2n] statistics already summed over images
        (any leading batch shape, e.g. bootstrap replicates)
    :return: [..., n] BLEU-1..n in [0, 1]
    """
    stats = np.asarray(stats, dtype=np.float64)
    testlen, reflen = stats[..., 0], stats[..., 1]
    guess, correct = stats[..., 2 : 2 + n], stats[..., 2 + n : 2 + 2 * n]
    log_prec = np.log((correct + _TINY) / (guess + _SMALL))
    bleus = np.exp(np.cumsum(log_prec, axis=-1) / np.arange(1, n + 1))
    ratio = (testlen + _TINY) / (reflen + _SMALL)
    bp = np.where(ratio < 1, np.exp(1 - 1 / np.maximum(ratio, _TINY)), 1.0)
    return bleus * bp[..., None]


def corpus_bleu(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    tokenize: bool = True,
    tokenizer: Tokenizer = "ptb",
) -> dict[str, float]:
    """COCO-caption corpus BLEU-1..4 on a 0-1 scale.

    :param hyps: one caption per image
    :param refs: for each image, a list of at least one reference caption
    :param tokenize: apply :func:`collab_infer.metrics.tokenize.tokenize_caption` first
        (False: the strings are already tokenised and space-separated)
    :param tokenizer: ``"ptb"`` (pure Python) or ``"corenlp"`` (the jar; needs Java)
    :return: ``{"bleu1": ..., "bleu2": ..., "bleu3": ..., "bleu4": ...}``

    >>> round(corpus_bleu(["a red circle"], [["a red circle"]])["bleu1"], 6)
    1.0
    """
    if tokenize:
        hyps, refs = tokenize_corpus(hyps, refs, tokenizer=tokenizer)
    stats = bleu_stats(hyps, refs).sum(axis=0)
    values = bleu_from_stats(stats)
    return {f"bleu{i + 1}": float(v) for i, v in enumerate(values)}


def tokenize_corpus(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], *, tokenizer: Tokenizer = "ptb"
) -> tuple[list[str], list[list[str]]]:
    """Tokenise hypotheses and references as pycocoevalcap does: the references of all
    images as one file, the hypotheses as another (so the scanner sees the same next
    line as there).

    :param tokenizer: ``"ptb"``: :func:`collab_infer.metrics.tokenize.tokenize_file`
        (pure Python); ``"corenlp"``: :func:`collab_infer.metrics.corenlp.corenlp_tokenize`
        (runs the CoreNLP jar; needs Java)
    """
    _check_pairs(hyps, refs)
    if tokenizer == "ptb":
        from collab_infer.metrics.tokenize import tokenize_file as run
    elif tokenizer == "corenlp":
        from collab_infer.metrics.corenlp import corenlp_tokenize as run
    else:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")
    flat = run([r for rs in refs for r in rs])
    out_refs, start = [], 0
    for rs in refs:
        out_refs.append(flat[start : start + len(rs)])
        start += len(rs)
    return run(list(hyps)), out_refs


def _check_pairs(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> None:
    if isinstance(hyps, str):
        raise TypeError("hyps must be a list of captions, got a single str")
    if len(hyps) != len(refs):
        raise ValueError(f"hyps ({len(hyps)}) and refs ({len(refs)}) must have the same length")
    if len(hyps) == 0:
        raise ValueError("hyps must hold at least one caption")
    for i, (h, rs) in enumerate(zip(hyps, refs, strict=True)):
        if not isinstance(h, str):
            raise TypeError(f"hyps[{i}] must be a str, got {type(h).__name__}")
        if isinstance(rs, str) or len(rs) == 0:
            raise ValueError(f"refs[{i}] must be a non-empty list of reference captions")
