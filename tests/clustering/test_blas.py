"""The clustering code's matrix products (NumPy's BLAS on CPU floats)."""

import pytest
import torch

from collab_infer.clustering.blas import baddbmm, blas_threads, matmul


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matmul_matches_torch_on_strided_batches(dtype):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 40, 17, generator=g, dtype=dtype)
    b = torch.randn(3, 9, 17, generator=g, dtype=dtype).transpose(1, 2)  # not contiguous
    out = matmul(a, b)
    assert out.dtype == dtype and out.shape == (3, 40, 9)
    torch.testing.assert_close(out, torch.matmul(a, b))


def test_matmul_of_tensors_that_require_grad():
    a = torch.randn(5, 4, requires_grad=True)
    torch.testing.assert_close(matmul(a, a.t()), (a @ a.t()).detach())


def test_other_dtypes_use_torch():
    a = torch.randn(2, 6, 8).to(torch.bfloat16)
    assert matmul(a, a.transpose(1, 2)).dtype == torch.bfloat16


def test_baddbmm_broadcasts_bias():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 5, 3, generator=g), torch.randn(2, 3, 4, generator=g)
    bias = torch.randn(2, 1, 4, generator=g)
    torch.testing.assert_close(baddbmm(bias, a, b, alpha=-2.0), bias - 2.0 * (a @ b))


def test_blas_threads_limits_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
    if not blas.lib_controllers:
        pytest.skip("no BLAS library visible to threadpoolctl")
    before = [c.num_threads for c in blas.lib_controllers]
    with blas_threads(1):
        inside = threadpoolctl.ThreadpoolController().select(user_api="blas")
        assert all(c.num_threads == 1 for c in inside.lib_controllers)
    after = threadpoolctl.ThreadpoolController().select(user_api="blas")
    assert [c.num_threads for c in after.lib_controllers] == before
