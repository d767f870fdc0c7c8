"""NR parameter validation, HARQ scheduling and segmentation: pure Python, no Sionna."""

import subprocess
import sys

import numpy as np
import pytest

import channel
from channel.nr.allocation import segment
from channel.nr.harq import run_harq


class TestValidation:
    @pytest.mark.parametrize(
        ("params", "match"),
        [
            ({"model": "tdl-x"}, "unknown model 'tdl-x'"),
            ({"model": "awgn", "speed_mps": 3.0}, "speed_mps: the awgn model"),
            ({"speed_mps": -1.0}, "speed_mps must be >= 0"),
            ({"model": "rayleigh", "delay_spread_s": 1e-7}, "delay_spread_s applies to"),
            ({"subcarrier_spacing_hz": 20e3}, "subcarrier_spacing_hz must be one of"),
            ({"n_prb": 0}, r"n_prb must lie in \[1, 275\]"),
            ({"n_symbols": 3}, r"n_symbols must lie in \[4, 14\]"),
            ({"n_prb": 1, "n_symbols": 4, "dmrs_additional_position": 2}, "too small for one"),
            ({"mcs_table": 3}, "unknown mcs_table 3"),
            ({"mcs_index": 2}, "abstract mode has BLER tables"),
            ({"mcs_index": 29}, r"mcs_index must lie in \[0, 28\]"),
            ({"estimator": "mmse"}, "unknown estimator"),
            ({"harq_max_tx": 0}, r"harq_max_tx must lie in \[1, 16\]"),
            ({"harq_combining": "soft"}, "unknown harq_combining"),
            ({"harq_rtt_slots": 17}, "harq_rtt_slots must be <= 16"),
            ({"link_adaptation": "auto"}, "unknown link_adaptation"),
            ({"bler_target": 0.0}, r"bler_target must lie in \(0, 1\)"),
            ({"mode": "fast"}, "unknown mode"),
            ({"mode": "link", "harq_combining": "ir"}, "abstract-mode only"),
            ({"snr_db": float("nan")}, "snr_db must be a finite number"),
            ({"carrier_hz": 1e6}, "carrier_hz must lie in"),
        ],
    )
    def test_bad_parameter_names_itself(self, params, match):
        kw = {"snr_db": 5.0, **params}
        with pytest.raises(ValueError, match=match):
            channel.make("nr", **kw)

    def test_wrong_types(self):
        with pytest.raises(TypeError, match="n_prb must be an int"):
            channel.make("nr", snr_db=5.0, n_prb=4.0)
        with pytest.raises(ValueError, match="unknown parameter|unexpected|speed"):
            channel.make("nr", snr_db=5.0, speeed_mps=3.0)

    def test_describe_round_trips(self):
        ch = channel.make(
            "nr",
            snr_db=5,
            model="TDL-C",
            speed_mps=30,
            harq_max_tx=2,
            link_adaptation="olla",
            harq_combining="ir",
        )
        params = ch.describe()
        assert params["model"] == "tdl-c" and params["snr_db"] == 5.0
        assert channel.make(params.pop("name"), **params) == ch

    def test_make_and_describe_do_not_import_sionna(self):
        code = (
            "import sys, channel; "
            "ch = channel.make('nr', model='tdl-c', speed_mps=3, snr_db=5, harq_max_tx=4,"
            " link_adaptation='olla', mode='abstract'); ch.describe(); "
            "print('sionna' in sys.modules)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "False"


def _fixed_tbs(n: int):
    made = [0]

    def new_tb() -> bool:
        if made[0] >= n:
            return False
        made[0] += 1
        return True

    return new_tb


class TestHarq:
    def test_all_succeed_consecutive_slots(self):
        res = run_harq(_fixed_tbs(5), 4, 8, lambda s, t, i: np.ones(len(s), bool))
        assert res.tx_slot.tolist() == [0, 1, 2, 3, 4]
        assert res.n_slots == 5 and res.ok.all() and res.n_transmissions == 5

    def test_retransmission_after_rtt_has_priority(self):
        # TB 0 fails its first transmission only
        def decode(slots, tbs, idx):
            return ~((tbs == 0) & (idx == 0))

        res = run_harq(_fixed_tbs(10), 4, 3, decode)
        # slot 3 carries TB 0's retransmission, new TBs fill the other slots
        assert res.tx_tb.tolist() == [0, 1, 2, 0, 3, 4, 5, 6, 7, 8, 9]
        assert res.n_tx.tolist() == [2] + [1] * 9
        assert res.done_slot[0] == 3 and res.n_slots == 11

    def test_idle_slots_wait_for_retransmission(self):
        res = run_harq(_fixed_tbs(1), 3, 4, lambda s, t, i: i == 2)
        assert res.tx_slot.tolist() == [0, 4, 8]  # the RTT waits are idle
        assert res.ok.tolist() == [True] and res.n_slots == 9 and res.n_transmissions == 3

    def test_gives_up_after_max_tx(self):
        res = run_harq(_fixed_tbs(2), 2, 2, lambda s, t, i: np.zeros(len(s), bool))
        assert not res.ok.any() and res.n_tx.tolist() == [2, 2]
        assert res.tx_slot.tolist() == [0, 1, 2, 3]

    def test_without_harq_one_batch(self):
        calls = []

        def decode(s, t, i):
            calls.append(len(s))
            return np.zeros(len(s), bool)

        res = run_harq(_fixed_tbs(20), 1, 8, decode)
        assert calls == [20] and res.n_transmissions == 20


class TestSegmentation:
    def test_packets_spanning_tbs(self):
        seg = segment(np.array([100, 0, 2000, 5]), 848)  # 16840 bits -> 20 TBs
        assert seg.n_tb == 20 and seg.padding_bits == 20 * 848 - 8 * 2105
        assert seg.first_tb.tolist() == [0, 0, 0, 19]
        assert seg.last_tb.tolist() == [0, 0, 19, 19]
        failed = np.zeros(20, bool)
        failed[5] = True
        assert seg.packet_failed(failed).tolist() == [False, False, True, False]

    def test_variable_sizes(self):
        seg = segment(np.array([10, 10]), np.array([80, 40, 40]))
        assert seg.first_tb.tolist() == [0, 1] and seg.last_tb.tolist() == [0, 2]
        assert seg.packet_slot(np.array([3, 9, 4])).tolist() == [3, 9]
        with pytest.raises(ValueError, match="tb_sizes hold"):
            segment(np.array([10, 10]), np.array([80]))
