"""``collab-infer edge``: the edge role over a real socket.

:class:`EdgeClient` sends one encoded payload (``codec.encode``'s bytes) as UDP
datagrams (protocol: :mod:`collab_infer.net.protocol`), each payload under a fresh
32-bit payload id, paces them at the configured channel model's airtime (packet ``i``
leaves when the first ``i + 1`` packets' share of the model's ``airtime_s`` has
passed; the model is used for its timing and cost only: losses and bit errors happen
on the real link, e.g. ``collab-infer link``), and waits for the server's reply or
``reply_timeout_s``. :func:`caption_images` adds the model's edge half (encode,
reduce, encode the payload) and measures every stage.

Measured latency breakdown (seconds, one image): ``encode_s`` (vision tower),
``reduce_s`` (token reducer), ``codec_s`` (codec.encode + packetize), ``send_s`` (first
to last datagram sent: the pacing), ``wait_s`` (last datagram sent -> reply),
``e2e_s`` (encode start -> reply); from the server's reply ``reassembly_s``,
``queue_s``, ``generate_s``, ``server_s`` (its first packet -> reply sent); and
``network_s`` = (first datagram sent -> reply) - ``server_s``: the two one-way trips,
link emulation included.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collab_infer.net.protocol import REPLY, TAG_BYTES, decode_reply, seal, unseal

if TYPE_CHECKING:
    from PIL import Image

    from collab_infer.edge import Edge

__all__ = ["EdgeClient", "EdgeResult", "caption_images"]


@dataclass(frozen=True)
class EdgeResult:
    """One payload's round trip.

    :param status: ``"ok"``, ``"refused"``, ``"error"`` (from the server) or ``"timeout"``
    :param reply: the server's reply fields (receive statistics, timings); {} on timeout
    :param datagram_bytes: bytes sent in all datagrams (tags included)
    :param tag_bytes: HMAC tag bytes per datagram (0 without a key)
    :param airtime_s, latency_s, bits_on_air, channel_uses: the channel model's cost of
        the datagrams (what the pacing followed)
    """

    payload_id: int
    status: str
    caption: str
    packets: int
    datagram_bytes: int
    send_s: float
    wait_s: float
    rtt_s: float
    airtime_s: float = 0.0
    latency_s: float = 0.0
    bits_on_air: int = 0
    channel_uses: float = 0.0
    tag_bytes: int = 0
    reply: dict[str, Any] = field(default_factory=dict)

    @property
    def network_s(self) -> float:
        """First datagram sent -> reply, minus the server's own time (NaN on timeout)."""
        server_s = self.reply.get("server_s")
        return self.rtt_s - server_s if isinstance(server_s, int | float) else float("nan")


class _Replies(asyncio.DatagramProtocol):
    def __init__(self, client: EdgeClient) -> None:
        self.client = client

    def datagram_received(self, data: bytes, addr: Any) -> None:
        c = self.client
        body = unseal(c.key, data, REPLY)
        decoded = None if body is None else decode_reply(body)
        future = None if decoded is None else c._waiting.get(decoded[0])
        if future is None or future.done():
            c.dropped_replies += 1
            return
        future.set_result(decoded[1])

    def error_received(self, exc: Exception) -> None:  # ICMP: nobody listens there
        self.client.socket_errors += 1


class EdgeClient:
    """Sends payloads to a :class:`~collab_infer.net.server.NetServer` and awaits replies.

    :param server: ``(host, port)`` of the server (or of a ``collab-infer link`` proxy)
    :param key: the shared key, or None
    :param mtu: largest codec packet in bytes (the datagram adds the 32-byte tag)
    :param channel: a channel model whose airtime paces the packets (None: no pacing)
    :param seed: seed of the channel model's stream
    :param reply_timeout_s: how long to wait for a reply after the last datagram
    """

    def __init__(
        self,
        server: tuple[str, int],
        *,
        key: bytes | None = None,
        mtu: int = 1400,
        channel: Any = None,
        seed: int = 0,
        reply_timeout_s: float = 30.0,
    ) -> None:
        if reply_timeout_s <= 0:
            raise ValueError(f"reply_timeout_s must be > 0, got {reply_timeout_s}")
        self.server, self.key, self.mtu = server, key, mtu
        self.channel = channel
        self._stream = None if channel is None else channel.stream(seed)
        self.reply_timeout_s = reply_timeout_s
        self._next_id = secrets.randbits(32)
        self._waiting: dict[int, asyncio.Future] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self.dropped_replies = 0
        self.socket_errors = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Replies(self), remote_addr=self.server
        )

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def __aenter__(self) -> EdgeClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def packetize(self, data: bytes) -> tuple[int, list[bytes]]:
        """A fresh payload id and the codec packets of ``data`` under it."""
        import codec

        payload_id = self._next_id
        self._next_id = (self._next_id + 1) % 2**32
        return payload_id, codec.packetize(data, self.mtu, payload_id=payload_id)

    async def send(self, data: bytes, *, seed: int = 0) -> EdgeResult:
        """Send one encoded payload, paced, and wait for its reply (or time out)."""
        if self._transport is None:
            raise RuntimeError("EdgeClient not started: use 'async with EdgeClient(...)'")
        loop = asyncio.get_running_loop()
        payload_id, packets = self.packetize(data)
        datagrams = [seal(self.key, p) for p in packets]
        # the channel model prices what goes on air: the datagrams, tags included
        delivery = None if self._stream is None else self._stream.transmit(datagrams, seed)
        sizes = [len(d) for d in datagrams]
        airtime = 0.0 if delivery is None else float(delivery.airtime_s)
        future = loop.create_future()
        self._waiting[payload_id] = future
        t0 = loop.time()
        done_bytes, total = 0, sum(sizes)
        for dgram, size in zip(datagrams, sizes, strict=True):
            done_bytes += size
            delay = t0 + airtime * done_bytes / total - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._transport.sendto(dgram)
        t_sent = loop.time()
        try:
            reply = await asyncio.wait_for(future, self.reply_timeout_s)
            status = str(reply.get("status"))
        except asyncio.TimeoutError:
            reply, status = {}, "timeout"
        finally:
            self._waiting.pop(payload_id, None)
        t_reply = loop.time()
        caption = reply.get("caption", "")
        return EdgeResult(
            payload_id=payload_id,
            status=status,
            caption=caption if isinstance(caption, str) else "",
            packets=len(packets),
            datagram_bytes=total,
            send_s=t_sent - t0,
            wait_s=t_reply - t_sent,
            rtt_s=t_reply - t0,
            airtime_s=airtime,
            latency_s=0.0 if delivery is None else float(delivery.latency_s),
            bits_on_air=8 * total if delivery is None else int(delivery.bits_on_air),
            channel_uses=0.0 if delivery is None else float(delivery.channel_uses),
            tag_bytes=0 if self.key is None else TAG_BYTES,
            reply=reply,
        )


async def caption_images(
    edge: Edge, client: EdgeClient, images: list[Image.Image], *, seed: int = 0
) -> list[dict[str, Any]]:
    """Encode, reduce, encode and send each image in turn; one row per image with the
    payload's size, the channel model's cost, the server's receive statistics and the
    measured latency breakdown (see the module docstring)."""
    import codec
    from channel.base import derive_seed

    rows = []
    for i, image in enumerate(images):
        t0 = time.perf_counter()
        tokens = edge.encode([image])
        t1 = time.perf_counter()
        payload = edge.reduce(tokens, seed=seed)[0]
        t2 = time.perf_counter()
        data = codec.encode(payload, edge.number_format, edge.index_coding)
        t3 = time.perf_counter()
        result = await client.send(data, seed=derive_seed(seed, i))
        rows.append(
            result_row(result, data, int(payload.k), int(payload.n_tokens), t3 - t0 + result.rtt_s)
            | {"image": i, "encode_s": t1 - t0, "reduce_s": t2 - t1, "codec_s": t3 - t2}
        )
    return rows


def result_row(r: EdgeResult, data: bytes, k: int, n_tokens: int, e2e_s: float) -> dict[str, Any]:
    """The row of one image (the sweep's columns where they exist, plus latencies)."""
    rep = r.reply
    sent = int(rep.get("packets_expected", 0)) or r.packets
    lost = int(rep.get("packets_lost", sent if r.status == "timeout" else 0))
    return {
        "payload_id": r.payload_id,
        "status": r.status,
        "caption": r.caption,
        "k": k,
        "n_tokens": n_tokens,
        "k_over_n": k / n_tokens if n_tokens else float("nan"),
        "payload_bytes": len(data),
        "bits": 8 * len(data),
        "packets": r.packets,
        "datagram_bytes": r.datagram_bytes,
        "tag_bytes_per_packet": r.tag_bytes,
        "packets_lost": lost,
        "packet_loss_rate": lost / sent if sent else 0.0,
        "packets_corrupted": rep.get("packets_corrupted", 0),
        "vectors_missing": rep.get("vectors_missing", -1),
        "indices_missing": rep.get("indices_missing", -1),
        "bits_on_air": r.bits_on_air,
        "airtime_s": r.airtime_s,
        "latency_s": r.latency_s,
        "channel_uses": r.channel_uses,
        "batch_size": rep.get("batch_size", 0),
        "send_s": r.send_s,
        "wait_s": r.wait_s,
        "reassembly_s": rep.get("reassembly_s", float("nan")),
        "queue_s": rep.get("queue_s", float("nan")),
        "generate_s": rep.get("generate_s", float("nan")),
        "server_s": rep.get("server_s", float("nan")),
        "network_s": r.network_s,
        "rtt_s": r.rtt_s,
        "e2e_s": e2e_s,
        "reason": rep.get("reason", "no reply within the timeout" if r.status == "timeout" else ""),
        "reply": json.dumps(rep, sort_keys=True),
    }
