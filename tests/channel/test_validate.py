"""The shared channel parameter checks (channel/validate.py) and channel.make's errors."""

import math

import numpy as np
import pytest
import torch

import channel
from channel.validate import (
    check_finite,
    check_mean_burst_length,
    check_one_of,
    check_probability,
    check_seed,
    check_snr_db,
    check_transition_probability,
)


class TestNumbers:
    @pytest.mark.parametrize(
        "value", [0.25, 1, np.float32(0.5), np.int64(1), np.array(0.5), torch.tensor(0.5)]
    )
    def test_numbers_accepted(self, value):
        assert check_probability("loss", value) == pytest.approx(float(value))

    @pytest.mark.parametrize(
        ("value", "match"),
        [
            (True, "loss must be a number, got the bool True"),
            (np.bool_(False), "loss must be a number, got the bool"),
            ("0.1", "loss must be a number, got the string '0.1'"),
            ("1e-3", "in YAML write exponents with a dot"),
            (b"0.1", "got the string"),
            (None, "loss must be a number, got NoneType"),
            ([0.1], "loss must be a number, got list"),
            (np.array([0.1, 0.2]), "loss must be a number, got ndarray"),
            (torch.tensor(True), "loss must be a number, got Tensor"),
        ],
    )
    def test_non_numbers_refused(self, value, match):
        with pytest.raises(TypeError, match=match):
            check_probability("loss", value)

    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
    def test_non_finite_refused(self, value):
        with pytest.raises(ValueError, match="delay_s must be a finite number"):
            check_finite("delay_s", value)


class TestSnr:
    @pytest.mark.parametrize("value", [-50, -3.5, 0, 30, 100])
    def test_physical_range_accepted(self, value):
        assert check_snr_db("snr_db", value) == float(value)

    @pytest.mark.parametrize("value", [-3090, -50.001, 100.5, 1e6])
    def test_outside_refused(self, value):
        with pytest.raises(ValueError, match=r"snr_db must lie in \[-50, 100\] dB"):
            check_snr_db("snr_db", value)

    def test_custom_range(self):
        with pytest.raises(ValueError, match=r"esno_db must lie in \[0, 10\] dB, got 11"):
            check_snr_db("esno_db", 11, valid=(0, 10))


class TestMarkov:
    @pytest.mark.parametrize("value", [0.0, 1e-12, 0.5, 1.0])
    def test_transition_accepted(self, value):
        assert check_transition_probability("p_bg", value) == value

    @pytest.mark.parametrize("value", [1e-300, 1e-13, 5e-324])
    def test_transition_that_would_overflow_refused(self, value):
        with pytest.raises(ValueError, match="p_bg must be 0 or >= 1e-12"):
            check_transition_probability("p_bg", value)

    @pytest.mark.parametrize("value", [1e18, 0.5, 1e13])
    def test_burst_length_refused(self, value):
        with pytest.raises(ValueError, match=r"mean_burst_length must lie in \[1, 1e\+12\]"):
            check_mean_burst_length("mean_burst_length", value)


class TestSeed:
    @pytest.mark.parametrize("seed", [0, 3, np.int64(3), np.uint32(7), torch.tensor(5), 2**64 - 1])
    def test_integers_accepted(self, seed):
        out = check_seed(seed)
        assert type(out) is int and out == int(seed)

    @pytest.mark.parametrize(
        ("seed", "exc", "match"),
        [
            (True, TypeError, "seed must be an int, got the bool True"),
            (1.0, TypeError, "seed must be an int, got float"),
            ("3", TypeError, "seed must be an int, got str"),
            (-1, ValueError, "seed must be >= 0, got -1"),
            (2**64, ValueError, r"seed must be < 2\*\*64"),
        ],
    )
    def test_refused(self, seed, exc, match):
        with pytest.raises(exc, match=match):
            check_seed(seed)

    def test_numpy_seed_through_a_channel(self):
        pk = [bytes(range(100))] * 20
        a = channel.make("erasure", loss=0.5).transmit(pk, seed=np.int64(3))
        b = channel.make("erasure", loss=0.5).transmit(pk, seed=3)
        assert a.packets == b.packets


class TestOneOf:
    def test_unhashable_value_gets_the_list(self):
        with pytest.raises(ValueError, match=r"unknown fading \['awgn'\]; valid: 'awgn'"):
            check_one_of("fading", ["awgn"], {"awgn": 1, "rayleigh": 2})


class TestMake:
    def test_none_name(self):
        with pytest.raises(TypeError, match="a channel name must be a string, got None; available"):
            channel.make(None)

    def test_unhashable_name(self):
        with pytest.raises(TypeError, match="a channel name must be a string"):
            channel.make(["erasure"])

    @pytest.mark.parametrize(
        ("name", "params", "match"),
        [
            ("erasure", {}, "channel 'erasure' needs the parameter.s. loss; it takes: loss"),
            ("uncoded", {"snr_db": 3.0}, "channel 'uncoded' needs the parameter.s. modulation;"),
            ("analog", {}, "channel 'analog' needs the parameter.s. snr_db"),
        ],
    )
    def test_missing_parameter_named(self, name, params, match):
        with pytest.raises(ValueError, match=match):
            channel.make(name, **params)

    @pytest.mark.parametrize("loss", [True, "0.1"])
    def test_erasure_loss_must_be_a_number(self, loss):
        with pytest.raises(TypeError, match="loss must be a number"):
            channel.make("erasure", loss=loss)

    @pytest.mark.parametrize(
        ("name", "params", "match"),
        [
            (
                "gilbert_elliott",
                {"loss_rate": 0.1, "mean_burst_length": 1e18},
                r"mean_burst_length must lie in \[1, 1e\+12\] packets, got 1e\+18",
            ),
            ("gilbert_elliott", {"p_gb": 0.1, "p_bg": 1e-300}, "p_bg must be 0 or >= 1e-12"),
            (
                "uncoded",
                {"modulation": "qpsk", "snr_db": -3090},
                r"snr_db must lie in \[-50, 100\]",
            ),
            ("analog", {"snr_db": -3090}, r"snr_db must lie in \[-50, 100\] dB"),
            ("analog", {"snr_db": 150.0}, r"snr_db must lie in \[-50, 100\] dB"),
        ],
    )
    def test_refused_in_the_constructor(self, name, params, match):
        with pytest.raises(ValueError, match=match):
            channel.make(name, **params)

    def test_gilbert_elliott_never_leaving_a_state_is_exact(self):
        pk = [b"x"] * 50
        d = channel.make("gilbert_elliott", p_gb=0.0, p_bg=0.0).transmit(pk, seed=1)
        assert d.n_lost in (0, 50)
