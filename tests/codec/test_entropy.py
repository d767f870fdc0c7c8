import numpy as np
import pytest

from codec import PayloadError
from codec.bitpack import bits_for, packed_nbytes
from codec.entropy import decode_categorical, encode_categorical, entropy_lower_bound_nbytes
from codec.reader import ByteReader


class TestCategorical:
    @pytest.mark.parametrize("k", [2, 3, 8, 256])
    @pytest.mark.parametrize("n", [1, 7, 256, 5000])
    def test_round_trip(self, k, n):
        rng = np.random.default_rng(k * n)
        probs = rng.dirichlet(np.full(k, 0.3))
        symbols = rng.choice(k, size=n, p=probs)
        data = encode_categorical(symbols, k)
        r = ByteReader(data)
        np.testing.assert_array_equal(decode_categorical(r, n, k), symbols)
        assert r.remaining == 0

    def test_size_close_to_empirical_entropy(self):
        rng = np.random.default_rng(0)
        symbols = rng.choice(8, size=4096, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.01, 0.01])
        counts = np.bincount(symbols, minlength=8)
        size = len(encode_categorical(symbols, 8))
        bound = entropy_lower_bound_nbytes(counts)
        assert bound <= size <= bound + 12  # range coder flush + length varint
        assert size < packed_nbytes(4096, bits_for(8)) * 0.75

    def test_single_symbol_stream_is_tiny(self):
        data = encode_categorical(np.zeros(1000, dtype=np.int64), 4)
        assert len(data) <= packed_nbytes(3, bits_for(1001)) + 1 + 4

    def test_counts_exceeding_n_rejected(self):
        data = bytes([0b11, 0])  # count of symbol 0 = 3 (2 bits for N=2), empty stream
        with pytest.raises(PayloadError, match="counts sum to more than N=2"):
            decode_categorical(ByteReader(data), 2, 2)

    def test_needs_two_symbols(self):
        with pytest.raises(PayloadError, match="needs N >= 1 and K >= 2"):
            decode_categorical(ByteReader(b""), 4, 1)
