"""Deterministic selection of ``n`` samples from a dataset."""

from __future__ import annotations

from collections.abc import Sequence

from collab_infer.datasets.sample import Sample

__all__ = ["Subset", "select_indices"]


def select_indices(total: int, n: int | None, seed: int) -> list[int]:
    """``n`` distinct indices out of ``range(total)``, drawn with ``numpy.random.default_rng(seed)``
    and sorted (dataset order kept); all indices when ``n`` is None.

    >>> select_indices(10, 3, seed=0) == select_indices(10, 3, seed=0)
    True
    """
    import numpy as np

    if n is None:
        return list(range(total))
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer or None, got {n!r}")
    if n > total:
        raise ValueError(f"n={n} exceeds the {total} samples available")
    if n == total:
        return list(range(total))
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(total, size=n, replace=False))


class Subset(Sequence[Sample]):
    """The samples ``indices`` of ``dataset``, in that order (loaded lazily on access)."""

    def __init__(self, dataset: Sequence[Sample], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self.dataset[j] for j in self.indices[i]]
        return self.dataset[self.indices[i]]

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, n={len(self)})"
