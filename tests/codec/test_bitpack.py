import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec import PayloadError
from codec.bitpack import (
    bits_for,
    pack_bitmap,
    pack_uint,
    packed_nbytes,
    unpack_bitmap,
    unpack_uint,
)


class TestBitsFor:
    @pytest.mark.parametrize(
        ("k", "bits"), [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (9, 4), (256, 8), (257, 9)]
    )
    def test_ceil_log2(self, k, bits):
        assert bits_for(k) == bits


class TestPackUint:
    @settings(max_examples=60, deadline=None)
    @given(bits=st.integers(0, 32), n=st.integers(0, 70), seed=st.integers(0, 2**31))
    def test_round_trip_and_size(self, bits, n, seed):
        values = np.random.default_rng(seed).integers(0, 2**bits, n, dtype=np.int64)
        buf = pack_uint(values, bits)
        assert len(buf) == packed_nbytes(n, bits) == (n * bits + 7) // 8
        np.testing.assert_array_equal(unpack_uint(buf, n, bits), values)

    def test_lsb_first_layout(self):
        # 1 = 0b01, 2 = 0b10, 3 = 0b11 -> stream bits 1,0, 0,1, 1,1 -> 0b111001
        assert pack_uint(np.array([1, 2, 3]), 2) == bytes([0b111001])
        assert pack_uint(np.array([5, 1]), 3) == bytes([0b001101])

    def test_rejects_wrong_length(self):
        with pytest.raises(PayloadError, match="expected 2 bytes, got 1"):
            unpack_uint(b"\x00", 5, 3)

    def test_rejects_nonzero_padding(self):
        with pytest.raises(PayloadError, match="padding"):
            unpack_uint(bytes([0b1000_0000]), 2, 3)


class TestBitmap:
    def test_round_trip(self):
        positions = np.array([0, 3, 9, 10])
        buf = pack_bitmap(positions, 11)
        assert len(buf) == 2
        np.testing.assert_array_equal(unpack_bitmap(buf, 11, 4), positions)

    def test_rejects_wrong_count(self):
        with pytest.raises(PayloadError, match="2 bits set, header says 3"):
            unpack_bitmap(pack_bitmap(np.array([1, 2]), 8), 8, 3)

    def test_rejects_padding(self):
        with pytest.raises(PayloadError, match="padding"):
            unpack_bitmap(bytes([0, 0b100]), 10, 0)
