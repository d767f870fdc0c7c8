"""Per-payload reassembly state at the server, under :class:`~collab_infer.net.limits.Limits`.

:class:`ReceiveTable` takes packets that already passed authentication and
``codec.parse_packet(packet, expect=...)``, groups them by (source address, payload id),
and hands a payload on as :class:`Ready` when all its P packets arrived, or
``reassembly_timeout_s`` after its last packet, or ``max_payload_age_s`` after its
first (the missing ones are then concealed). It owns the admission rules: payloads in
flight per client and in total (a payload counts until its reply is sent:
:meth:`ReceiveTable.release`), packet bytes per payload and in total, the client table
and its token buckets, the replay window of answered payloads. Time is passed in
(seconds, monotonic), so the table is plain synchronous code.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from collab_infer.net.limits import Limits, TokenBucket, payload_budget_bytes

if TYPE_CHECKING:
    from codec.expect import Expected
    from codec.packets import Packet

__all__ = ["ReceiveTable", "Ready", "Address"]

Address = tuple  # (host, port) or the IPv6 4-tuple, as asyncio gives it
#: refused (address, payload id) pairs remembered, so each refusal is answered once
_REFUSED_WINDOW = 4096


@dataclass
class _Pending:
    addr: Address
    payload_id: int
    n_packets: int
    first_s: float
    last_s: float
    slots: dict[tuple, bytes] = field(default_factory=dict)
    nbytes: int = 0
    duplicates: int = 0


@dataclass
class _Client:
    bucket: TokenBucket
    last_s: float
    holding: int = 0  # payloads pending or waiting for their reply


@dataclass(frozen=True)
class Ready:
    """A payload to caption.

    :param packets: P slots, the stored packets then ``None`` for each missing one
    :param complete: all P packets arrived
    """

    addr: Address
    payload_id: int
    packets: list[bytes | None]
    complete: bool
    duplicates: int
    first_s: float
    ready_s: float


def _slot(p: Packet) -> tuple:
    return (p.section, p.start, p.part, p.parts)


class ReceiveTable:
    """Reassembly buffers, client table and admission (see the module docstring)."""

    def __init__(self, limits: Limits, expect: Expected) -> None:
        self.limits = limits
        self.budget_bytes = payload_budget_bytes(expect)
        #: most packets a payload may declare (a packet is at least 16 bytes)
        self.max_packets = self.budget_bytes // 16
        self.pending: dict[tuple, _Pending] = {}
        self.clients: dict[Address, _Client] = {}
        self.answered: OrderedDict[tuple, None] = OrderedDict()
        self.refused: OrderedDict[tuple, None] = OrderedDict()
        self.buffer_bytes = 0
        self.peak_buffer_bytes = 0
        self.holding = 0
        self.started = 0

    def admit_datagram(self, addr: Address, now: float) -> str | None:
        """Rate limit and client table: None to go on, else the drop reason
        (``"rate_limited"`` or ``"too_many_clients"``)."""
        client = self.clients.get(addr)
        if client is None:
            if len(self.clients) >= self.limits.max_clients:
                self.forget_idle(now)
                if len(self.clients) >= self.limits.max_clients:
                    return "too_many_clients"
            lim = self.limits
            client = self.clients[addr] = _Client(
                TokenBucket(lim.rate_per_s, lim.rate_burst, now), now
            )
        client.last_s = now
        return None if client.bucket.take(now) else "rate_limited"

    def offer(
        self, addr: Address, packet: bytes, parsed: Packet, now: float
    ) -> tuple[str, Ready | None]:
        """Store one parsed packet. Returns ``(outcome, ready)``: outcome ``"stored"``,
        ``"duplicate"``, ``"replayed"`` (its payload was answered), ``"busy"`` (in-flight
        limits; the first refusal of a payload is ``"refuse"``: answer it) or
        ``"over_budget"`` (byte limits); ``ready`` when this packet completed its payload."""
        key = (addr, parsed.payload_id)
        state = self.pending.get(key)
        if state is None:
            if key in self.answered:
                return "replayed", None
            if key in self.refused:  # the rest of a refused payload stays refused
                return "busy", None
            if parsed.n_packets > self.max_packets:
                return "over_budget", None
            client = self.clients[addr]  # admit_datagram created it
            lim = self.limits
            if self.holding >= lim.max_inflight or client.holding >= lim.max_inflight_per_client:
                self.refused[key] = None
                if len(self.refused) > _REFUSED_WINDOW:
                    self.refused.popitem(last=False)
                return "refuse", None
            state = _Pending(addr, parsed.payload_id, parsed.n_packets, now, now)
            self.pending[key] = state
            client.holding += 1
            self.holding += 1
            self.started += 1
        slot = _slot(parsed)
        if slot in state.slots:
            state.duplicates += 1
            return "duplicate", None
        if (
            len(state.slots) >= state.n_packets
            or state.nbytes + len(packet) > self.budget_bytes
            or self.buffer_bytes + len(packet) > self.limits.max_buffer_bytes
        ):
            if not state.slots:  # nothing held: the payload was never admitted
                del self.pending[key]
                self.release(addr)
            return "over_budget", None
        state.slots[slot] = packet
        state.nbytes += len(packet)
        state.last_s = now
        self.buffer_bytes += len(packet)
        self.peak_buffer_bytes = max(self.peak_buffer_bytes, self.buffer_bytes)
        outcome = "started" if len(state.slots) == 1 else "stored"
        if len(state.slots) == state.n_packets:
            return outcome, self._finish(key, now)
        return outcome, None

    def expire(self, now: float) -> list[Ready]:
        """Payloads whose reassembly timed out (idle or too old), and forget idle clients."""
        lim = self.limits
        due = [
            key
            for key, s in self.pending.items()
            if now - s.last_s >= lim.reassembly_timeout_s
            or now - s.first_s >= lim.max_payload_age_s
        ]
        ready = [self._finish(key, now) for key in due]
        self.forget_idle(now)
        return ready

    def release(self, addr: Address) -> None:
        """A payload of ``addr`` was answered: it no longer counts as in flight."""
        self.holding = max(0, self.holding - 1)
        client = self.clients.get(addr)
        if client is not None:
            client.holding = max(0, client.holding - 1)

    def forget_idle(self, now: float) -> None:
        """Drop the state of clients idle for ``client_idle_s`` holding no payload."""
        idle = [
            a
            for a, c in self.clients.items()
            if c.holding == 0 and now - c.last_s >= self.limits.client_idle_s
        ]
        for a in idle:
            del self.clients[a]

    def _finish(self, key: tuple, now: float) -> Ready:
        state = self.pending.pop(key)
        self.buffer_bytes -= state.nbytes
        self.answered[key] = None
        if len(self.answered) > self.limits.replay_window:
            self.answered.popitem(last=False)
        stored = list(state.slots.values())
        slots: list[bytes | None] = [*stored, *([None] * (state.n_packets - len(stored)))]
        return Ready(
            state.addr,
            state.payload_id,
            slots,
            len(stored) == state.n_packets,
            state.duplicates,
            state.first_s,
            now,
        )

    def snapshot(self) -> dict[str, int]:
        """Sizes of the tables, for the metrics endpoint."""
        return {
            "inflight": self.holding,
            "reassembling": len(self.pending),
            "clients": len(self.clients),
            "buffer_bytes": self.buffer_bytes,
            "peak_buffer_bytes": self.peak_buffer_bytes,
            "payload_budget_bytes": self.budget_bytes,
            "replay_window_used": len(self.answered),
        }
