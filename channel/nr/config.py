"""Parameter names, valid values and constructor checks of the ``nr`` channel.

Pure Python (no Sionna import): ``channel.make("nr", ...)`` validates everything here
before any heavy import, with errors naming the parameter and what would work.
"""

from __future__ import annotations

import math
from typing import Any

from channel.validate import (
    check_finite,
    check_non_negative,
    check_one_of,
    check_positive,
    check_probability,
)

__all__ = [
    "MODELS",
    "ESTIMATORS",
    "COMBINING",
    "LINK_ADAPTATION",
    "MODES",
    "MCS_TABLES",
    "SUBCARRIER_SPACINGS_HZ",
    "MAX_MCS",
    "ABSTRACT_MCS",
    "check_int",
    "doppler_hz",
    "numerology",
    "validate",
    "is_fading",
    "is_los",
]

#: channel models: ``awgn`` (h = 1), ``rayleigh`` (flat, Doppler-correlated), the
#: TR 38.901 tapped-delay-line and clustered-delay-line profiles
MODELS = (
    "awgn",
    "rayleigh",
    *(f"tdl-{x}" for x in "abcde"),
    *(f"cdl-{x}" for x in "abcde"),
)
ESTIMATORS = ("perfect", "ls", "lmmse")
COMBINING = ("chase", "ir")
LINK_ADAPTATION = ("fixed", "illa", "olla")
MODES = ("abstract", "link")
#: 38.214 PUSCH MCS tables (transform precoding off): 1 = 64-QAM (Table 5.1.3.1-1),
#: 2 = 256-QAM (Table 5.1.3.1-2). Table 3 (low-SE 64-QAM) is not offered: Sionna 2.2
#: ships neither PUSCH BLER tables nor EESM betas for it (abstract mode could not model it).
MCS_TABLES = (1, 2)
#: numerologies mu = 0..3 (15 kHz * 2^mu); the slot lasts 1 ms / 2^mu
SUBCARRIER_SPACINGS_HZ = (15e3, 30e3, 60e3, 120e3)
#: highest MCS index of each 38.214 table (28 = 64-QAM 948/1024 in table 1)
MAX_MCS = {1: 28, 2: 27}
#: MCS indices Sionna 2.2 ships PUSCH BLER tables for (sionna/sys/bler_tables/PUSCH_table*.json;
#: checked against the loaded tables in the tests)
ABSTRACT_MCS = {1: range(3, 28), 2: range(9, 28)}


def is_fading(model: str) -> bool:
    """Whether ``model`` has a time-varying channel (everything but ``awgn``)."""
    return model != "awgn"


def is_los(model: str) -> bool:
    """Line-of-sight profiles (TDL/CDL D and E: Rician first tap/cluster)."""
    return model[-1] in "de" and model.startswith(("tdl", "cdl"))


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """``value`` as an int in ``[lo, hi]`` (TypeError for non-ints, bools included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        upper = "" if hi is None else f", {hi}"
        raise ValueError(f"{name} must lie in [{lo}{upper}], got {value}")
    return value


def validate(ch: Any) -> dict[str, Any]:
    """Check every field of an :class:`channel.nr.NR` and return the normalised values
    (floats for physical quantities); raises ValueError/TypeError naming the field."""
    out: dict[str, Any] = {}
    out["snr_db"] = check_finite("snr_db", ch.snr_db)
    model = ch.model.lower() if isinstance(ch.model, str) else ch.model
    check_one_of("model", model, MODELS)
    out["model"] = model
    if ch.speed_mps is None:
        out["speed_mps"] = None
    else:
        speed = check_non_negative("speed_mps", ch.speed_mps)
        if model == "awgn":
            raise ValueError(
                "speed_mps: the awgn model has no fading to move through; "
                "leave speed_mps unset (None) or pick a fading model (rayleigh, tdl-*, cdl-*)"
            )
        out["speed_mps"] = speed
    if ch.delay_spread_s is None:
        out["delay_spread_s"] = None
    else:
        ds = check_positive("delay_spread_s", ch.delay_spread_s)
        if not model.startswith(("tdl", "cdl")):
            raise ValueError(
                f"delay_spread_s applies to tdl-*/cdl-* models only, not {model!r}; leave it unset"
            )
        if ds > 5e-6:
            raise ValueError(f"delay_spread_s must be <= 5e-6 s (38.901 range), got {ds}")
        out["delay_spread_s"] = ds
    out["carrier_hz"] = check_positive("carrier_hz", ch.carrier_hz)
    if not 0.4e9 <= out["carrier_hz"] <= 100e9:
        raise ValueError(f"carrier_hz must lie in [4e8, 1e11] (NR bands), got {ch.carrier_hz}")
    scs = check_positive("subcarrier_spacing_hz", ch.subcarrier_spacing_hz)
    if scs not in SUBCARRIER_SPACINGS_HZ:
        raise ValueError(
            f"subcarrier_spacing_hz must be one of {[int(s) for s in SUBCARRIER_SPACINGS_HZ]}, "
            f"got {ch.subcarrier_spacing_hz}"
        )
    out["subcarrier_spacing_hz"] = scs
    check_int("n_prb", ch.n_prb, 1, 275)
    check_int("n_symbols", ch.n_symbols, 4, 14)
    check_int("dmrs_additional_position", ch.dmrs_additional_position, 0, 3)
    check_one_of("mcs_table", ch.mcs_table, MCS_TABLES)
    check_int("mcs_index", ch.mcs_index, 0, MAX_MCS[ch.mcs_table])
    if ch.mode == "abstract" and ch.mcs_index not in ABSTRACT_MCS[ch.mcs_table]:
        r = ABSTRACT_MCS[ch.mcs_table]
        raise ValueError(
            f"mcs_index {ch.mcs_index}: abstract mode has BLER tables (Sionna's shipped PUSCH "
            f"tables) for mcs_table {ch.mcs_table} MCS {r.start}..{r.stop - 1} only; pick one "
            "of those or mode='link'"
        )
    check_one_of("estimator", ch.estimator, ESTIMATORS)
    check_int("harq_max_tx", ch.harq_max_tx, 1, 16)
    check_one_of("harq_combining", ch.harq_combining, COMBINING)
    check_int("harq_rtt_slots", ch.harq_rtt_slots, 1, 64)
    check_one_of("link_adaptation", ch.link_adaptation, LINK_ADAPTATION)
    target = check_probability("bler_target", ch.bler_target)
    if not 0.0 < target < 1.0:
        raise ValueError(f"bler_target must lie in (0, 1), got {target}")
    out["bler_target"] = target
    out["olla_delta_up_db"] = check_positive("olla_delta_up_db", ch.olla_delta_up_db)
    check_one_of("mode", ch.mode, MODES)
    out["delay_s"] = check_non_negative("delay_s", ch.delay_s)
    check_int("num_iter", ch.num_iter, 1, 100)
    if ch.mode == "link" and ch.harq_combining == "ir" and ch.harq_max_tx > 1:
        raise ValueError(
            "harq_combining='ir' is abstract-mode only (link mode combines LLRs: Chase); "
            "use harq_combining='chase' or mode='abstract'"
        )
    return out


def doppler_hz(speed_mps: float, carrier_hz: float) -> float:
    """Maximum Doppler shift ``f_d = v f_c / c`` in Hz."""
    return speed_mps * carrier_hz / 299_792_458.0


def numerology(subcarrier_spacing_hz: float) -> int:
    """``mu`` with ``scs = 15 kHz * 2^mu``."""
    return int(round(math.log2(subcarrier_spacing_hz / 15e3)))
