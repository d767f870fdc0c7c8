"""Squared Euclidean distances by the matmul expansion (no [B, N, M, D] temporaries)."""

from __future__ import annotations

import torch

from collab_infer.clustering.blas import baddbmm, matmul

__all__ = ["gram_matrix", "sq_distances"]


def sq_distances(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    x_sqnorm: torch.Tensor | None = None,
    y_sqnorm: torch.Tensor | None = None,
) -> torch.Tensor:
    """Batched squared distances ``||x_i - y_j||^2 = ||x_i||^2 - 2 x_i.y_j + ||y_j||^2``.

    One batched matmul per call: memory is ``O(B * N * M)``, never ``O(B * N * M * D)``.
    Tiny negative values from rounding are clamped to 0.

    :input x: [B, N, D], floating point
    :input y: [B, M, D], same dtype and device
    :input x_sqnorm: optional precomputed [B, N] squared norms of ``x``
    :input y_sqnorm: optional precomputed [B, M] squared norms of ``y``
    :output: [B, N, M], squared distances (>= 0)

    >>> x = torch.tensor([[[0.0, 0.0], [3.0, 4.0]]])
    >>> sq_distances(x, x)[0]
    tensor([[ 0., 25.],
            [25.,  0.]])
    """
    if x_sqnorm is None:
        x_sqnorm = x.pow(2).sum(-1)  # [B, N]
    if y_sqnorm is None:
        y_sqnorm = y.pow(2).sum(-1)  # [B, M]
    d = baddbmm(y_sqnorm.unsqueeze(1), x, y.transpose(1, 2), alpha=-2.0)  # [B, N, M]
    return d.add_(x_sqnorm.unsqueeze(2)).clamp_min_(0.0)


def gram_matrix(x: torch.Tensor) -> torch.Tensor:
    """Batched Gram matrix ``x x^T``, exactly symmetric.

    On CPU one product through NumPy's BLAS (which recognises ``A A^T`` and computes
    half of it). Elsewhere, with the rows split in halves ``[x1; x2]``, ``x1 x^T`` and
    ``x2 x2^T`` are computed and ``x2 x1^T`` is the transpose of a block already known:
    3/4 of the flops of one ``bmm``.

    :input x: [B, N, D], floating point
    :output: [B, N, N]

    >>> x = torch.arange(6.0).view(1, 3, 2)
    >>> torch.equal(gram_matrix(x), x @ x.transpose(1, 2))
    True
    """
    n = x.shape[1]
    if n < 64 or x.device.type == "cpu":  # OpenBLAS (see blas.py) gains nothing from halves
        return matmul(x, x.transpose(1, 2))
    h = n // 2
    top = matmul(x[:, :h], x.transpose(1, 2))  # [B, h, N]
    low = matmul(x[:, h:], x[:, h:].transpose(1, 2))  # [B, N-h, N-h]
    return torch.cat([top, torch.cat([top[:, :, h:].transpose(1, 2), low], 2)], 1)
