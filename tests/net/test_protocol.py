"""Wire protocol, limits and the reassembly table (no model, no sockets)."""

from __future__ import annotations

import pytest
import torch

import codec
from collab_infer.net.inflight import ReceiveTable
from collab_infer.net.limits import Limits, TokenBucket, payload_budget_bytes
from collab_infer.net.protocol import (
    DATA,
    MAX_REPLY_BYTES,
    REPLY,
    TAG_BYTES,
    decode_reply,
    encode_reply,
    load_key,
    parse_address,
    seal,
    unseal,
)

KEY = b"0123456789abcdef0123"


class TestFraming:
    def test_seal_unseal_roundtrip_and_tamper(self):
        d = seal(KEY, b"\xa2payload")
        assert len(d) == TAG_BYTES + 8 and unseal(KEY, d) == b"\xa2payload"
        flipped = bytes([d[0] ^ 1]) + d[1:]
        assert unseal(KEY, flipped) is None
        assert unseal(KEY, d[:-1]) is None
        assert unseal(KEY, d[:TAG_BYTES]) is None
        assert unseal(b"another key 16 bytes", d) is None

    def test_domains_do_not_cross(self):
        assert unseal(KEY, seal(KEY, b"body", REPLY), DATA) is None
        assert unseal(KEY, seal(KEY, b"body", DATA), REPLY) is None

    def test_no_key_is_the_body(self):
        assert seal(None, b"x") == b"x" and unseal(None, b"x") == b"x"

    def test_reply_roundtrip(self):
        body = encode_reply(2**32 - 1, {"status": "ok", "caption": "ü" * 5000, "queue_s": 0.5})
        pid, fields = decode_reply(body)
        assert pid == 2**32 - 1 and fields["queue_s"] == 0.5 and len(fields["caption"]) == 2048

    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"CIR",
            b"XYZ\x01\0\0\0\0{}",
            b'CIR\x02\0\0\0\0{"status":"ok"}',
            b"CIR\x01\0\0\0\0[1]",
            b'CIR\x01\0\0\0\0{"status":1}',
            b"CIR\x01\0\0\0\0\xff\xfe",
            b"CIR\x01\0\0\0\0" + b" " * MAX_REPLY_BYTES,
        ],
    )
    def test_bad_replies_are_none(self, body):
        assert decode_reply(body) is None

    def test_parse_address(self):
        assert parse_address("127.0.0.1:5550") == ("127.0.0.1", 5550)
        assert parse_address("[::1]:80") == ("::1", 80)
        for bad in ("localhost", ":80", "host:port", "h:70000"):
            with pytest.raises(ValueError, match="HOST:PORT"):
                parse_address(bad)

    def test_load_key(self, tmp_path, monkeypatch):
        monkeypatch.delenv("COLLAB_INFER_KEY", raising=False)
        assert load_key(None) is None
        f = tmp_path / "key"
        f.write_bytes(b"  0123456789abcdef\n")
        assert load_key(f) == b"0123456789abcdef"
        f.write_bytes(b"short")
        with pytest.raises(ValueError, match="at least 16 bytes"):
            load_key(f)
        monkeypatch.setenv("COLLAB_INFER_KEY", "0123456789abcdefXYZ")
        assert load_key(None) == b"0123456789abcdefXYZ"


class TestLimits:
    def test_defaults_and_errors(self):
        assert Limits().max_datagram_bytes == 1472
        with pytest.raises(ValueError, match="max_batch must be a finite number > 0"):
            Limits(max_batch=0)
        with pytest.raises(ValueError, match="max_batch must be an integer"):
            Limits(max_batch=2.5)
        with pytest.raises(TypeError, match="max_inflight must be a number"):
            Limits(max_inflight="8")
        with pytest.raises(ValueError, match="exceeds the largest UDP datagram"):
            Limits(max_datagram_bytes=70000)
        with pytest.raises(ValueError, match="exceeds max_inflight"):
            Limits(max_inflight=2, max_inflight_per_client=3)
        assert Limits(max_wait_ms=0).max_wait_ms == 0

    def test_token_bucket_refills_at_its_rate(self):
        b = TokenBucket(rate_per_s=10.0, burst=5, now=0.0)
        assert sum(b.take(0.0) for _ in range(20)) == 5
        assert sum(b.take(1.0) for _ in range(20)) == 5  # refilled to the burst, not beyond
        assert sum(b.take(1.1) for _ in range(20)) == 1

    def test_payload_budget_is_twice_the_widest_payload(self):
        e = codec.Expected(256, 2048, number_formats=("fp16",))
        assert payload_budget_bytes(e) == 2 * (256 * 2048 * 2 + 4 * 256) + 65536


def _packets(pid: int, n: int = 16, k: int = 4, dim: int = 16, mtu: int = 64) -> list[bytes]:
    g = torch.Generator().manual_seed(pid)
    p = codec.VQPayload(torch.randn(k, dim, generator=g), torch.randint(0, k, (n,), generator=g))
    return codec.packetize(codec.encode(p, "fp16"), mtu, payload_id=pid)


class TestReceiveTable:
    expect = codec.Expected(16, 16)

    def _offer(self, table, addr, packets, now=0.0):
        out = []
        for p in packets:
            assert table.admit_datagram(addr, now) is None
            out.append(table.offer(addr, p, codec.parse_packet(p, expect=self.expect), now))
        return out

    def test_complete_payload_is_ready_once_and_then_replayed(self):
        table = ReceiveTable(Limits(), self.expect)
        packets = _packets(7)
        outcomes = self._offer(table, ("a", 1), packets + packets[:1])
        assert [o for o, _ in outcomes][:2] == ["started", "stored"]
        ready = [r for _, r in outcomes if r is not None]
        assert len(ready) == 1 and ready[0].complete and len(ready[0].packets) == len(packets)
        assert outcomes[-1] == ("replayed", None)
        assert table.buffer_bytes == 0 and table.holding == 1
        table.release(("a", 1))
        assert table.holding == 0

    def test_duplicates_and_timeout_with_gaps(self):
        table = ReceiveTable(Limits(reassembly_timeout_s=0.5), self.expect)
        packets = _packets(8)
        outcomes = self._offer(table, ("a", 1), [packets[0], packets[0], packets[2]])
        assert [o for o, _ in outcomes] == ["started", "duplicate", "stored"]
        assert table.expire(0.4) == []
        (ready,) = table.expire(0.6)
        assert not ready.complete and ready.duplicates == 1
        assert sum(p is None for p in ready.packets) == len(packets) - 2

    def test_inflight_limits_refuse_once_then_busy(self):
        table = ReceiveTable(Limits(max_inflight=3, max_inflight_per_client=2), self.expect)
        first = [_packets(pid)[0] for pid in (1, 2, 3)]
        outcomes = self._offer(table, ("a", 1), first + first[2:])
        assert [o for o, _ in outcomes] == ["started", "started", "refuse", "busy"]
        assert [o for o, _ in self._offer(table, ("b", 1), [first[0]])] == ["started"]
        assert [o for o, _ in self._offer(table, ("c", 1), [_packets(4)[0]])] == ["refuse"]

    def test_byte_budget_holds(self):
        table = ReceiveTable(Limits(max_buffer_bytes=100), self.expect)
        packets = _packets(9)
        outcomes = self._offer(table, ("a", 1), packets[:3])
        assert "over_budget" in [o for o, _ in outcomes]
        assert table.buffer_bytes <= 100 and table.peak_buffer_bytes <= 100

    def test_client_table_and_rate_limit(self):
        table = ReceiveTable(Limits(max_clients=2, rate_per_s=1.0, rate_burst=2), self.expect)
        assert table.admit_datagram(("a", 1), 0.0) is None
        assert table.admit_datagram(("b", 1), 0.0) is None
        assert table.admit_datagram(("c", 1), 0.0) == "too_many_clients"
        assert table.admit_datagram(("a", 1), 0.0) is None
        assert table.admit_datagram(("a", 1), 0.0) == "rate_limited"
        assert table.admit_datagram(("c", 1), 100.0) is None  # idle clients forgotten
