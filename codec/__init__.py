"""Payload <-> bytes: number formats, index packing, entropy coding, header + CRC,
packetization and concealment information."""

from codec.payload import FullPayload, Payload, SubsetPayload, VQPayload, payload_kind

__all__ = ["FullPayload", "Payload", "SubsetPayload", "VQPayload", "payload_kind"]
