"""NR link mode (bit-true Sionna PUSCH chain): a small live check against the abstraction,
Chase HARQ, and the shipped calibration table (abstract vs link)."""

import csv
from pathlib import Path

import numpy as np
import pytest

from channel.nr import NR
from channel.nr.calibrate import ten_percent_point

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CSV = Path(__file__).resolve().parents[3] / "channel" / "data" / "nr_calibration.csv"
RNG = np.random.default_rng(0)
PACKETS = [RNG.bytes(96) for _ in range(4)]  # 4 PRB, MCS 10: one 768-bit TB each


def link(**kw) -> NR:
    base = dict(model="awgn", n_prb=4, mcs_index=10, harq_max_tx=1, estimator="perfect")
    return NR(mode="link", **{**base, **kw})


@pytest.mark.slow
class TestLive:
    def test_clean_link_delivers_exact_bytes_and_cost_matches_abstract(self):
        d = link(snr_db=7.0).transmit(PACKETS, seed=0)
        a = NR(
            mode="abstract",
            model="awgn",
            n_prb=4,
            mcs_index=10,
            harq_max_tx=1,
            estimator="perfect",
            snr_db=7.0,
        ).transmit(PACKETS, seed=0)
        assert d.packets == PACKETS and d.stats["undetected_tb_errors"] == 0
        assert a.stats["expected_first_tx_bler"] < 1e-3
        assert (d.channel_uses, d.airtime_s, d.bits_on_air) == (
            a.channel_uses,
            a.airtime_s,
            a.bits_on_air,
        )

    def test_far_below_waterfall_everything_lost_in_both_modes(self):
        d = link(snr_db=-3.0, estimator="ls").transmit(PACKETS, seed=1)
        assert d.packets == [None] * 4 and d.stats["first_tx_bler"] == 1.0

    def test_chase_combining_rescues_failed_first_transmissions(self):
        # 2.5 dB: below MCS 10's waterfall (~3.6 dB bit-true); two copies give ~5.5 dB
        one = link(snr_db=2.5, harq_max_tx=1).transmit(PACKETS, seed=2)
        two = link(snr_db=2.5, harq_max_tx=2, harq_rtt_slots=2).transmit(PACKETS, seed=2)
        assert one.stats["first_tx_bler"] >= 0.75  # 4 TBs: at least 3 fail
        assert two.stats["residual_bler"] < one.stats["residual_bler"]
        assert two.n_lost < one.n_lost and two.latency_s > one.latency_s
        assert all(p == q for p, q in zip(two.packets, PACKETS, strict=True) if p)

    def test_lmmse_beats_ls_in_both_modes(self):
        # AWGN 4 dB, MCS 10: LS loses ~0.7 dB bit-true, LMMSE (flat-channel covariance)
        # averages the pilots and is close to perfect CSI
        ls = link(snr_db=4.0, estimator="ls").transmit(PACKETS, seed=3)
        mm = link(snr_db=4.0, estimator="lmmse").transmit(PACKETS, seed=3)
        assert mm.stats["first_tx_bler"] < ls.stats["first_tx_bler"]
        kw = dict(mode="abstract", model="awgn", n_prb=4, mcs_index=10, harq_max_tx=1, snr_db=4.0)
        p_ls = NR(estimator="ls", **kw).transmit(PACKETS, 3).stats["expected_first_tx_bler"]
        p_mm = NR(estimator="lmmse", **kw).transmit(PACKETS, 3).stats["expected_first_tx_bler"]
        assert p_mm < p_ls


def _curves():
    with open(CSV) as f:
        rows = list(csv.DictReader(f))
    curves: dict = {}
    for r in rows:
        key = (r["model"], float(r["speed_mps"]), int(r["mcs_index"]), r["estimator"])
        curves.setdefault(key, []).append(r)
    return curves


@pytest.mark.skipif(not CSV.exists(), reason="calibration table not built")
class TestShippedCalibration:
    def test_table_covers_the_issue(self):
        keys = set(_curves())
        assert {k[0] for k in keys} >= {"awgn", "tdl-a", "tdl-c"}
        assert {k[1] for k in keys if k[0] != "awgn"} >= {3.0, 30.0}
        assert len({k[2] for k in keys if k[0] == "awgn"}) >= 2

    def test_ten_percent_points_agree(self):
        """AWGN (steep curves, 60 TBs a point): the two 10% points within 1 dB. Fading
        (64 independent realisations a point, shallow curves): the abstraction's 10%
        point lies within 1 dB of the SNR range where the link's 95% Wilson interval
        contains 0.1 -- the statistical tolerance of 64 TBs spans a few dB there."""
        for key, rows in _curves().items():
            snr = np.array([float(r["snr_db"]) for r in rows])
            n = int(rows[0]["n_tb"])
            col = {
                c: [float(r[c]) for r in rows]
                for c in ("link_tbler", "abstract_tbler", "link_ci_low", "link_ci_high")
            }
            s_abs = ten_percent_point(snr, col["abstract_tbler"], 0.5 / n)
            assert np.isfinite(s_abs), key
            if key[0] == "awgn":
                s_link = ten_percent_point(snr, col["link_tbler"], 0.5 / n)
                assert abs(s_link - s_abs) <= 1.0, (key, s_link, s_abs)
                continue
            lo = ten_percent_point(snr, col["link_ci_low"], 0.5 / n)
            hi = ten_percent_point(snr, col["link_ci_high"], 0.5 / n)
            lo = snr.min() if np.isnan(lo) else lo
            hi = snr.max() if np.isnan(hi) else hi
            assert lo - 1.0 <= s_abs <= hi + 1.0, (key, lo, hi, s_abs)

    def test_points_agree_within_statistics(self):
        """Every point: the abstraction's TBLER on the same realisations lies within the
        link's 99.9% Wilson interval at that SNR or at SNR +- 1 dB (the tolerated
        offset of the tables), so no point is off by more than noise plus 1 dB."""
        from channel.nr.calibrate import wilson

        for key, rows in _curves().items():
            snr = np.array([float(r["snr_db"]) for r in rows])
            n = int(rows[0]["n_tb"])
            errs = np.array([int(r["link_errors"]) for r in rows])
            ab = np.array([float(r["abstract_tbler"]) for r in rows])
            lo_hi = np.array([wilson(int(e), n, z=3.29) for e in errs])
            for i, s in enumerate(snr):
                near = np.abs(snr - s) <= 1.0 + 1e-9
                # link interval at this SNR, stretched over the points within 1 dB
                lo, hi = lo_hi[near, 0].min(), lo_hi[near, 1].max()
                assert lo - 1e-9 <= ab[i] <= hi + 1e-9, (key, s, ab[i], lo, hi)
