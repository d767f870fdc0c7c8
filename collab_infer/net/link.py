"""``collab-infer link``: a UDP proxy that puts any channel model of the suite on real
datagrams (loss, bit errors, airtime pacing and delay).

Each client address (an edge) gets its own link: its own upstream socket towards
``forward`` (so the server's replies find their way back), its own channel process
``channel.stream(derive_seed(seed, client number))`` (a Gilbert-Elliott chain carries
its state from datagram to datagram, so bursts span packets and images), and its own
transmitter clock. Whenever the listening socket is readable, everything waiting in it
is read (up to 512 datagrams) and each client's datagrams, in arrival order, go through
one ``stream.transmit(datagrams, derive_seed(seed, client, call))`` (channel models are
vectorised over packets: about 0.3-0.5 ms per call here, whatever its size, so a busy
link batches and keeps up). Lost -> dropped; damaged bytes -> forwarded damaged (the
server's HMAC or CRC check refuses them); kept -> forwarded when it has been on the
air: the call's ``airtime_s`` starts when the link is free (``max(now, previous end)``)
and is shared by the datagrams in proportion to their bytes, each one arriving at the
end of its share plus the model's delay (``latency_s - airtime_s``). Which datagrams
share a call depends on arrival timing, so realisations are not reproducible from the
seed alone (their statistics are). Replies travel back unimpaired and undelayed.

Linux netem is the kernel's alternative for loss / delay / rate (not for the suite's
PHY models): inside a network namespace, ``tc qdisc add dev lo root netem loss 10%
delay 5ms rate 10mbit`` impairs every packet on that namespace's loopback (README).

>>> proxy = LinkProxy(("127.0.0.1", 5560), ("127.0.0.1", 5550),
...                   channel.make("erasure", loss=0.1))          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from typing import Any

from channel.base import derive_seed

__all__ = ["LinkProxy"]

log = logging.getLogger(__name__)
#: most datagrams read per readiness event
_MAX_READ = 512
_RCVBUF_BYTES = 4 * 2**20


class _Upstream(asyncio.DatagramProtocol):
    """One client's socket towards the server: replies go back to the client."""

    def __init__(self, proxy: LinkProxy, client: Any) -> None:
        self.proxy, self.client = proxy, client

    def datagram_received(self, data: bytes, addr: Any) -> None:
        p = self.proxy
        p.counts["replies"] += 1
        if p._sock is not None:
            try:
                p._sock.sendto(data, self.client)
            except OSError:  # full send buffer or gone: the reply is lost, counted
                p.counts["replies_dropped"] += 1

    def error_received(self, exc: Exception) -> None:
        self.proxy.counts["socket_errors"] += 1


class _Link:
    __slots__ = ("number", "stream", "transport", "busy_until", "sent", "last_s")

    def __init__(self, number: int, stream: Any, transport: asyncio.DatagramTransport) -> None:
        self.number, self.stream, self.transport = number, stream, transport
        self.busy_until = 0.0
        self.sent = 0
        self.last_s = time.monotonic()


class LinkProxy:
    """The link emulator (see the module docstring).

    :param listen: ``(host, port)`` the edges send to (port 0: any free port)
    :param forward: ``(host, port)`` of the server
    :param channel: the channel model applied to every edge -> server datagram
    :param seed: seed of the channel processes
    :param max_clients: links held at once; datagrams of more clients are dropped
    :param idle_timeout_s: a client's link is closed after this long without a datagram
    """

    def __init__(
        self,
        listen: tuple[str, int],
        forward: tuple[str, int],
        channel: Any,
        *,
        seed: int = 0,
        max_clients: int = 256,
        idle_timeout_s: float = 60.0,
    ) -> None:
        if max_clients < 1 or idle_timeout_s <= 0:
            raise ValueError("max_clients must be >= 1 and idle_timeout_s > 0")
        self.listen, self.forward, self.channel = listen, forward, channel
        self.seed, self.max_clients, self.idle_timeout_s = seed, max_clients, idle_timeout_s
        self.counts: Counter[str] = Counter()
        self.links: dict[Any, _Link] = {}
        self.address: tuple[str, int] | None = None
        self._sock: socket.socket | None = None
        self._clients_seen = 0
        self._reaper: asyncio.Task | None = None
        self._opening: dict[Any, asyncio.Future] = {}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(*self.listen, type=socket.SOCK_DGRAM)
        sock = socket.socket(infos[0][0], socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF_BYTES)
            sock.bind(self.listen)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.address = sock.getsockname()[:2]
        loop.add_reader(sock.fileno(), self._read_ready)
        self._reaper = asyncio.create_task(self._reap())

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for link in self.links.values():
            link.transport.close()
        self.links.clear()
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    async def __aenter__(self) -> LinkProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def stats(self) -> dict[str, Any]:
        """Datagrams in, lost, damaged, forwarded, replies; the realised loss rate."""
        c = self.counts
        return {
            **{k: c[k] for k in ("datagrams", "lost", "damaged", "forwarded", "replies", "errors")},
            "channel_calls": c["channel_calls"],
            "dropped_clients": c["dropped_clients"],
            "loss_rate": c["lost"] / c["datagrams"] if c["datagrams"] else 0.0,
            "links": len(self.links),
            "channel": self.channel.describe(),
        }

    async def _link(self, addr: Any) -> _Link | None:
        link = self.links.get(addr)
        if link is not None:
            return link
        if addr in self._opening:  # another datagram of this client opened it
            return await self._opening[addr]
        if len(self.links) >= self.max_clients:
            return None
        loop = asyncio.get_running_loop()
        opening = self._opening[addr] = loop.create_future()
        try:
            infos = await loop.getaddrinfo(*self.forward, type=socket.SOCK_DGRAM)
            up = socket.socket(infos[0][0], socket.SOCK_DGRAM)
            try:  # replies come back in bursts too
                up.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF_BYTES // 4)
                up.connect(infos[0][4])
            except OSError:
                up.close()
                raise
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Upstream(self, addr), sock=up
            )
            number = self._clients_seen
            self._clients_seen += 1
            link = _Link(number, self.channel.stream(derive_seed(self.seed, number)), transport)
            self.links[addr] = link
            opening.set_result(link)
        finally:
            if not opening.done():
                opening.set_result(None)
            del self._opening[addr]
        return link

    def _read_ready(self) -> None:
        """Read what waits in the socket; each client's datagrams go through one call."""
        by_client: dict[Any, list[bytes]] = {}
        for _ in range(_MAX_READ):
            try:
                data, addr = self._sock.recvfrom(65535)  # type: ignore[union-attr]
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.counts["socket_errors"] += 1
                break
            self.counts["datagrams"] += 1
            by_client.setdefault(addr, []).append(data)
        for addr, datagrams in by_client.items():
            link = self.links.get(addr)
            if link is not None:  # the common case: no task, order kept
                self._safe_forward(link, datagrams)
            else:
                asyncio.ensure_future(self._open_and_forward(datagrams, addr))

    async def _open_and_forward(self, datagrams: list[bytes], addr: Any) -> None:
        link = await self._link(addr)
        if link is None:
            self.counts["dropped_clients"] += len(datagrams)
            return
        self._safe_forward(link, datagrams)

    def _safe_forward(self, link: _Link, datagrams: list[bytes]) -> None:
        try:
            self._forward(link, datagrams)
        except Exception:  # noqa: BLE001 - a channel model's error drops these datagrams
            self.counts["errors"] += len(datagrams)
            if self.counts["errors"] <= 10:
                log.exception("link: datagrams dropped by an error")

    def _forward(self, link: _Link, datagrams: list[bytes]) -> None:
        c = self.counts
        link.last_s = time.monotonic()
        call = link.sent
        link.sent += 1
        c["channel_calls"] += 1
        d = link.stream.transmit(datagrams, derive_seed(self.seed, link.number, call))
        loop = asyncio.get_running_loop()
        now = loop.time()
        airtime = float(d.airtime_s)
        delay = max(float(d.latency_s) - airtime, 0.0)
        total = sum(len(x) for x in datagrams)
        start = max(now, link.busy_until)
        link.busy_until = start + airtime
        done = 0
        due: dict[float, list[bytes]] = {}  # arrival time -> datagrams, in order
        for sent, out in zip(datagrams, d.packets, strict=True):
            done += len(sent)
            if out is None:
                c["lost"] += 1
                continue
            if out != sent:
                c["damaged"] += 1
            c["forwarded"] += 1
            arrive = start + airtime * done / total + delay
            due.setdefault(arrive if arrive > now else now, []).append(out)
        for arrive, outs in due.items():
            if arrive <= now:
                _send_if_open(link.transport, outs)
            else:
                loop.call_at(arrive, _send_if_open, link.transport, outs)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout_s / 2))
            now = time.monotonic()
            for addr in [
                a for a, ln in self.links.items() if now - ln.last_s > self.idle_timeout_s
            ]:
                self.links.pop(addr).transport.close()


def _send_if_open(transport: asyncio.DatagramTransport, datagrams: list[bytes]) -> None:
    if not transport.is_closing():
        for data in datagrams:
            transport.sendto(data)
