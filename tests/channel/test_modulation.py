import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channel.modulation import (
    MODULATIONS,
    bytes_to_labels,
    constellation,
    labels_to_bytes,
    labels_to_iq,
    map_bits,
    slice_iq,
    slice_symbols,
)


class TestConstellation:
    @pytest.mark.parametrize("modulation", list(MODULATIONS))
    def test_unit_energy_and_distinct(self, modulation):
        c = constellation(modulation)
        assert c.size == 2 ** MODULATIONS[modulation]
        assert np.mean(np.abs(c) ** 2) == pytest.approx(1.0, rel=1e-6)
        assert np.unique(np.round(c, 6)).size == c.size

    @pytest.mark.parametrize("modulation", list(MODULATIONS))
    def test_gray_nearest_neighbours_differ_in_one_bit(self, modulation):
        c = constellation(modulation)
        d = np.abs(c[:, None] - c[None, :])
        dmin = np.min(d[d > 1e-9])
        i, j = np.nonzero(np.isclose(d, dmin))
        assert i.size >= c.size  # every point has a nearest neighbour
        assert all(bin(a ^ b).count("1") == 1 for a, b in zip(i, j, strict=True))

    def test_unknown_modulation_lists_valid(self):
        with pytest.raises(ValueError, match="unknown modulation '8psk'; valid: 'bpsk'"):
            constellation("8psk")


class TestRoundTrip:
    @settings(max_examples=20, deadline=None)
    @given(data=st.binary(max_size=50), modulation=st.sampled_from(list(MODULATIONS)))
    def test_bytes_labels_bytes(self, data, modulation):
        m = MODULATIONS[modulation]
        arr = np.frombuffer(data, dtype=np.uint8)
        labels = bytes_to_labels(arr, m)
        assert labels.size * m >= 8 * arr.size
        assert labels_to_bytes(labels, m, arr.size).tobytes() == data
        re, im = labels_to_iq(labels, modulation)
        assert np.array_equal(slice_iq(re, im, modulation), labels)

    @pytest.mark.parametrize("modulation", list(MODULATIONS))
    def test_noiseless_bits(self, modulation):
        m = MODULATIONS[modulation]
        bits = np.random.default_rng(0).integers(0, 2, 60 * m, dtype=np.uint8)
        assert np.array_equal(slice_symbols(map_bits(bits, modulation), modulation), bits)

    def test_slicer_picks_nearest_point(self):
        c = constellation("16qam")
        rng = np.random.default_rng(1)
        y = rng.normal(size=500) + 1j * rng.normal(size=500)
        nearest = np.argmin(np.abs(y[:, None] - c[None, :]), axis=1)
        assert np.array_equal(slice_iq(y.real, y.imag, "16qam"), nearest)

    def test_bit_count_must_fill_symbols(self):
        with pytest.raises(ValueError, match="not a multiple of 4"):
            map_bits(np.zeros(6, dtype=np.uint8), "16qam")
