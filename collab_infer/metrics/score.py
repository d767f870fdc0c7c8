"""All caption metrics of one corpus at once, on one shared tokenisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from collab_infer.metrics.bleu import Tokenizer, bleu_from_stats
from collab_infer.metrics.bootstrap import ci_from_per_image, per_image_stats
from collab_infer.metrics.sacre import sacrebleu_bleu

__all__ = ["METRIC_NAMES", "score_all", "score_with_ci"]

#: Keys of :func:`score_all`'s result.
METRIC_NAMES = ("bleu1", "bleu2", "bleu3", "bleu4", "cider_d", "rouge_l", "sacrebleu")


def score_all(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], *, tokenizer: Tokenizer = "ptb"
) -> dict[str, float]:
    """COCO-caption BLEU-1..4, CIDEr-D, ROUGE-L (PTB tokens) and sacrebleu BLEU.

    :param hyps: one raw caption per image
    :param refs: for each image, a list of at least one raw reference caption
    :param tokenizer: ``"ptb"``: the pure-Python PTB tokenizer (equal to pycocoevalcap's
        on the tested corpus); ``"corenlp"``: pycocoevalcap's CoreNLP jar (needs Java)
    :return: dict with keys :data:`METRIC_NAMES`; BLEU / ROUGE-L / sacrebleu in [0, 1],
        CIDEr-D on pycocoevalcap's scale (x10, typically 0-10)
    """
    return _score(hyps, refs, tokenizer)[0]


def score_with_ci(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    tokenizer: Tokenizer = "ptb",
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """``(score_all(hyps, refs), bootstrap_ci(hyps, refs, ...))`` with the same numbers,
    tokenising and computing the per-image statistics once instead of twice."""
    scores, stats, per_image = _score(hyps, refs, tokenizer)
    return scores, ci_from_per_image(stats, per_image, n_boot=n_boot, alpha=alpha, seed=seed)


def _score(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], tokenizer: Tokenizer
) -> tuple[dict[str, float], np.ndarray, dict[str, np.ndarray]]:
    """Corpus scores, BLEU statistics and per-image CIDEr-D / ROUGE-L."""
    stats, per_image = per_image_stats(hyps, refs, tokenizer=tokenizer)
    bleus = bleu_from_stats(stats.sum(axis=0))
    out = {f"bleu{i + 1}": float(v) for i, v in enumerate(bleus)}
    out["cider_d"] = float(per_image["cider_d"].mean())
    out["rouge_l"] = float(per_image["rouge_l"].mean())
    out["sacrebleu"] = sacrebleu_bleu(hyps, refs)
    return out, stats, per_image
