"""Matrix products of the clustering code, on CPU through NumPy's BLAS.

k-means on visual tokens is dominated by two kinds of products: Gram matrices
(``[N, D] x [D, N]``) and skinny ones (``[N, D] x [D, K]`` with ``K`` of 4-32). On the
AMD EPYC (Zen 3) machines of this project, PyTorch's CPU wheel (MKL) runs them 2-4x
slower than the OpenBLAS build that NumPy ships (single thread, N=256, D=2048:
Gram 3.8 ms vs 1.8 ms, K=8 0.34-0.65 ms vs 0.16 ms). CPU float32/float64 products
therefore go through :func:`numpy.matmul` on zero-copy views; everything else (other
devices, other dtypes) through :func:`torch.matmul`. Results agree to float rounding.

:func:`blas_threads` caps OpenBLAS at PyTorch's intra-op thread count for the duration
of a call, so ``torch.set_num_threads`` keeps meaning what a user expects.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["baddbmm", "blas_threads", "matmul"]

_NUMPY_DTYPES = (torch.float32, torch.float64)


def _via_numpy(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (
        a.device.type == "cpu"
        and b.device.type == "cpu"
        and a.dtype in _NUMPY_DTYPES
        and b.dtype == a.dtype
    )


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` (batched like :func:`torch.matmul`), by NumPy's BLAS on CPU floats.

    >>> a = torch.arange(6.0).view(1, 2, 3)
    >>> torch.equal(matmul(a, a.transpose(1, 2)), a @ a.transpose(1, 2))
    True
    """
    if _via_numpy(a, b):
        return torch.from_numpy(np.matmul(a.detach().numpy(), b.detach().numpy()))
    return torch.matmul(a, b)


def baddbmm(bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    """``bias + alpha * (a @ b)`` as a new tensor (``bias`` broadcasts)."""
    if _via_numpy(a, b):
        return matmul(a, b).mul_(alpha).add_(bias)
    return torch.baddbmm(bias.expand(*a.shape[:-1], b.shape[-1]), a, b, alpha=alpha)


@functools.cache
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads(n: int | None = None) -> Iterator[None]:
    """Within the block, NumPy's BLAS uses at most ``n`` threads (default:
    ``torch.get_num_threads()``)."""
    ctl = _controller()
    if ctl is None:
        yield
        return
    with ctl.limit(limits=n or torch.get_num_threads(), user_api="blas"):
        yield
