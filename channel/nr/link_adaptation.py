"""MCS selection: fixed, inner-loop (ILLA) and outer-loop (OLLA) link adaptation, with
Sionna SYS's :class:`~sionna.sys.InnerLoopLinkAdaptation` over the same BLER tables as
the abstraction.

- ``fixed``: ``mcs_index`` always;
- ``illa``: the highest MCS whose table TBLER at the known mean SNR (``snr_db``, as the
  effective SINR of the grant's data REs) is at most ``bler_target``: no fading margin;
- ``olla``: ILLA at ``snr_db - offset``; the offset rises by ``delta_up`` dB on each NACK
  of a first transmission and falls by ``delta_down = delta_up t / (1 - t)`` on each ACK
  (``t = bler_target``), clipped to [-20, 20] dB, so the first-transmission BLER
  converges towards ``t`` (Sionna's :class:`~sionna.sys.OuterLoopLinkAdaptation` rule
  and defaults, with the known mean SNR as its ``sinr_eff``: the offset learns the
  fading and estimation margin).

Why the OLLA step is written here: Sionna's OLLA re-runs ILLA over every MCS on each
feedback (~15 ms on these CPUs, minutes for one stream of images). Here ILLA is run once,
batched over a 0.05 dB SINR grid, giving the MCS for any SINR; the offset update is the
three-line rule above. A test checks offsets and MCSs against Sionna's OLLA block.

The MCS is chosen for each new TB from the state at that time; the offset steps through
first-transmission ACK/NACKs in slot order as they come back (one HARQ round trip later,
see :mod:`channel.nr.harq`), across the images of a stream. Retransmissions keep the TB's
original MCS.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["LinkAdapter", "OFFSET_MIN_DB", "OFFSET_MAX_DB"]

#: Sionna's OuterLoopLinkAdaptation defaults
OFFSET_MIN_DB, OFFSET_MAX_DB = -20.0, 20.0
_GRID_DB = np.arange(-30.0, 50.0, 0.05)


class LinkAdapter:
    """MCS choice and OLLA state for one stream of images (not thread-safe).

    :param mode: ``"fixed"``, ``"illa"`` or ``"olla"``.
    :param mcs_index: the MCS of ``fixed``.
    :param mcs_table: 38.214 MCS table (1 or 2).
    :param snr_db: mean Es/N0 per RE the scheduler knows.
    :param n_data_re: data REs of one grant (sets the code-block size of the tables).
    :param bler_target: first-transmission BLER target of ILLA/OLLA.
    :param delta_up_db: OLLA step on a NACK.
    """

    def __init__(
        self,
        mode: str,
        *,
        mcs_index: int,
        mcs_table: int,
        snr_db: float,
        n_data_re: int,
        bler_target: float,
        delta_up_db: float,
    ) -> None:
        self.mode = mode
        self.mcs_index = mcs_index
        self.mcs_table = mcs_table
        self.snr_db = snr_db
        self.bler_target = bler_target
        self.delta_up_db = delta_up_db
        self.delta_down_db = delta_up_db * bler_target / (1.0 - bler_target)
        self.offset_db = 0.0
        self._map = None if mode == "fixed" else _mcs_map(n_data_re, mcs_table, bler_target)

    def mcs_at(self, sinr_db: float) -> int:
        """ILLA's MCS at effective SINR ``sinr_db`` (nearest 0.05 dB grid point)."""
        i = int(np.clip(np.rint((sinr_db - _GRID_DB[0]) / 0.05), 0, len(_GRID_DB) - 1))
        return int(self._map[i])

    def select(self) -> int:
        """MCS index for the next TB."""
        if self._map is None:
            return self.mcs_index
        return self.mcs_at(self.snr_db - self.offset_db)

    def update(self, first_tx_ok: Sequence[bool]) -> None:
        """Step OLLA's offset through first-transmission ACKs (True) / NACKs (False)."""
        if self.mode != "olla":
            return
        off = self.offset_db
        for ack in first_tx_ok:
            off += -self.delta_down_db if ack else self.delta_up_db
            off = min(max(off, OFFSET_MIN_DB), OFFSET_MAX_DB)
        self.offset_db = off


_MAPS: dict = {}


def _mcs_map(n_data_re: int, mcs_table: int, bler_target: float) -> np.ndarray:
    """Sionna ILLA's MCS on :data:`_GRID_DB` (one batched call, cached)."""
    key = (n_data_re, mcs_table, bler_target)
    if key not in _MAPS:
        import torch
        from sionna.sys import InnerLoopLinkAdaptation

        from channel.nr.abstraction import phy_abstraction

        illa = InnerLoopLinkAdaptation(phy_abstraction(), bler_target=bler_target)
        sinr = torch.tensor(10.0 ** (_GRID_DB / 10.0), dtype=torch.float32)[:, None]
        re = torch.full_like(sinr, n_data_re, dtype=torch.int32)
        mcs = illa(sinr_eff=sinr, num_allocated_re=re, mcs_table_index=mcs_table)
        _MAPS[key] = mcs.reshape(-1).numpy().astype(np.int64)
    return _MAPS[key]
