"""Golden byte vectors: any change to the wire format must show up here (and bump
codec.header.VERSION)."""

import pytest
import torch

import codec
from codec import PayloadError
from codec.header import MAGIC, VERSION
from codec.packets import PACKET_VERSION
from codec.reader import ByteReader, write_varint

VQ = codec.VQPayload(
    torch.tensor([[1.0, -2.0, 0.5], [0.25, 0.0, -1.0]]), torch.tensor([0, 1, 1, 0, 1])
)
SUBSET = codec.SubsetPayload(torch.tensor([[1.0, -1.0]]), torch.tensor([2]), 5)


class TestGolden:
    def test_version(self):
        # payload format 1; packet format 2 (payload id + packet count added)
        assert (MAGIC, VERSION, PACKET_VERSION) == (b"CI", 1, 2)

    def test_vq_fp16(self):
        # "CI" v1 | type 0 (vq) | fp16 | N=5 D=3 K=2 | 6 fp16 LE | indices 0b10110 | CRC-32
        assert codec.encode(VQ, "fp16").hex() == (
            "4349010001050302003c00c000380034000000bc1610534ac5"
        )

    def test_vq_int8(self):
        # per row: bf16 scale rounded up (0x3c82 >= 2/127), then int8 values
        assert codec.encode(VQ, "int8").hex() == ("4349010003050302823c3f8220023c200082169fb87233")

    def test_subset_bitmap(self):
        # type 0x09 = subset | positions as bitmap; bitmap 0b00100 = position 2
        assert codec.encode(SUBSET, "fp16").hex() == ("4349010901050201003c00bc049378da69")

    def test_side_info(self):
        # type 0x10 = vq | side info; format byte fp32 (0); no values
        assert codec.encode_side_info(VQ).hex() == "4349011000050302163d621f61"

    def test_packets(self):
        packets = codec.packetize(codec.encode(VQ, "fp16"), mtu=24)
        assert [p.hex() for p in packets] == [
            # rows packet: 0xa2 (rows, packet version 2) | payload id 0xc54a5310 (the
            # payload's CRC-32, LE) | P=3 packets | fields | start 0 count 1 parts 1 |
            # row 0 | CRC
            "a210534ac5030001050302000101003c00c000382049b2c0",
            "a210534ac50300010503020101010034000000bcdbc7c39c",
            # index packet: 0xb2 | id | P=3 | fields | start 0 count 5 | packed indices | CRC
            "b210534ac503000105030200051619e9dee6",
        ]

    def test_packets_with_caller_id(self):
        packets = codec.packetize(codec.encode(VQ, "fp16"), mtu=24, payload_id=7)
        assert packets[2].hex() == "b207000000030001050302000516e9453ece"
        assert codec.parse_packet(packets[2]).payload_id == 7

    def test_packet_version_1_is_refused(self):
        # a version-1 index packet of the same payload (0xb1 | fields | ... | CRC)
        old = bytes.fromhex("b1000105030200051638a9a62b")
        with pytest.raises(PayloadError, match="format version 1 is not supported"):
            codec.parse_packet(old)
        r = codec.reassemble([old])
        assert r.payload is None and r.packets_corrupted == 1
        assert "re-packetize" in r.errors[0]


class TestVarint:
    @pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**21, 2**32 - 1])
    def test_round_trip(self, value):
        data = write_varint(value)
        r = ByteReader(data)
        assert r.varint("v") == value and r.remaining == 0

    def test_rejects_too_long(self):
        with pytest.raises(PayloadError, match="not a valid varint"):
            ByteReader(b"\xff" * 6).varint("N")

    def test_rejects_non_minimal(self):
        with pytest.raises(PayloadError, match="non-minimal"):
            ByteReader(b"\x81\x00").varint("N")

    def test_rejects_truncated(self):
        with pytest.raises(PayloadError, match="truncated"):
            ByteReader(b"\x81").varint("N")

    def test_write_range(self):
        with pytest.raises(ValueError, match="varint value must lie in"):
            write_varint(-1)
