"""Latency deadlines (experiments.deadline): late packets are lost, rows without a
deadline keep their hashes; a tiny sweep over the ``nr`` channel on the fake VLM."""

import math

import pytest

from channel.delivery import Delivery
from experiments.config import expand_rows, load_config
from experiments.deadline import apply_deadline, packet_arrival_s
from experiments.runner import ImageSet, run_sweep

CH = {"name": "nr", "params": {"model": "awgn", "mode": "abstract"}, "sweep": {"snr_db": [10]}}
BASE = {
    "name": "t",
    "dataset": {"n": 2},
    "schemes": [{"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [2]}}],
    "channels": [CH],
}
#: 1 us is shorter than one 30 kHz slot (0.5 ms): no packet completes by then
DEADLINES = {"deadlines_s": [1e-6, 10.0]}


def test_rows_without_deadlines_keep_their_hashes():
    rows = expand_rows(load_config(BASE), 16, model_id="m", images_id="i")
    # computed with the config module before deadlines existed (commit 73bcd92)
    assert [r.row_hash for r in rows] == ["1bfb541200bf47c9"]
    assert "deadline_s" not in rows[0].key()
    with_dl = expand_rows(
        load_config({**BASE, "deadlines": DEADLINES}), 16, model_id="m", images_id="i"
    )
    assert [r.deadline_s for r in with_dl] == [None, 1e-6, 10.0]
    assert with_dl[0].row_hash == rows[0].row_hash
    assert len({r.row_hash for r in with_dl}) == 3


def test_only_selects_the_channel_settings():
    cfg = {
        **BASE,
        "channels": [{**CH, "sweep": {"snr_db": [0, 10]}}],
        "deadlines": {**DEADLINES, "only": {"snr_db": [10]}},
    }
    rows = expand_rows(load_config(cfg), 16)
    got = [(r.channel_params["snr_db"], r.deadline_s) for r in rows]
    assert got == [(0, None), (10, None), (10, 1e-6), (10, 10.0)]


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"deadlines_s": [0.0]}, "finite and > 0"),
        ({"deadlines_s": [1e-3, 1e-3]}, "unique"),
        ({"deadlines_s": []}, "deadlines_s"),
        ({"deadlines_s": [1e-3], "only": {"snr_db": []}}, "must not be empty"),
    ],
)
def test_bad_deadlines_are_rejected(bad, match):
    with pytest.raises(Exception, match=match):
        load_config({**BASE, "deadlines": bad})


def test_arrival_times_from_completion_slots():
    class Ch:
        slot_s, delay_s = 5e-4, 1e-4

    d = Delivery([b"a", b"b", b"c"], 24, 1e-3, 0.0, {"packet_completion_slot": [0, 0, 3]})
    assert packet_arrival_s(d, Ch()) == pytest.approx([6e-4, 6e-4, 2.1e-3])
    assert apply_deadline(d, packet_arrival_s(d, Ch()), 1e-3).packets == [b"a", b"b", None]
    plain = Delivery([b"a", b"b"], 16, 1e-3, 2e-3)  # no per-packet times: the image's
    assert packet_arrival_s(plain, None) == [2e-3, 2e-3]
    assert apply_deadline(plain, [2e-3, 2e-3], None) is plain


def test_deadline_sweep_on_nr(tmp_path, fake_vlm, fake_samples):
    summary = run_sweep(
        load_config({**BASE, "deadlines": DEADLINES}),
        tmp_path,
        model=fake_vlm,
        images=ImageSet.from_samples(fake_samples[:2]),
        progress=False,
    )
    assert summary.rows_run == 3
    from experiments.rows import ResultsStore

    df = ResultsStore(tmp_path).table().set_index("row_hash")
    base = df[df["deadline_s"].isna()].iloc[0]
    short = df[df["deadline_s"] == 1e-6].iloc[0]
    long = df[df["deadline_s"] == 10.0].iloc[0]
    # the link itself delivers everything at 10 dB on AWGN
    assert base["images_lost"] == 0 and base["bleu4"] > 0
    assert short["images_lost"] == 2 and short["bleu4"] == 0.0
    assert short["packets_lost"] == short["packets"] * 2
    for col in ("bleu4", "images_lost", "packets_lost", "latency_s", "channel_uses"):
        assert long[col] == base[col], col
    assert base["latency_s"] < 10.0 and math.isfinite(base["ch_tb_count"])
    assert {"ch_first_tx_bler", "ch_residual_bler", "ch_harq_transmissions"} <= set(df.columns)
    assert {"ch_mcs_mean", "ch_olla_offset_end_db"} <= set(df.columns)
