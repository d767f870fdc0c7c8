import numpy as np
import pytest
import torch

import codec
from channel import Analog, Chain


def _vq(seed: int = 0) -> codec.VQPayload:
    g = torch.Generator().manual_seed(seed)
    return codec.VQPayload(
        torch.randn(8, 512, generator=g).half(), torch.randint(0, 8, (256,), generator=g)
    )


class TestAnalog:
    @pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
    def test_zero_forcing_value_snr_equals_esn0(self, snr_db):
        p = _vq()
        rx, d = Analog(snr_db, equalizer="zf").transmit_payload(p, seed=1)
        # 4096 values: the measured value SNR has ~0.1 dB standard deviation
        assert d.stats["value_snr_db"] == pytest.approx(snr_db, abs=0.5)
        assert torch.equal(rx.indices, p.indices)
        assert rx.centroids.shape == p.centroids.shape and rx.centroids.dtype == torch.float32

    def test_graceful_degradation(self):
        p = _vq()
        errs = [Analog(s).transmit_payload(p, seed=2)[1].stats["mse"] for s in (0, 5, 10, 20, 30)]
        assert all(b < a for a, b in zip(errs, errs[1:], strict=False))

    def test_rayleigh_mmse_beats_zero_forcing(self):
        p = _vq()
        zf = Analog(10.0, fading="rayleigh", equalizer="zf").transmit_payload(p, seed=3)[1]
        mmse = Analog(10.0, fading="rayleigh", equalizer="mmse").transmit_payload(p, seed=3)[1]
        assert mmse.stats["mse"] < zf.stats["mse"]

    def test_symbol_and_airtime_accounting(self):
        p = codec.SubsetPayload(torch.randn(3, 5), torch.tensor([1, 4, 7]), n_tokens=10)
        rx, d = Analog(10.0, symbol_rate_hz=100.0, side_bits_per_symbol=2.0).transmit_payload(
            p, seed=0
        )
        side = codec.encode_side_info(p)
        assert d.packets == [side]
        assert d.stats["analog_values"] == 15 and d.stats["analog_symbols"] == 8
        assert d.bits_on_air == 8 * (len(side) + 4)
        assert d.stats["side_symbols"] == d.bits_on_air // 2
        assert d.airtime_s == pytest.approx((8 + d.stats["side_symbols"]) / 100.0)
        assert torch.equal(rx.positions, p.positions) and rx.n_tokens == 10

    def test_full_payload_and_reproducible(self):
        p = codec.FullPayload(torch.randn(16, 32))
        a, _ = Analog(5.0).transmit_payload(p, seed=4)
        b, _ = Analog(5.0).transmit_payload(p, seed=4)
        assert torch.equal(a.vectors, b.vectors) and not torch.equal(a.vectors, p.vectors)

    def test_byte_packets_are_refused(self):
        with pytest.raises(TypeError, match="use Analog.transmit_payload"):
            Analog(5.0).transmit([b"x"], seed=0)
        with pytest.raises(TypeError, match="use Analog.transmit_payload"):
            Chain(Analog(5.0)).transmit([b"x"], seed=0)


def test_value_noise_is_unbiased_awgn():
    p = codec.FullPayload(torch.zeros(64, 64) + 1.0)
    rx, d = Analog(0.0, equalizer="zf").transmit_payload(p, seed=0)
    err = (rx.vectors - 1.0).numpy()
    assert abs(err.mean()) < 5 * err.std() / np.sqrt(err.size)
