"""Abstract-mode decoding of HARQ transmissions: per-RE SINR of the image's channel
realisation, combined over a TB's transmissions, EESM, table TBLER, one uniform draw
per transmission (see :mod:`channel.nr.abstraction` for the maths)."""

from __future__ import annotations

import numpy as np

from channel.base import derive_seed
from channel.nr.abstraction import combine, post_eq_sinr, pusch_grid, tbler

__all__ = ["AbstractDecoder"]


class AbstractDecoder:
    """``decode(slots, tbs, tx_index) -> ok`` for :func:`channel.nr.harq.run_harq`.

    :param ch: the :class:`channel.nr.NR` configuration.
    :param seed: the image's seed (fading ``derive_seed(seed, 1)``, draws ``(seed, 2)``).

    The call takes a fourth argument, ``allocs``: the grant
    (:class:`channel.nr.allocation.Allocation`) of every TB so far, by TB number.
    """

    def __init__(self, ch, seed: int) -> None:
        self.ch = ch
        self.fading = ch.fading()
        self.fading_seed = derive_seed(seed, 1)
        self.rng = np.random.default_rng(derive_seed(seed, 2))
        self.grid = pusch_grid(
            ch.n_prb,
            ch.n_symbols,
            ch.mcs_index,
            ch.mcs_table,
            ch.subcarrier_spacing_hz,
            ch.dmrs_additional_position,
        )
        self.sinr = np.zeros((0, 14, 12 * ch.n_prb), dtype=np.float32)
        self.history: dict[int, list[int]] = {}
        self.first_p: list[float] = []
        self.first_eff_db: list[float] = []

    def reserve(self, n_slots: int) -> None:
        """Generate the realisation for ``n_slots`` slots now (a guess; extended later)."""
        self._ensure(n_slots)

    def _ensure(self, n_slots: int) -> None:
        if n_slots <= len(self.sinr):
            return
        n = max(n_slots, 2 * len(self.sinr), 8)
        h = self.fading.response(self.fading_seed, n)  # same realisation, longer
        self.sinr = post_eq_sinr(h, self.ch.snr_db, self.ch.estimator, self.grid, self.fading)

    def __call__(
        self, slots: np.ndarray, tbs: np.ndarray, tx_index: np.ndarray, allocs: list
    ) -> np.ndarray:
        self._ensure(int(slots.max()) + 1)
        grids = []
        for s, tb in zip(slots.tolist(), tbs.tolist(), strict=True):
            past = self.history.setdefault(tb, [])
            past.append(s)
            grids.append(
                self.sinr[s] if len(past) == 1 else combine(self.sinr[past], self.ch.harq_combining)
            )
        stack = np.stack(grids)
        p = np.empty(len(grids))
        eff_db = np.empty(len(grids))
        mcs = np.array([allocs[t].mcs_index for t in tbs.tolist()])
        for m in np.unique(mcs).tolist():  # one table lookup per MCS in the batch
            sel = mcs == m
            a = allocs[int(tbs[sel][0])]
            p[sel], eff_db[sel] = tbler(stack[sel], a)
        first = tx_index == 0
        self.first_p.extend(p[first].tolist())
        self.first_eff_db.extend(eff_db[first].tolist())
        return self.rng.random(len(p)) >= p

    def stats(self) -> dict:
        p = np.asarray(self.first_p)
        e = np.asarray(self.first_eff_db)
        return {
            "expected_first_tx_bler": float(p.mean()) if p.size else 0.0,
            "mean_effective_sinr_db": float(e.mean()) if e.size else float("nan"),
        }
