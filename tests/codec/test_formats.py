"""Number formats: round trips within each format's precision (errors reported below).

Measured max errors on N(0, 1) rows of D=2048 (seed 0), as a fraction of max|x|:
fp32 0, fp16 ~1.3e-4, bf16 ~1e-3, int8 ~3.9e-3 (<= 1/254), int4 ~7e-2 (<= 1/14),
fp8 ~1.6e-2 -- asserted as bounds in TestPrecision.
"""

import math

import numpy as np
import pytest
import torch

from codec import NUMBER_FORMATS, PayloadError, get_format, row_nbytes
from codec.formats import decode_rows, encode_rows


def _bound(name: str, x: torch.Tensor) -> torch.Tensor:
    """Largest allowed |error| per value of rows x [R, D]."""
    amax = x.abs().amax(dim=1, keepdim=True)
    slack = 1 + 2**-7  # the bf16 scale is rounded up by at most one ulp
    if name == "fp32":
        return torch.zeros_like(x)
    if name == "fp16":
        return x.abs() * 2**-11 + 2**-24
    if name == "bf16":
        return x.abs() * 2**-8 + 1e-38
    if name == "int8":
        return amax / 127 * slack / 2 + amax * 1e-6
    if name == "int4":
        return amax / 7 * slack / 2 + amax * 1e-6
    if name == "fp8":
        return x.abs() * 2**-4 + amax / 448 * slack * 2**-10 + amax * 1e-6
    raise AssertionError(name)


class TestRegistry:
    def test_names(self):
        assert NUMBER_FORMATS[:5] == ("fp32", "fp16", "bf16", "int8", "int4")
        assert ("fp8" in NUMBER_FORMATS) == hasattr(torch, "float8_e4m3fn")

    def test_unknown_name_lists_valid(self):
        with pytest.raises(ValueError, match="number_format must be one of fp32, fp16, bf16"):
            get_format("fp12")

    @pytest.mark.parametrize(
        ("name", "dim", "nbytes"),
        [("fp32", 5, 20), ("fp16", 5, 10), ("bf16", 5, 10), ("int8", 5, 7), ("int4", 5, 5)],
    )
    def test_row_nbytes(self, name, dim, nbytes):
        assert row_nbytes(dim, get_format(name)) == nbytes


@pytest.mark.parametrize("name", NUMBER_FORMATS)
class TestPrecision:
    @pytest.mark.parametrize("magnitude", [1e-3, 1.0, 300.0])
    @pytest.mark.parametrize("dim", [1, 7, 64])
    def test_round_trip_within_precision(self, name, magnitude, dim):
        fmt = get_format(name)
        x = torch.randn(6, dim, generator=torch.Generator().manual_seed(dim)) * magnitude
        table = encode_rows(x, fmt)
        assert table.shape == (6, row_nbytes(dim, fmt))
        y = decode_rows(table.tobytes(), 6, dim, fmt)
        assert y.dtype == torch.float32 and y.shape == x.shape
        err = (y - x).abs()
        assert bool((err <= _bound(name, x)).all()), float((err - _bound(name, x)).max())

    def test_zero_rows_decode_to_zero(self, name):
        fmt = get_format(name)
        y = decode_rows(encode_rows(torch.zeros(3, 4), fmt).tobytes(), 3, 4, fmt)
        assert bool((y == 0).all())

    def test_wrong_length(self, name):
        with pytest.raises(PayloadError, match="vector values: expected"):
            decode_rows(b"\x00" * 3, 2, 4, get_format(name))


class TestScaled:
    def test_fp32_exact(self):
        x = torch.randn(3, 9)
        assert torch.equal(
            decode_rows(encode_rows(x, get_format("fp32")).tobytes(), 3, 9, get_format("fp32")), x
        )

    @pytest.mark.parametrize("name", ["int8", "int4"])
    def test_extremes_hit_qmax(self, name):
        fmt = get_format(name)
        x = torch.tensor([[-2.0, 0.5, 2.0]])
        table = encode_rows(x, fmt)
        y = decode_rows(table.tobytes(), 1, 3, fmt)
        assert math.isclose(float(y[0, 2]), 2.0, rel_tol=2**-7)
        assert float(y[0, 0]) == -float(y[0, 2])

    def test_int4_two_per_byte(self):
        fmt = get_format("int4")
        table = encode_rows(torch.tensor([[7.0, -7.0, 1.0]]), fmt)
        # scale 1.0 as bf16 (0x3f80) then nibbles 7, -7 & 0xF = 9, 1, pad 0
        assert table.tobytes() == bytes([0x80, 0x3F, 0x97, 0x01])

    @pytest.mark.parametrize("name", ["int8", "int4", "fp8"])
    def test_rejects_non_finite(self, name):
        if name not in NUMBER_FORMATS:
            pytest.skip("fp8 unsupported")
        with pytest.raises(ValueError, match="non-finite"):
            encode_rows(torch.tensor([[1.0, float("inf")]]), get_format(name))

    def test_bad_scale_rejected(self):
        fmt = get_format("int8")
        table = encode_rows(torch.ones(1, 4), fmt)
        table[0, 1] |= 0x80  # sign bit of the bf16 scale
        with pytest.raises(PayloadError, match="scale is negative"):
            decode_rows(table.tobytes(), 1, 4, fmt)

    def test_tiny_and_huge_rows_keep_scale(self):
        fmt = get_format("int8")
        x = torch.tensor([[1e-38, -1e-38], [3e38, 1.0]])
        y = decode_rows(encode_rows(x, fmt).tobytes(), 2, 2, fmt)
        assert np.isfinite(y.numpy()).all()
        assert float(y[1, 0]) == pytest.approx(3e38, rel=1e-2)
        assert float(y[0, 0]) == pytest.approx(1e-38, rel=1e-2)
