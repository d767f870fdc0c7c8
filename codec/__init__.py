"""Payload <-> bytes: number formats, index packing, entropy coding, header + CRC,
packetization and concealment.

Import cost is torch + numpy only; ``constriction`` is imported when indices are
entropy coded.

>>> import torch, codec
>>> p = codec.VQPayload(torch.randn(4, 16), torch.tensor([0, 1, 3, 3, 2]))
>>> data = codec.encode(p, number_format="int8")
>>> codec.decode(data).indices.tolist()
[0, 1, 3, 3, 2]
>>> packets = codec.packetize(data, mtu=64)
>>> packets[1] = None
>>> fixed = codec.conceal(codec.reassemble(packets))
"""

from codec.conceal import INDEX_FILLS, SUBSET_LOST, VECTOR_FILLS, conceal
from codec.errors import PayloadError
from codec.formats import NUMBER_FORMATS, get_format, row_nbytes
from codec.header import MAX_DIM, MAX_ROWS, MAX_TOKENS, Header
from codec.packets import Packet, Reassembled, packetize, parse_packet, reassemble
from codec.payload import FullPayload, Payload, SubsetPayload, VQPayload, payload_kind
from codec.sections import INDEX_CODINGS
from codec.serialize import (
    ParsedPayload,
    SideInfo,
    decode,
    decode_side_info,
    encode,
    encode_side_info,
    parse,
)

__all__ = [
    "FullPayload",
    "Payload",
    "SubsetPayload",
    "VQPayload",
    "payload_kind",
    "PayloadError",
    "NUMBER_FORMATS",
    "INDEX_CODINGS",
    "VECTOR_FILLS",
    "INDEX_FILLS",
    "SUBSET_LOST",
    "MAX_TOKENS",
    "MAX_DIM",
    "MAX_ROWS",
    "get_format",
    "row_nbytes",
    "Header",
    "encode",
    "decode",
    "parse",
    "ParsedPayload",
    "encode_side_info",
    "decode_side_info",
    "SideInfo",
    "packetize",
    "reassemble",
    "parse_packet",
    "Packet",
    "Reassembled",
    "conceal",
]
