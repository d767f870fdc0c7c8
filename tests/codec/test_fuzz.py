"""Fuzz: mutated and truncated payloads and packets raise only PayloadError (or decode
to a valid payload), never anything else, never hang. About 6,000 cases, a few seconds."""

import contextlib
import random

import pytest
import torch

import codec
from codec import NUMBER_FORMATS, PayloadError
from codec.header import CRC_BYTES, append_crc

N_PAYLOADS = 120
MUTATIONS_PER_PAYLOAD = 25


def _corpus(make_payload):
    rnd = random.Random(0)
    out = []
    for i in range(N_PAYLOADS):
        kind = ("vq", "subset", "full")[i % 3]
        n, d, k = rnd.randint(1, 40), rnd.randint(1, 12), rnd.randint(1, 20)
        p = make_payload(kind, n, d, k, seed=i)
        coding = "entropy" if kind == "vq" and i % 2 else "auto"
        out.append(codec.encode(p, rnd.choice(NUMBER_FORMATS), coding))
    return out


def _mutate(data: bytes, rnd: random.Random, fix_crc: bool) -> bytes:
    body = bytearray(data[:-CRC_BYTES] if fix_crc else data)
    op = rnd.randrange(5)
    if op == 0 and body:  # flip bits
        for _ in range(rnd.randint(1, 4)):
            body[rnd.randrange(len(body))] ^= 1 << rnd.randrange(8)
    elif op == 1:  # truncate
        del body[rnd.randrange(len(body) + 1) :]
    elif op == 2 and body:  # random byte
        body[rnd.randrange(len(body))] = rnd.randrange(256)
    elif op == 3:  # insert bytes
        pos = rnd.randrange(len(body) + 1)
        body[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 6)))
    else:  # delete a slice
        pos = rnd.randrange(len(body) + 1)
        del body[pos : pos + rnd.randint(1, 8)]
    # header bytes are the most interesting target: hit them half the time
    if rnd.random() < 0.5 and len(body) > 3:
        body[rnd.randrange(3, min(len(body), 12))] = rnd.randrange(256)
    return append_crc(bytes(body)) if fix_crc else bytes(body)


def _check_decode(data: bytes) -> None:
    try:
        p = codec.decode(data)
    except PayloadError:
        return
    assert codec.payload_kind(p) in ("vq", "subset", "full")


class TestFuzz:
    @pytest.mark.parametrize("fix_crc", [False, True])
    def test_mutated_payloads(self, make_payload, fix_crc):
        rnd = random.Random(1 + fix_crc)
        for data in _corpus(make_payload):
            for _ in range(MUTATIONS_PER_PAYLOAD):
                _check_decode(_mutate(data, rnd, fix_crc))
                with contextlib.suppress(PayloadError):
                    codec.decode_side_info(_mutate(data, rnd, fix_crc))

    def test_random_garbage(self):
        rnd = random.Random(3)
        for _ in range(500):
            blob = b"CI\x01" + bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 40)))
            _check_decode(append_crc(blob))
            _check_decode(blob)

    def test_mutated_packets(self, make_payload):
        rnd = random.Random(4)
        for i, data in enumerate(_corpus(make_payload)[:60]):
            packets = codec.packetize(data, mtu=rnd.randint(40, 200))
            for _ in range(10):
                damaged = list(packets)
                j = rnd.randrange(len(damaged))
                damaged[j] = _mutate(damaged[j], rnd, fix_crc=i % 2 == 0)
                if rnd.random() < 0.3:
                    damaged[rnd.randrange(len(damaged))] = None
                with contextlib.suppress(PayloadError):
                    codec.parse_packet(damaged[j])
                r = codec.reassemble(damaged)  # never raises
                codec.conceal(r, n_tokens=4, dim=4)

    def test_fixed_crc_garbage_packets_alone(self):
        rnd = random.Random(5)
        for _ in range(300):
            head = bytes((rnd.choice((0xA2, 0xB2)),)) + rnd.randbytes(4)  # type, payload id
            head += bytes((rnd.randrange(1, 3), rnd.randrange(8), rnd.randrange(6)))  # P, fields
            blob = head + bytes(rnd.randrange(8) for _ in range(rnd.randint(0, 30)))
            r = codec.reassemble([append_crc(blob), None])  # never raises
            assert (r.payload is None) == (r.packets_corrupted == 1) and r.packets_lost == 1
            if r.payload is not None:
                q = codec.conceal(r)
                assert isinstance(q, codec.VQPayload | codec.SubsetPayload | codec.FullPayload)
                assert q.n_tokens == r.missing_indices.shape[0]


def test_entropy_stream_damage_is_payload_error():
    idx = torch.cat([torch.zeros(200, dtype=torch.long), torch.arange(8)])
    data = codec.encode(codec.VQPayload(torch.zeros(8, 1), idx), "fp32", "entropy")
    body = bytearray(data[:-CRC_BYTES])
    errors = 0
    for pos in range(len(body) - 12, len(body)):  # the tail is the range-coder stream
        for bit in range(8):
            bad = bytearray(body)
            bad[pos] ^= 1 << bit
            try:
                q = codec.decode(append_crc(bytes(bad)))
                assert q.indices.shape == (208,)
            except PayloadError:
                errors += 1
    assert errors > 0  # the counts check catches damaged streams
