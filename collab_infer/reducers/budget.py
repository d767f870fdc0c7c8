"""Token budgets: how many tokens (or centroids) a reducer keeps."""

from __future__ import annotations

__all__ = ["budget_to_k", "check_k"]


def check_k(k: object, n_tokens: int, *, name: str = "k") -> int:
    """``k`` as an int in ``[1, n_tokens]``, else a ValueError/TypeError naming it.

    >>> check_k(8, 256)
    8
    """
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"{name} must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"{name} must be >= 1, got {k}")
    if k > n_tokens:
        raise ValueError(
            f"{name} must be <= the number of tokens N={n_tokens}, got {k}; "
            f"use k={n_tokens} (or the 'full' reducer) to keep everything"
        )
    return k


def budget_to_k(n_tokens: int, *, k: int | None = None, ratio: float | None = None) -> int:
    """The number of kept tokens from exactly one of ``k`` or ``ratio``.

    ``ratio`` in ``(0, 1]`` gives ``max(1, round(ratio * n_tokens))`` (Python's
    round-half-to-even); ``k`` must lie in ``[1, n_tokens]``.

    >>> budget_to_k(256, ratio=0.4), budget_to_k(256, ratio=0.001), budget_to_k(256, k=8)
    (102, 1, 8)
    """
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, int) or n_tokens < 1:
        raise ValueError(f"n_tokens must be an int >= 1, got {n_tokens!r}")
    if (k is None) == (ratio is None):
        raise ValueError("give exactly one of k (a token count) or ratio (a fraction of N)")
    if ratio is not None:
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
            raise TypeError(f"ratio must be a number, got {type(ratio).__name__}")
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must lie in (0, 1], got {ratio}")
        return max(1, round(ratio * n_tokens))
    return check_k(k, n_tokens)
