"""Payload factory shared by the codec tests (session-scoped so hypothesis can use it)."""

import pytest
import torch

from codec import FullPayload, SubsetPayload, VQPayload


def _make_payload(kind: str, n: int, d: int, k: int, seed: int, scale: float = 1.0):
    """A random payload: vq (K=k centroids, n indices), subset (k of n kept) or full (n)."""
    g = torch.Generator().manual_seed(seed)
    if kind == "vq":
        centroids = torch.randn(k, d, generator=g) * scale
        return VQPayload(centroids, torch.randint(0, k, (n,), generator=g))
    if kind == "subset":
        k = min(k, n)
        positions = torch.randperm(n, generator=g)[:k].sort().values
        return SubsetPayload(torch.randn(k, d, generator=g) * scale, positions, n)
    return FullPayload(torch.randn(n, d, generator=g) * scale)


@pytest.fixture(scope="session")
def make_payload():
    return _make_payload
