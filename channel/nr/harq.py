"""HARQ scheduling of one image's transport blocks over consecutive slots.

Why hand-written: Sionna simulates one slot at a time and leaves the HARQ process
bookkeeping (which TB goes in which slot, when a NACKed TB comes back) to the caller.

Model: one PUSCH grant per slot. A NACKed TB is retransmitted ``rtt_slots`` slots after
its previous transmission, up to ``max_tx`` transmissions in all; a retransmission that
is due has priority over a new TB; new TBs go out in order; slots with nothing due and
no new TB are idle. NR's 16 HARQ processes never stall this pipeline for
``rtt_slots <= 16`` (at most ``rtt_slots`` TBs await feedback at a time).

Transmissions are decoded in windows of ``window_slots <= rtt_slots`` slots: which TB
occupies a slot depends only on outcomes at least ``rtt_slots`` earlier, so each window
is one batch for the caller's ``decode``, and feedback (OLLA) from one window reaches
the new TBs of the next (a feedback delay of about one RTT). Without HARQ and OLLA a
whole image can be one batch.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["HarqResult", "run_harq"]


@dataclass(frozen=True)
class HarqResult:
    """Outcome of :func:`run_harq` (slots counted from the image's first slot).

    :param ok: ``[n_tb]`` decoded (ACK) within ``max_tx`` transmissions.
    :param n_tx: ``[n_tb]`` transmissions used.
    :param done_slot: ``[n_tb]`` slot of the last transmission (ACK or final NACK).
    :param first_ok: ``[n_tb]`` the first transmission was decoded.
    :param tx_slot, tx_tb, tx_index, tx_ok: one entry per transmission, in slot order.
    """

    ok: np.ndarray
    n_tx: np.ndarray
    done_slot: np.ndarray
    first_ok: np.ndarray
    tx_slot: np.ndarray
    tx_tb: np.ndarray
    tx_index: np.ndarray
    tx_ok: np.ndarray

    @property
    def n_transmissions(self) -> int:
        return int(self.n_tx.sum())

    @property
    def n_slots(self) -> int:
        """Slots from the first transmission to the last decode, idle slots included."""
        return int(self.done_slot.max()) + 1 if len(self.done_slot) else 0


Decode = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def run_harq(
    new_tb: Callable[[], bool],
    max_tx: int,
    rtt_slots: int,
    decode: Decode,
    window_slots: int | None = None,
) -> HarqResult:
    """Schedule TBs until ``new_tb()`` says the payload is exhausted.

    :param new_tb: called when a slot is free for a new TB; True if one was created
        (TBs are numbered 0, 1, ... in creation order), False when no payload is left.
    :param decode: ``decode(slots, tbs, tx_index) -> ok`` decodes one batch of
        transmissions (``tx_index`` 0 = first transmission), a bool per entry.
    :param window_slots: batch length, at most (and by default) ``rtt_slots``.
    """
    window = rtt_slots if window_slots is None else min(window_slots, rtt_slots)
    if max_tx == 1 and window_slots is None:
        window = 1 << 30  # nothing comes back: one batch
    ready: list[tuple[int, int]] = []  # (slot a retransmission is due, tb)
    n_tx: list[int] = []
    ok: list[bool] = []
    first_ok: list[bool] = []
    done: list[int] = []
    log: list[tuple[np.ndarray, ...]] = []
    slot = 0
    more = True
    while more or ready:
        end = slot + window
        slots, tbs = [], []
        s = slot
        while s < end:
            if ready and ready[0][0] <= s:
                tb = heapq.heappop(ready)[1]
            else:
                more = more and new_tb()
                if more:
                    tb = len(n_tx)
                    n_tx.append(0)
                    ok.append(False)
                    first_ok.append(False)
                    done.append(-1)
                elif ready:
                    s = ready[0][0]  # idle until the next retransmission is due
                    continue
                else:
                    break
            slots.append(s)
            tbs.append(tb)
            s += 1
        if not slots:  # every pending retransmission lies beyond this window
            slot = max(s, end)
            continue
        sl = np.asarray(slots, dtype=np.int64)
        tb_arr = np.asarray(tbs, dtype=np.int64)
        idx = np.asarray([n_tx[t] for t in tbs], dtype=np.int64)
        res = np.asarray(decode(sl, tb_arr, idx), dtype=bool)
        for sj, tj, ij, rj in zip(
            sl.tolist(), tb_arr.tolist(), idx.tolist(), res.tolist(), strict=True
        ):
            n_tx[tj] += 1
            if ij == 0:
                first_ok[tj] = rj
            if rj:
                ok[tj] = True
                done[tj] = sj
            elif ij + 1 < max_tx:
                heapq.heappush(ready, (sj + rtt_slots, tj))
            else:
                done[tj] = sj
        log.append((sl, tb_arr, idx, res))
        slot = min(s, end)  # retransmissions from this window fall due from ``end`` on
    if log:
        cat = [np.concatenate(c) for c in zip(*log, strict=True)]
    else:
        cat = [np.zeros(0, dtype=np.int64)] * 3 + [np.zeros(0, dtype=bool)]
    return HarqResult(
        np.asarray(ok, dtype=bool),
        np.asarray(n_tx, dtype=np.int64),
        np.asarray(done, dtype=np.int64),
        np.asarray(first_ok, dtype=bool),
        *cat,
    )
