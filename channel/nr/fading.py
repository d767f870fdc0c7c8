"""Channel frequency response of the uplink over the slots of one image.

``response(seed, n_slots)`` returns ``h[n_slots, 14, n_subcarriers]`` (complex64, mean
power 1 per resource element), sampled once per OFDM symbol (``14 / slot_s`` Hz), so the
fading evolves with Doppler across the symbols of a slot, the slots of an image and its
retransmissions: a retransmission ``harq_rtt_slots`` later sees the same process
``rtt * slot_s`` seconds on, correlated or not as the Doppler makes it.

Models (all from Sionna's TR 38.901 blocks):

- ``awgn``: ``h = 1``;
- ``tdl-a`` ... ``tdl-e``: :class:`sionna.phy.channel.tr38901.TDL` (sum of sinusoids,
  Jakes spectrum at ``speed_mps``), taps scaled by ``delay_spread_s``;
- ``cdl-a`` ... ``cdl-e``: :class:`sionna.phy.channel.tr38901.CDL`, uplink, one
  omnidirectional vertically polarised antenna at each end, UT speed ``speed_mps``;
- ``rayleigh``: frequency-flat Rayleigh fading with the same Doppler process: the first
  tap of Sionna's TDL-A generator scaled to unit power.

Responses come from :func:`sionna.phy.channel.cir_to_ofdm_channel` at the allocation's
subcarriers. Every random draw comes from a ``torch.Generator`` seeded with ``seed``; the
draws do not depend on ``n_slots``, so a longer request extends the same realisation
(the caller regenerates with more slots when HARQ needs them).

Limits: single antenna at each end (SISO); path loss and shadowing are outside the model
(``snr_db`` is the mean Es/N0 per RE); the UT speed is fixed over an image; images of a
stream see independent realisations (they are seconds apart, far beyond the coherence
time ``~ 1 / f_d``). The Sionna generator objects are cached per process and re-seeded on
each call: use one thread per process (the sweep executors run processes).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["Fading", "DEFAULT_DELAY_SPREAD_S"]

#: TR 38.901 "nominal" delay spread used when ``delay_spread_s`` is not given
DEFAULT_DELAY_SPREAD_S = 100e-9


def _owned(cls):
    """Subclass of a Sionna block drawing from ``self.generator`` (a generator we own)."""

    class Owned(cls):  # type: ignore[misc, valid-type]
        generator = None

        @property
        def torch_rng(self):  # type: ignore[override]
            return self.generator

    Owned.__name__ = f"Owned{cls.__name__}"
    return Owned


@lru_cache(maxsize=16)
def _model(model: str, speed_mps: float, delay_spread_s: float, carrier_hz: float):
    from sionna.phy.channel.tr38901 import CDL, TDL, Antenna

    if model == "rayleigh":
        return _owned(TDL)(
            "A", DEFAULT_DELAY_SPREAD_S, carrier_hz, min_speed=speed_mps, max_speed=speed_mps
        )
    family, letter = model.split("-")
    if family == "tdl":
        return _owned(TDL)(
            letter.upper(), delay_spread_s, carrier_hz, min_speed=speed_mps, max_speed=speed_mps
        )
    ant = Antenna("single", "V", "omni", carrier_hz)
    cdl = _owned(CDL)(
        letter.upper(),
        delay_spread_s,
        carrier_hz,
        ut_array=ant,
        bs_array=ant,
        direction="uplink",
        min_speed=speed_mps,
        max_speed=speed_mps,
    )
    # the ray phases are drawn by CDL's coefficient generator: make it draw from ours too
    cdl._cir_gen.__class__ = _owned(type(cdl._cir_gen))
    return cdl


class Fading:
    """Per-RE channel of one SISO uplink allocation (see module docstring).

    :param model: one of :data:`channel.nr.config.MODELS`.
    :param speed_mps: UT speed (0 = static channel within an image).
    :param delay_spread_s: RMS delay spread of the TDL/CDL profile.
    :param carrier_hz: carrier frequency (Doppler ``f_d = v f_c / c``).
    :param subcarrier_spacing_hz: SCS; ``n_subcarriers``: ``12 * n_prb``.
    :param slot_s: slot duration (14 OFDM symbols).
    """

    def __init__(
        self,
        model: str,
        *,
        speed_mps: float,
        delay_spread_s: float,
        carrier_hz: float,
        subcarrier_spacing_hz: float,
        n_subcarriers: int,
        slot_s: float,
    ) -> None:
        self.model = model
        self.speed_mps = speed_mps
        self.delay_spread_s = delay_spread_s
        self.carrier_hz = carrier_hz
        self.subcarrier_spacing_hz = subcarrier_spacing_hz
        self.n_subcarriers = n_subcarriers
        self.slot_s = slot_s

    def response(self, seed: int, n_slots: int) -> np.ndarray:
        """``h[n_slots, 14, n_subcarriers]`` complex64 for realisation ``seed``."""
        if self.model == "awgn":
            return np.ones((n_slots, 14, self.n_subcarriers), dtype=np.complex64)
        import torch
        from sionna.phy.channel import cir_to_ofdm_channel, subcarrier_frequencies

        gen = _model(self.model, self.speed_mps, self.delay_spread_s, self.carrier_hz)
        gen.generator = torch.Generator().manual_seed(int(seed))
        if hasattr(gen, "_cir_gen"):
            gen._cir_gen.generator = gen.generator
        a, tau = gen(1, 14 * n_slots, 14.0 / self.slot_s)
        if self.model == "rayleigh":
            a = a[..., :1, :] / torch.sqrt(gen.mean_powers[0]).to(a.dtype)
            tau = tau[..., :1] * 0.0
        freqs = subcarrier_frequencies(self.n_subcarriers, self.subcarrier_spacing_hz)
        h = cir_to_ofdm_channel(freqs, a, tau, normalize=False)
        # [1, 1, 1, 1, 1, T, n_sc] -> [n_slots, 14, n_sc]
        h = h.reshape(n_slots, 14, self.n_subcarriers)
        return h.numpy().astype(np.complex64)
