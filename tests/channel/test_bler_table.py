"""BLER tables: no zero tails, bounds at error-free points, the documented tail fit."""

import numpy as np
import pytest
from scipy.special import ndtr

from channel.bler_table import (
    BLER_FLOOR,
    BlerCurve,
    available_block_sizes,
    load_table,
    lower_bound95,
    upper_bound95,
)
from channel.mcs import MCS_TABLE


def _curves():
    return [
        pytest.param(load_table(k).curve(i), id=f"k{k}-mcs{i}")
        for k in available_block_sizes()
        for i in sorted(load_table(k).curves)
    ]


def test_every_mcs_is_tabled_for_every_size():
    for k in available_block_sizes():
        assert sorted(load_table(k).curves) == list(range(len(MCS_TABLE)))


@pytest.mark.parametrize("curve", _curves())
class TestShippedCurves:
    def test_never_zero_and_monotone(self, curve):
        grid = np.arange(curve.esn0_db[0] - 3.0, curve.esn0_db[-1] + 3.0, 0.01)
        b = curve(grid)
        assert np.all(b > 0) and np.all(b <= 1)
        assert np.all(np.diff(b) <= 1e-15)
        # beyond the last point the extrapolation keeps falling until the floor
        beyond = curve(curve.esn0_db[-1] + np.array([0.0, 0.25, 0.5]))
        assert beyond[0] > beyond[1] > beyond[2] or beyond[2] == BLER_FLOOR

    def test_consistent_with_the_points(self, curve):
        got = curve(curve.esn0_db)
        upper = upper_bound95(curve.errors, curve.blocks)
        assert np.all(got <= upper * (1 + 1e-9))  # error-free points: <= ~3/n
        # points with many errors keep their measured value (up to monotone smoothing)
        many = (curve.errors >= 10) & (curve.errors < curve.blocks)
        ratio = got[many] / curve.bler[many]
        assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio

    def test_tail_fit_slope(self, curve):
        a, b = curve.tail_fit
        assert 0.3 < b < 20.0  # probit units per dB: a waterfall, not flat, not a step

    def test_snr_for_bler_inverts(self, curve):
        for target in (0.1, 1e-3, 1e-6):
            s = curve.snr_for_bler(target)
            assert curve(s) == pytest.approx(target, rel=0.02)


class TestIssueExamples:
    """#11: link mode measured 0.49 % (QPSK-1/2, 1000-bit blocks, 1.75 dB) and 0.2 %
    (16-QAM-1/2, 7.0 dB) where the old table read 0."""

    @pytest.mark.parametrize(("mcs", "snr_db"), [(1, 1.75), (3, 7.0)])
    def test_not_zero_and_within_the_measured_bound(self, mcs, snr_db):
        curve = load_table(1000).curve(mcs)
        got = float(curve(snr_db))
        j = int(np.flatnonzero(np.isclose(curve.esn0_db, snr_db))[0])
        assert curve.blocks[j] >= 1000  # the tail was measured deeper
        assert 1e-5 < got <= upper_bound95(curve.errors[j], curve.blocks[j])


class TestFit:
    def _synthetic(self, seed: int, blocks: int = 2000) -> BlerCurve:
        """Points drawn from a known probit waterfall z = 4 (s - 2)."""
        rng = np.random.default_rng(seed)
        s = np.arange(0.5, 3.01, 0.25)
        p = ndtr(-4.0 * (s - 2.0))
        n = np.full(s.shape, blocks)
        return BlerCurve(0, 232, 512, s, rng.binomial(n, p), n)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_recovers_a_probit_waterfall_and_extrapolates(self, seed):
        c = self._synthetic(seed)
        a, b = c.tail_fit
        assert b == pytest.approx(4.0, rel=0.15) and -a / b == pytest.approx(2.0, abs=0.05)
        for s in (3.25, 3.5):  # beyond the last point
            true = ndtr(-4.0 * (s - 2.0))
            assert true / 10 < c(s) < true * 10

    def test_needs_two_informative_points(self):
        with pytest.raises(ValueError, match="tail fit needs two points"):
            BlerCurve(0, 232, 512, np.array([0.0, 1.0, 2.0]), np.array([64, 10, 0]), np.full(3, 64))

    def test_points_must_be_ascending(self):
        with pytest.raises(ValueError, match="esn0_db must be ascending"):
            BlerCurve(0, 232, 512, np.array([1.0, 0.0]), np.array([1, 2]), np.array([9, 9]))


def test_clopper_pearson_bounds():
    assert upper_bound95(0, 1000) == pytest.approx(1 - 0.05**0.001)
    assert upper_bound95(0, 1000) == pytest.approx(3.0 / 1000, rel=0.01)
    assert lower_bound95(0, 1000) == 0.0
    lo, hi = lower_bound95(10, 1000), upper_bound95(10, 1000)
    assert lo < 0.01 < hi and hi < 0.02 and lo > 0.005
