"""All caption metrics of one corpus at once, on one shared tokenisation."""

from __future__ import annotations

from collections.abc import Sequence

from collab_infer.metrics.bleu import bleu_from_stats, bleu_stats, tokenize_corpus
from collab_infer.metrics.cider import cider_d_per_image
from collab_infer.metrics.rouge import rouge_l_per_image
from collab_infer.metrics.sacre import sacrebleu_bleu

__all__ = ["METRIC_NAMES", "score_all"]

#: Keys of :func:`score_all`'s result.
METRIC_NAMES = ("bleu1", "bleu2", "bleu3", "bleu4", "cider_d", "rouge_l", "sacrebleu")


def score_all(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> dict[str, float]:
    """COCO-caption BLEU-1..4, CIDEr-D, ROUGE-L (PTB-like tokens) and sacrebleu BLEU.

    :param hyps: one raw caption per image
    :param refs: for each image, a list of at least one raw reference caption
    :return: dict with keys :data:`METRIC_NAMES`; BLEU / ROUGE-L / sacrebleu in [0, 1],
        CIDEr-D on pycocoevalcap's scale (x10, typically 0-10)
    """
    thyps, trefs = tokenize_corpus(hyps, refs)
    bleus = bleu_from_stats(bleu_stats(thyps, trefs).sum(axis=0))
    out = {f"bleu{i + 1}": float(v) for i, v in enumerate(bleus)}
    out["cider_d"] = float(cider_d_per_image(thyps, trefs, tokenize=False).mean())
    out["rouge_l"] = float(rouge_l_per_image(thyps, trefs, tokenize=False).mean())
    out["sacrebleu"] = sacrebleu_bleu(hyps, refs)
    return out
