"""sacrebleu's corpus BLEU (its own 13a tokenisation, standard brevity penalty), as a
second, widely comparable BLEU beside the COCO-caption one.

Reported on a 0-1 scale (sacrebleu's score / 100) so that it shares axes with
:func:`collab_infer.metrics.corpus_bleu`. Images may have different numbers of
references (sacrebleu's ``None`` padding).
"""

from __future__ import annotations

from collections.abc import Sequence

from collab_infer.metrics.bleu import _check_pairs

__all__ = ["sacrebleu_bleu"]


def sacrebleu_bleu(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> float:
    """sacrebleu corpus BLEU (default settings: 13a tokeniser, exp smoothing) / 100.

    :param hyps: one raw (untokenised) caption per image
    :param refs: for each image, at least one raw reference caption
    :return: BLEU in [0, 1]
    """
    import sacrebleu

    _check_pairs(hyps, refs)
    n_streams = max(len(r) for r in refs)
    streams = [[rs[j] if j < len(rs) else None for rs in refs] for j in range(n_streams)]
    return float(sacrebleu.corpus_bleu(list(hyps), streams).score) / 100.0
