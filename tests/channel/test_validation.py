import math

import pytest

from channel import (
    Analog,
    CodedPhy,
    GilbertElliott,
    Ideal,
    PacketErasure,
    RateLimited,
    Uncoded,
)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: RateLimited(-1.0), "bandwidth_bps must be > 0"),
        (lambda: RateLimited(0.0), "bandwidth_bps must be > 0"),
        (lambda: RateLimited(math.inf), "bandwidth_bps must be a finite number"),
        (lambda: RateLimited(1e6, delay_s=-0.1), "delay_s must be >= 0"),
        (lambda: RateLimited(1e6, per_packet_overhead_bits=1.5), "per_packet_overhead_bits"),
        (lambda: PacketErasure(-0.1), r"loss must lie in \[0, 1\]"),
        (lambda: PacketErasure(1.5), r"loss must lie in \[0, 1\]"),
        (lambda: PacketErasure(math.nan), "loss must be a finite number"),
        (lambda: GilbertElliott(0.1, 0.2, loss_bad=2.0), r"loss_bad must lie in \[0, 1\]"),
        (lambda: Uncoded("8psk", 10.0), "unknown modulation '8psk'; valid: 'bpsk', 'qpsk'"),
        (lambda: Uncoded("qpsk", math.nan), "snr_db must be a finite number"),
        (lambda: Uncoded("qpsk", math.inf), "snr_db must be a finite number"),
        (lambda: Uncoded("qpsk", 3.0, snr_type="sinr"), "unknown snr_type 'sinr'"),
        (lambda: Uncoded("qpsk", 3.0, fading="rician"), "unknown fading 'rician'"),
        (lambda: Uncoded("qpsk", 3.0, symbol_rate_hz=-5), "symbol_rate_hz must be > 0"),
        (lambda: CodedPhy(1, math.nan), "snr_db must be a finite number"),
        (lambda: CodedPhy(99, 3.0), r"mcs index must lie in \[0, 14\]"),
        (lambda: CodedPhy(("8psk", 0.5), 3.0), "unknown modulation '8psk'"),
        (lambda: CodedPhy(("qpsk", 0.99), 3.0), r"code_rate must lie in \[0.025, 0.95\]"),
        (lambda: CodedPhy(("qpsk", 0.4), 3.0), "qpsk-0.4 has no BLER table"),
        (lambda: CodedPhy(1, 3.0, mode="fast"), "unknown mode 'fast'"),
        (
            lambda: CodedPhy(1, 3.0, block_payload_bits=500),
            "no BLER table for block_payload_bits=500",
        ),
        (lambda: CodedPhy(1, 3.0, block_payload_bits=0), "block_payload_bits must be an int"),
        (lambda: CodedPhy(None, 3.0), "mcs is required unless adaptive=True"),
        (
            lambda: CodedPhy(None, 3.0, adaptive=True, bler_target=0.0),
            r"bler_target must lie in \(0, 1\)",
        ),
        (lambda: CodedPhy(None, 3.0, adaptive=True, snr_type="ebn0"), "snr_type must be 'esn0'"),
        (lambda: Analog(math.nan), "snr_db must be a finite number"),
        (lambda: Analog(3.0, bandwidth_ratio=0), "bandwidth_ratio must be > 0"),
        (lambda: Analog(3.0, equalizer="ml"), "unknown equalizer 'ml'"),
    ],
)
def test_bad_parameters_name_the_parameter(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_link_mode_accepts_untabled_code_rate():
    assert CodedPhy(("qpsk", 0.4), 3.0, mode="link").describe()["mcs"] == ["qpsk", 0.4]


def test_bad_transmit_inputs():
    with pytest.raises(TypeError, match=r"packets\[1\] must be bytes"):
        Ideal().transmit([b"a", "b"], seed=0)
    with pytest.raises(TypeError, match="single bytes object"):
        Ideal().transmit(b"abc", seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        Ideal().transmit([b"a"], seed=-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        Ideal().transmit([b"a"], seed=1.5)
