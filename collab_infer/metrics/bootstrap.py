"""Bootstrap confidence intervals over images (seeded, vectorised).

Images are resampled with replacement ``n_boot`` times. Corpus BLEU is recomputed
from the resampled per-image sufficient statistics (it is not a mean of per-image
scores); CIDEr-D and ROUGE-L are means of per-image scores, CIDEr-D's idf taken from
the full corpus (not recomputed per replicate, a standard simplification). The
interval is the percentile interval ``[alpha/2, 1 - alpha/2]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from collab_infer.metrics.bleu import Tokenizer, bleu_from_stats, bleu_stats, tokenize_corpus
from collab_infer.metrics.cider import cider_d_per_image
from collab_infer.metrics.rouge import rouge_l_per_image

__all__ = ["bootstrap_ci", "ci_from_per_image", "paired_bootstrap_diff", "per_image_stats"]


def bootstrap_ci(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    tokenizer: Tokenizer = "ptb",
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of BLEU-1..4, CIDEr-D and ROUGE-L over images.

    :param hyps: one raw caption per image
    :param refs: for each image, at least one raw reference caption
    :param n_boot: number of bootstrap replicates (>= 10)
    :param alpha: 1 - confidence level, in (0, 1)
    :param seed: seed of the resampling generator (same seed: same intervals)
    :param tokenizer: ``"ptb"`` (pure Python) or ``"corenlp"`` (the jar; needs Java)
    :return: ``{"bleu1": (lo, hi), ..., "bleu4": ..., "cider_d": ..., "rouge_l": ...}``
    """
    _check_boot(n_boot, alpha)
    stats, per_image = per_image_stats(hyps, refs, tokenizer=tokenizer)
    return ci_from_per_image(stats, per_image, n_boot=n_boot, alpha=alpha, seed=seed)


def per_image_stats(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], *, tokenizer: Tokenizer = "ptb"
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Tokenise once; BLEU sufficient statistics [images, 10] and per-image CIDEr-D and
    ROUGE-L (``{"cider_d": [images], "rouge_l": [images]}``)."""
    thyps, trefs = tokenize_corpus(hyps, refs, tokenizer=tokenizer)
    return bleu_stats(thyps, trefs), {
        "cider_d": cider_d_per_image(thyps, trefs, tokenize=False),
        "rouge_l": rouge_l_per_image(thyps, trefs, tokenize=False),
    }


def ci_from_per_image(
    stats: np.ndarray,
    per_image: dict[str, np.ndarray],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """The intervals of :func:`bootstrap_ci` from per-image quantities computed once.

    :param stats: [images, 10] BLEU sufficient statistics (:func:`bleu_stats`)
    :param per_image: metric name -> [images] per-image scores (resampled as means)
    :return: ``{"bleu1": (lo, hi), ..., "bleu4": ..., **{name: (lo, hi)}}``
    """
    _check_boot(n_boot, alpha)
    n = stats.shape[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    # counts[b, i]: how often image i is drawn in replicate b
    flat = (idx + np.arange(n_boot)[:, None] * n).ravel()
    counts = np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    out: dict[str, tuple[float, float]] = {}
    bleus = bleu_from_stats(counts @ stats)  # [n_boot, 4]
    for k in range(bleus.shape[1]):
        lo, hi = np.percentile(bleus[:, k], q)
        out[f"bleu{k + 1}"] = (float(lo), float(hi))
    for name, scores in per_image.items():
        lo, hi = np.percentile(counts @ scores / n, q)
        out[name] = (float(lo), float(hi))
    return out


def _check_boot(n_boot: int, alpha: float) -> None:
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")


def paired_bootstrap_diff(
    hyps_a: Sequence[str],
    hyps_b: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    metric: str = "bleu4",
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    tokenizer: Tokenizer = "ptb",
) -> tuple[float, float, float]:
    """``metric(a) - metric(b)`` on the same images, with a paired percentile bootstrap
    interval (both systems scored on the same resampled images in each replicate).

    :param metric: ``"bleu1"`` .. ``"bleu4"``, ``"cider_d"`` or ``"rouge_l"``
    :return: ``(difference, lo, hi)``
    """
    if len(hyps_a) != len(hyps_b):
        raise ValueError(f"hyps_a ({len(hyps_a)}) and hyps_b ({len(hyps_b)}) must pair up")
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    ta, trefs = tokenize_corpus(hyps_a, refs, tokenizer=tokenizer)
    tb, _ = tokenize_corpus(hyps_b, refs, tokenizer=tokenizer)
    n = len(ta)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    flat = (idx + np.arange(n_boot)[:, None] * n).ravel()
    counts = np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)
    ones = np.ones(n)
    if metric.startswith("bleu") and metric[4:] in ("1", "2", "3", "4"):
        k = int(metric[4:]) - 1
        sa, sb = bleu_stats(ta, trefs), bleu_stats(tb, trefs)
        point = bleu_from_stats(ones @ sa)[k] - bleu_from_stats(ones @ sb)[k]
        diffs = bleu_from_stats(counts @ sa)[:, k] - bleu_from_stats(counts @ sb)[:, k]
    elif metric in ("cider_d", "rouge_l"):
        fn = cider_d_per_image if metric == "cider_d" else rouge_l_per_image
        pa, pb = fn(ta, trefs, tokenize=False), fn(tb, trefs, tokenize=False)
        point = float((pa - pb).mean())
        diffs = counts @ (pa - pb) / n
    else:
        raise ValueError(f"metric must be bleu1..bleu4, cider_d or rouge_l, got {metric!r}")
    lo, hi = np.percentile(diffs, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(point), float(lo), float(hi)
