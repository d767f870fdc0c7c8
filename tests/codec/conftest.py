"""Payload factory shared by the codec tests (session-scoped so hypothesis can use it)
and a memory cap for the receive-budget tests."""

import contextlib
import resource
import sys

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


def _vm_data_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmData in /proc/self/status")


@contextlib.contextmanager
def _memory_cap(extra_mib: float):
    """Cap this process's data segment (heap + private anonymous mappings, which is
    where numpy and torch allocate) at its current size plus ``extra_mib`` MiB, so that
    an over-allocation fails at once with MemoryError / RuntimeError instead of eating
    the machine's memory. Restored on exit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = _vm_data_bytes() + int(extra_mib * 2**20)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@pytest.fixture
def memory_cap():
    """``with memory_cap(mib): ...`` runs the block with at most ``mib`` MiB more memory
    (Linux only: skipped elsewhere)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_DATA accounting of mmap allocations is Linux-specific")
    return _memory_cap
