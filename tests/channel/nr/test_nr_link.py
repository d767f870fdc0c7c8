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


def _curves():
    with open(CSV) as f:
        rows = list(csv.DictReader(f))
    curves: dict = {}
    for r in rows:
        key = (r["model"], float(r["speed_mps"]), int(r["mcs_index"]))
        curves.setdefault(key, []).append(r)
    return curves


@pytest.mark.skipif(not CSV.exists(), reason="calibration table not built")
class TestShippedCalibration:
    def test_table_covers_the_issue(self):
        keys = set(_curves())
        assert {k[0] for k in keys} >= {"awgn", "tdl-a", "tdl-c"}
        assert {k[1] for k in keys if k[0] != "awgn"} >= {3.0, 30.0}
        assert len({k[2] for k in keys if k[0] == "awgn"}) >= 2

    def test_ten_percent_points_agree_within_1db(self):
        for key, rows in _curves().items():
            snr = np.array([float(r["snr_db"]) for r in rows])
            n = int(rows[0]["n_tb"])
            link_p = [float(r["link_tbler"]) for r in rows]
            abs_p = [float(r["abstract_tbler"]) for r in rows]
            s_link = ten_percent_point(snr, link_p, 0.5 / n)
            s_abs = ten_percent_point(snr, abs_p, 0.5 / n)
            assert np.isfinite(s_link) and np.isfinite(s_abs), key
            assert abs(s_link - s_abs) <= 1.0, (key, s_link, s_abs)
