"""Payload <-> bytes: number formats, index packing, entropy coding, header + CRC,
packetization, a receive-path budget and concealment.

``import codec`` is cheap: names are imported on first use (PEP 562), so importing
:class:`codec.PayloadError` (the base of the suite's errors) loads no torch; the rest
costs torch + numpy, and ``constriction`` only when indices are entropy coded.

>>> import torch, codec
>>> p = codec.VQPayload(torch.randn(4, 16), torch.tensor([0, 1, 3, 3, 2]))
>>> data = codec.encode(p, number_format="int8")
>>> codec.decode(data).indices.tolist()
[0, 1, 3, 3, 2]
>>> packets = codec.packetize(data, mtu=64)
>>> packets[1] = None
>>> expect = codec.Expected(n_tokens=5, dim=16)
>>> fixed = codec.conceal(codec.reassemble(packets, expect=expect), expect=expect)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "codec.concealment": ("INDEX_FILLS", "SUBSET_LOST", "VECTOR_FILLS", "conceal"),
    "codec.errors": ("CollabInferError", "PayloadError"),
    "codec.expect": ("Expected",),
    "codec.formats": ("NUMBER_FORMATS", "get_format", "row_nbytes"),
    "codec.header": ("MAX_DIM", "MAX_ROWS", "MAX_TOKENS", "Header"),
    "codec.packets": ("MAX_PACKET_BYTES", "Packet", "packetize", "parse_packet"),
    "codec.reassembly": ("Reassembled", "reassemble"),
    "codec.payload": ("FullPayload", "Payload", "SubsetPayload", "VQPayload", "payload_kind"),
    "codec.sections": ("INDEX_CODINGS",),
    "codec.serialize": (
        "ParsedPayload",
        "SideInfo",
        "decode",
        "decode_side_info",
        "encode",
        "encode_side_info",
        "parse",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [name for names in _EXPORTS.values() for name in names]


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'codec' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
