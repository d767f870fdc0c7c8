"""Channel-cost columns of the sweep runner (fake VLM, real reducers, codec, channels)."""

import math

import numpy as np
import pytest

from experiments.config import load_config
from experiments.rows import ResultsStore
from experiments.runner import ImageSet, run_sweep

CFG = {
    "name": "costs",
    "dataset": {"n": 4},
    "generation": {"batch_size": 8, "max_new_tokens": 8},
    "schemes": [{"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [4]}}],
    "channels": [
        {"name": "ideal"},
        {"name": "erasure", "sweep": {"loss": [0.5]}},
        {"name": "uncoded", "params": {"modulation": "qpsk"}, "sweep": {"snr_db": [30.0]}},
        {"name": "coded_phy", "params": {"mcs": 1}, "sweep": {"snr_db": [10.0]}},
        {"name": "coded_phy", "label": "above", "params": {"mcs": 3}, "sweep": {"snr_db": [-5.0]}},
        {
            "name": "coded_phy",
            "label": "amc",
            "params": {"mcs": None, "adaptive": True},
            "sweep": {"snr_db": [3.0]},
        },
        {"name": "analog", "sweep": {"snr_db": [10.0]}},
        {
            "name": "analog",
            "label": "analog-r1",
            "params": {"bandwidth_ratio": 1.0},
            "sweep": {"snr_db": [10.0]},
        },
    ],
    "tx_power_w": 0.5,
    "metrics": {"n_boot": 20},
}


@pytest.fixture
def table(tmp_path, fake_vlm, fake_samples):
    run_sweep(
        load_config(CFG),
        tmp_path,
        model=fake_vlm,
        images=ImageSet.from_samples(fake_samples),
        progress=False,
    )
    return ResultsStore(tmp_path).table().set_index("channel_label")


COLUMNS = [
    "channel_uses",
    "airtime_s",
    "latency_s",
    "energy_j",
    "tx_power_w",
    "bits_on_air",
    "capacity_per_use",
    "capacity_ratio",
    "delivered_bits",
    "capacity_ratio_delivered",
    "packet_loss_rate",
    "loss_burst_mean",
]


def test_cost_columns(table):
    for col in COLUMNS:
        assert col in table.columns, col
    assert (table["tx_power_w"] == 0.5).all()
    assert np.allclose(table["energy_j"], 0.5 * table["airtime_s"])
    for label in ("ideal", "erasure"):
        row = table.loc[label]
        assert row["channel_uses"] == 0 and math.isnan(row["capacity_ratio"])
        assert math.isnan(row["capacity_per_use"])
    uncoded = table.loc["uncoded"]
    assert uncoded["channel_uses"] == pytest.approx(np.ceil(uncoded["bits"] / 2), abs=0.5)
    assert uncoded["capacity_per_use"] == pytest.approx(math.log2(1 + 1e3))
    for label in ("uncoded", "coded_phy", "amc"):
        row = table.loc[label]
        assert row["capacity_ratio"] >= 1.0, label
        expected = row["channel_uses"] / (row["bits"] / row["capacity_per_use"])
        assert row["capacity_ratio"] == pytest.approx(expected)
        assert row["capacity_ratio_delivered"] >= 1.0, label
    # 16-QAM-1/2 (2 bit/use) at -5 dB (capacity 0.4): offered above capacity, all lost
    above = table.loc["above"]
    assert above["capacity_ratio"] < 1.0 and above["images_lost"] == 4
    assert above["delivered_bits"] == 0 and math.isinf(above["capacity_ratio_delivered"])
    # QPSK-1/2 of 1000-bit blocks: at least bits / 1 channel uses (coding + CRC + padding)
    assert table.loc["coded_phy", "channel_uses"] >= table.loc["coded_phy", "bits"]

    # analog: values + side link
    for label, ratio in (("analog", 0.5), ("analog-r1", 1.0)):
        row = table.loc[label]
        assert row["ch_analog_symbols"] == math.ceil(ratio * 4 * 8)  # K x D values
        assert row["channel_uses"] == pytest.approx(
            row["ch_analog_symbols"] + row["ch_side_symbols"]
        )
        assert row["ch_side_symbols"] > 0 and row["ch_side_capacity_ratio"] >= 1.0
        assert row["bits"] == 8 * row["payload_bytes"]  # the side message's real bytes
        assert row["capacity_ratio"] >= 1.0
    assert table.loc["analog-r1", "ch_mse"] < table.loc["analog", "ch_mse"]
