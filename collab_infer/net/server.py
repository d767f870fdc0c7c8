"""``collab-infer serve``: the server role behind a UDP socket, with dynamic batching.

Per datagram (protocol: :mod:`collab_infer.net.protocol`), in this order, each refusal
dropped and counted (:data:`~collab_infer.net.metrics.DROP_REASONS`), never raised:
size (``max_datagram_bytes``) -> client table and token bucket -> HMAC tag (with a key)
-> ``codec.parse_packet(packet, expect=server.expect)`` (CRC, layout, the model's N x D)
-> admission and reassembly (:class:`~collab_infer.net.inflight.ReceiveTable`).

A payload is ready when all its P packets arrived, or ``reassembly_timeout_s`` after
its last packet. Ready payloads queue for the captioner; a batch starts with the first
one waiting and takes every payload that arrives within ``max_wait_ms`` (or is already
waiting), up to ``max_batch``; then, on one worker thread (the model is not shared
between threads), each payload is reassembled (``codec.reassemble(..., expect=,
payload_id=)``), concealed (``codec.conceal``), rebuilt and the batch captioned with
one ``Server.caption`` call (the model's batched ``generate``). Each payload's reply
carries its caption, receive statistics and timings.

>>> net = NetServer(Server(load("default")), port=5550)       # doctest: +SKIP
>>> asyncio.run(net.run())                                     # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from collab_infer.net.inflight import Address, Ready, ReceiveTable
from collab_infer.net.limits import Limits
from collab_infer.net.metrics import Metrics, serve_metrics
from collab_infer.net.protocol import DATA, REPLY, encode_reply, seal, unseal

if TYPE_CHECKING:
    from collab_infer.server import Server

__all__ = ["NetServer"]

log = logging.getLogger(__name__)
_RCVBUF_BYTES = 4 * 2**20


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: NetServer) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.owner._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        self.owner.metrics.counts["socket_errors"] += 1


class NetServer:
    """The network server around an in-process :class:`collab_infer.server.Server`.

    :param server: the server role (model, concealment, generation settings, expect)
    :param limits: what it accepts (:class:`Limits`)
    :param key: shared key (HMAC-SHA256 on every datagram), or None
    :param host: address to bind (default localhost)
    :param port: UDP port (0: any free port; :attr:`address` tells which)
    :param metrics_port: TCP port of the HTTP metrics endpoint: None for the UDP port's
        number, 0 for any free port
    :param metrics: serve the HTTP endpoint at all
    """

    def __init__(
        self,
        server: Server,
        *,
        limits: Limits | None = None,
        key: bytes | None = None,
        host: str = "127.0.0.1",
        port: int = 5550,
        metrics_port: int | None = None,
        metrics: bool = True,
    ) -> None:
        if key is not None and len(key) < 16:
            raise ValueError(f"key must hold at least 16 bytes, got {len(key)}")
        self.server = server
        self.limits = limits or Limits()
        self.key = key
        self.host, self.port = host, port
        self.metrics_port, self.with_metrics = metrics_port, metrics
        self.metrics = Metrics()
        self.table = ReceiveTable(self.limits, server.expect)
        self.address: tuple[str, int] | None = None
        self.metrics_address: tuple[str, int] | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._queue: asyncio.Queue[Ready] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._http: asyncio.Server | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caption")
        self._stop = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the UDP socket (and the metrics endpoint) and start the batcher."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(_family(self.host), socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF_BYTES)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=sock)
        self.address = sock.getsockname()[:2]
        if self.with_metrics:
            port = self.address[1] if self.metrics_port is None else self.metrics_port
            self._http = await serve_metrics(
                self.host, port, self.snapshot, self.limits.max_metrics_connections
            )
            self.metrics_address = self._http.sockets[0].getsockname()[:2]
        self._tasks = [
            asyncio.create_task(self._batcher(), name="batcher"),
            asyncio.create_task(self._expirer(), name="expirer"),
        ]

    async def close(self) -> None:
        """Stop receiving, finish nothing new, release the socket and the worker."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._transport is not None:
            self._transport.close()
        if self._http is not None:
            self._http.close()
            await self._http.wait_closed()
        self._executor.shutdown(wait=True)

    def stop(self) -> None:
        """Make :meth:`run` return (signal handlers call this)."""
        self._stop.set()

    async def wait_stopped(self, duration_s: float | None = None) -> None:
        """Return after :meth:`stop` or ``duration_s`` seconds (None: no limit)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), duration_s)

    async def run(self, duration_s: float | None = None) -> None:
        """Start, serve until :meth:`stop` (or ``duration_s``), close."""
        await self.start()
        try:
            await self.wait_stopped(duration_s)
        finally:
            await self.close()

    async def __aenter__(self) -> NetServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def snapshot(self) -> dict:
        """The metrics endpoint's JSON (counters, batch sizes, latency windows, tables)."""
        return self.metrics.snapshot(self.table.snapshot())

    # -- receive path ------------------------------------------------------------------
    def _on_datagram(self, data: bytes, addr: Address) -> None:
        m = self.metrics
        m.counts["datagrams"] += 1
        m.counts["bytes"] += len(data)
        try:
            self._accept(data, addr, time.monotonic())
        except Exception:  # noqa: BLE001 - the datagram boundary never raises
            m.drop("internal_error")
            if m.dropped["internal_error"] <= 10:
                log.exception("datagram from %s dropped by an internal error", addr)

    def _accept(self, data: bytes, addr: Address, now: float) -> None:
        import codec

        m = self.metrics
        if len(data) > self.limits.max_datagram_bytes:
            return m.drop("oversized")
        reason = self.table.admit_datagram(addr, now)
        if reason is not None:
            return m.drop(reason)
        body = unseal(self.key, data, DATA)
        if body is None:
            return m.drop("unauthenticated")
        try:
            parsed = codec.parse_packet(body, expect=self.server.expect)
        except codec.PayloadError:
            return m.drop("malformed")
        outcome, ready = self.table.offer(addr, body, parsed, now)
        if outcome in ("started", "stored"):
            m.counts["packets_accepted"] += 1
            m.counts["payloads_started"] += outcome == "started"
        elif outcome == "refuse":
            m.drop("busy")
            reason = "too many payloads in flight (per client or in total); retry later"
            self._send(
                addr, parsed.payload_id, {"status": "refused", "caption": "", "reason": reason}
            )
            m.counts["replies_refused"] += 1
        else:
            m.drop(outcome)
        if ready is not None:
            self._enqueue(ready)

    def _enqueue(self, ready: Ready) -> None:
        self.metrics.counts["payloads_complete" if ready.complete else "payloads_timed_out"] += 1
        self._queue.put_nowait(ready)

    async def _expirer(self) -> None:
        period = min(0.05, self.limits.reassembly_timeout_s / 4)
        while True:
            await asyncio.sleep(period)
            for ready in self.table.expire(time.monotonic()):
                self._enqueue(ready)

    # -- captioning --------------------------------------------------------------------
    async def _batcher(self) -> None:
        loop = asyncio.get_running_loop()
        lim = self.limits
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + lim.max_wait_ms / 1000
            while len(batch) < lim.max_batch:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), left))
                except asyncio.TimeoutError:
                    break
            start = time.monotonic()
            try:
                results = await loop.run_in_executor(self._executor, self._caption_batch, batch)
            except Exception as exc:  # noqa: BLE001 - the batcher never dies: answer "error"
                log.exception("batch of %d failed", len(batch))
                reason = str(exc)[:200]
                results = [{"status": "error", "caption": "", "reason": reason} for _ in batch]
            generate_s = time.monotonic() - start
            self.metrics.batch_sizes[len(batch)] += 1
            self.metrics.generate_s.add(generate_s)
            for ready, fields in zip(batch, results, strict=True):
                queue_s = start - ready.ready_s
                self.metrics.queue_s.add(queue_s)
                fields.update(
                    batch_size=len(batch),
                    reassembly_s=ready.ready_s - ready.first_s,
                    queue_s=queue_s,
                    generate_s=generate_s,
                    packets_duplicate=ready.duplicates,
                    complete=int(ready.complete),
                )
                fields["server_s"] = time.monotonic() - ready.first_s
                self.metrics.latency_s.add(fields["server_s"])
                self._send(ready.addr, ready.payload_id, fields)
                self.metrics.counts["requests"] += 1
                self.metrics.counts["replies_" + fields["status"]] += 1
                self.table.release(ready.addr)

    def _caption_batch(self, batch: list[Ready]) -> list[dict[str, Any]]:
        """Worker thread: reassemble, conceal, rebuild and caption (one generate call;
        on a failure, one call per payload so one bad payload fails alone)."""
        received = [self._receive(r) for r in batch]
        if all(p is not None for p, _ in received):
            try:
                captions = self.server.caption([p for p, _ in received])
                return [
                    {"status": "ok", "caption": c, **s}
                    for c, (_, s) in zip(captions, received, strict=True)
                ]
            except Exception:  # noqa: BLE001 - fall back to one payload at a time
                log.exception("batch of %d failed; captioning one at a time", len(batch))
        out = []
        for payload, stats in received:
            if payload is None:
                out.append({"status": "error", "caption": "", **stats})
                continue
            try:
                out.append({"status": "ok", "caption": self.server.caption([payload])[0], **stats})
            except Exception as exc:  # noqa: BLE001 - reported to the edge, counted
                out.append({"status": "error", "caption": "", "reason": str(exc)[:200], **stats})
        return out

    def _receive(self, ready: Ready) -> tuple[Any, dict[str, Any]]:
        """``(payload, stats)``; payload None (and a reason) if reassembly itself failed."""
        import codec

        s, expect = self.server, self.server.expect
        received = sum(p is not None for p in ready.packets)
        try:
            r = codec.reassemble(ready.packets, expect=expect, payload_id=ready.payload_id)
            payload = codec.conceal(r, s.vector_fill, s.index_fill, s.subset_lost, expect=expect)
        except Exception as exc:  # noqa: BLE001 - codec promises PayloadError; never fatal
            log.exception("reassembly of payload %d failed", ready.payload_id)
            return None, {"packets_expected": len(ready.packets), "reason": str(exc)[:200]}
        return payload, {
            "packets_expected": len(ready.packets),
            "packets_received": received,
            "packets_lost": len(ready.packets) - received,
            "packets_corrupted": r.packets_corrupted,
            "packets_foreign": r.packets_foreign,
            "vectors_missing": int(r.missing_vectors.sum()) if r.payload is not None else -1,
            "indices_missing": int(r.missing_indices.sum()) if r.payload is not None else -1,
        }

    def _send(self, addr: Address, payload_id: int, fields: dict[str, Any]) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.sendto(seal(self.key, encode_reply(payload_id, fields), REPLY), addr)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
