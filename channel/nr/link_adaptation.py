"""MCS selection: fixed, inner-loop (ILLA) and outer-loop (OLLA) link adaptation with
Sionna SYS's :class:`~sionna.sys.InnerLoopLinkAdaptation` and
:class:`~sionna.sys.OuterLoopLinkAdaptation` over the same BLER tables as the abstraction.

- ``fixed``: ``mcs_index`` always;
- ``illa``: the highest MCS whose table TBLER at the known mean SNR (``snr_db``, as an
  AWGN effective SINR over the grant's data REs) is at most ``bler_target``: no fading
  margin;
- ``olla``: ILLA at ``snr_db - offset``; the offset rises by ``delta_up`` dB on each NACK
  of a first transmission and falls by ``delta_up * t / (1 - t)`` on each ACK
  (``t = bler_target``), so the first-transmission BLER converges towards ``t``.

The MCS is chosen for each new TB from the state at that time; the offset steps through
first-transmission ACK/NACKs in slot order as they come back (one HARQ round trip
later, see :mod:`channel.nr.harq`), across the images of a stream. Retransmissions keep
the TB's original MCS. With OLLA, ``sinr_eff`` fed to Sionna is the known mean SNR, so
the offset learns the fading and estimation margin.
"""

from __future__ import annotations

__all__ = ["LinkAdapter"]


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
        self.n_data_re = n_data_re
        self.bler_target = bler_target
        self.delta_up_db = delta_up_db
        self._olla = None
        self._cached: tuple[float, int] | None = None  # (offset, mcs) of the last select
        if mode == "olla":
            from sionna.sys import OuterLoopLinkAdaptation

            from channel.nr.abstraction import phy_abstraction

            self._olla = OuterLoopLinkAdaptation(
                phy_abstraction(),
                num_ut=1,
                bler_target=bler_target,
                delta_up=delta_up_db,
                sinr_eff_init=10.0 ** (snr_db / 10.0),
            )

    @property
    def offset_db(self) -> float:
        """OLLA's SINR offset (0 for fixed/ILLA)."""
        return 0.0 if self._olla is None else float(self._olla.offset.reshape(-1)[0])

    def select(self) -> int:
        """MCS index for the next TB (cached while the OLLA offset does not move)."""
        if self.mode == "fixed":
            return self.mcs_index
        if self._cached is not None and self._cached[0] == self.offset_db:
            return self._cached[1]
        import torch

        re = torch.tensor([self.n_data_re], dtype=torch.int32)
        if self._olla is not None:
            mcs = self._olla(re, harq_feedback=torch.tensor([-1]), mcs_table_index=self.mcs_table)
        else:
            mcs = _illa(self.bler_target)(
                sinr_eff=torch.tensor([10.0 ** (self.snr_db / 10.0)]),
                num_allocated_re=re,
                mcs_table_index=self.mcs_table,
            )
        out = int(mcs.reshape(-1)[0])
        self._cached = (self.offset_db, out)
        return out

    def update(self, first_tx_ok) -> None:
        """Step OLLA's offset through first-transmission ACKs (True) / NACKs (False)."""
        if self._olla is None or len(first_tx_ok) == 0:
            return
        import torch

        # Sionna's update is additive and clipped at [offset_min, offset_max]; applying
        # the steps one by one keeps that clipping exact (cheap: a few per image)
        re = torch.tensor([self.n_data_re], dtype=torch.int32)
        for a in first_tx_ok:
            self._olla(
                re, harq_feedback=torch.tensor([1 if a else 0]), mcs_table_index=self.mcs_table
            )


_ILLA: dict = {}


def _illa(bler_target: float):
    if bler_target not in _ILLA:
        from sionna.sys import InnerLoopLinkAdaptation

        from channel.nr.abstraction import phy_abstraction

        _ILLA[bler_target] = InnerLoopLinkAdaptation(phy_abstraction(), bler_target=bler_target)
    return _ILLA[bler_target]
