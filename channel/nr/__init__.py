"""5G NR PUSCH uplink built from Sionna 2.2's blocks: ``channel.make("nr", ...)``.

Modules: :mod:`~channel.nr.config` (parameters, validation), :mod:`~channel.nr.allocation`
(38.214 TB sizing, slot timing, segmentation), :mod:`~channel.nr.fading` (TDL/CDL/
Rayleigh realisations evolving with Doppler), :mod:`~channel.nr.abstraction` (per-RE
SINR, EESM, BLER tables, HARQ combining), :mod:`~channel.nr.harq` (HARQ scheduling),
:mod:`~channel.nr.link_adaptation` (fixed/ILLA/OLLA), :mod:`~channel.nr.link` (bit-true
PUSCH chain), :mod:`~channel.nr.channel` (the :class:`NR` model). Sionna is imported
only when a channel is first used, never by ``import channel.nr``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["NR", "NRStream"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("channel.nr.channel"), name)
    raise AttributeError(f"module 'channel.nr' has no attribute {name!r}")
