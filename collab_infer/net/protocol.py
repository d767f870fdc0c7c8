"""The wire protocol of ``collab-infer serve`` / ``edge`` / ``link``: the one description.

Transport: UDP, one datagram per codec packet, and one UDP reply datagram per payload,
sent back to the address the payload's packets came from. No pickle, no eval: requests
are codec packets (parsed by ``codec.parse_packet`` against the server's
``codec.Expected``), replies are a small JSON object.

Request datagram (edge -> server)::

    tag     32 bytes  only with a shared key: HMAC-SHA256(key, b"D" + packet)
    packet  the codec packet (codec/packets.py, version 2: type 0xA2 / 0xB2, payload
            id, packet count P, header fields, data, CRC-32)

Reply datagram (server -> edge), one per payload::

    tag     32 bytes  only with a shared key: HMAC-SHA256(key, b"R" + body)
    body    magic b"CIR" + version byte 0x01 + payload id (4 bytes, little endian)
            + JSON object, UTF-8, at most MAX_REPLY_BYTES in all

The reply's JSON object holds ``status`` (``"ok"``, ``"refused"`` or ``"error"``),
``caption`` (``""`` unless ok), ``reason`` (why refused / failed) and the receive
statistics and server timings (:data:`REPLY_FIELDS`). The one-byte domain prefix in the
HMAC input keeps a reply from ever authenticating as a request and vice versa.

A key authenticates content, not freshness: the server drops packets of a payload id it
already answered for the same source address (its replay window, ``Limits``); a captured
payload replayed from another address is computed again, under that address's limits.
Without a key anyone who can reach the port can send payloads: bind to localhost
(the default) or use a key on any other network.

Health and metrics: plain HTTP/1.0 on TCP (``GET /health``, ``GET /metrics``: JSON), by
default on the same port number as the UDP service (TCP and UDP ports are separate).

>>> d = seal(b"k", b"\\xa2abc")
>>> len(d), unseal(b"k", d, DATA)
(36, b'\\xa2abc')
>>> unseal(b"other", d, DATA) is None
True
>>> body = encode_reply(7, {"status": "ok", "caption": "a cat"})
>>> decode_reply(body)[0], decode_reply(body)[1]["caption"]
(7, 'a cat')
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
from pathlib import Path
from typing import Any

__all__ = [
    "TAG_BYTES",
    "DATA",
    "REPLY",
    "REPLY_MAGIC",
    "REPLY_VERSION",
    "MAX_REPLY_BYTES",
    "MAX_CAPTION_CHARS",
    "REPLY_FIELDS",
    "KEY_ENV",
    "seal",
    "unseal",
    "encode_reply",
    "decode_reply",
    "parse_address",
    "load_key",
]

#: HMAC-SHA256 tag length in bytes (untruncated)
TAG_BYTES = 32
#: HMAC domain byte of request datagrams (codec packets)
DATA = b"D"
#: HMAC domain byte of reply datagrams
REPLY = b"R"
REPLY_MAGIC = b"CIR"
REPLY_VERSION = 1
_REPLY_HEAD = struct.Struct("<3sBI")
#: largest reply body in bytes (fits any UDP path on loopback and Ethernet with IP fragments)
MAX_REPLY_BYTES = 8192
#: captions are cut to this many characters in a reply
MAX_CAPTION_CHARS = 2048
#: reply fields besides status / caption / reason, all numbers (ints or seconds as floats)
REPLY_FIELDS = (
    "packets_expected",  # P, from the packets' header (0 if none was usable)
    "packets_received",  # distinct packets stored for the payload
    "packets_lost",  # P - received
    "packets_corrupted",  # refused by codec.reassemble (CRC, layout, expect)
    "packets_foreign",  # valid packets of another payload
    "packets_duplicate",  # copies of a packet already stored, dropped
    "vectors_missing",  # rows concealed (centroids / kept / full vectors); -1: no usable
    "indices_missing",  # packet (the all-zero N x D stand-in); VQ indices concealed
    # (subset: tokens of unknown status), -1 likewise
    "complete",  # 1 when all P packets arrived before the timeout
    "batch_size",  # payloads captioned in the same generate call
    "reassembly_s",  # first packet -> payload ready (complete or timed out)
    "queue_s",  # ready -> its batch starts
    "generate_s",  # the batch's reassembly + reconstruction + generate call
    "server_s",  # first packet -> reply sent
)
#: environment variable holding the shared key (hex or text), as ``--key-file``'s alternative
KEY_ENV = "COLLAB_INFER_KEY"


def _tag(key: bytes, domain: bytes, body: bytes) -> bytes:
    return hmac.new(key, domain + body, hashlib.sha256).digest()


def seal(key: bytes | None, body: bytes, domain: bytes = DATA) -> bytes:
    """``body`` as a datagram: with a key, prefixed by its HMAC-SHA256 tag."""
    if key is None:
        return bytes(body)
    return _tag(key, domain, body) + body


def unseal(key: bytes | None, datagram: bytes, domain: bytes = DATA) -> bytes | None:
    """The body of an authentic datagram, or None (too short or wrong tag). Without a key
    the datagram is the body. Constant-time tag comparison."""
    if key is None:
        return bytes(datagram)
    if len(datagram) <= TAG_BYTES:
        return None
    tag, body = bytes(datagram[:TAG_BYTES]), bytes(datagram[TAG_BYTES:])
    return body if hmac.compare_digest(tag, _tag(key, domain, body)) else None


def encode_reply(payload_id: int, fields: dict[str, Any]) -> bytes:
    """A reply body for ``payload_id``: magic, version, id, JSON of ``fields`` (the
    caption is cut to :data:`MAX_CAPTION_CHARS`; ValueError if still too large)."""
    fields = dict(fields)
    if isinstance(fields.get("caption"), str):
        fields["caption"] = fields["caption"][:MAX_CAPTION_CHARS]
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    body = _REPLY_HEAD.pack(REPLY_MAGIC, REPLY_VERSION, payload_id) + text.encode("utf-8")
    if len(body) > MAX_REPLY_BYTES:
        raise ValueError(f"reply of {len(body)} bytes exceeds MAX_REPLY_BYTES={MAX_REPLY_BYTES}")
    return body


def decode_reply(body: bytes) -> tuple[int, dict[str, Any]] | None:
    """``(payload_id, fields)`` of a reply body, or None when it is not a valid reply
    (wrong magic / version, too large, not a JSON object with a string status)."""
    if not _REPLY_HEAD.size < len(body) <= MAX_REPLY_BYTES:
        return None
    magic, version, payload_id = _REPLY_HEAD.unpack_from(body)
    if magic != REPLY_MAGIC or version != REPLY_VERSION:
        return None
    try:
        fields = json.loads(body[_REPLY_HEAD.size :].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(fields, dict) or not isinstance(fields.get("status"), str):
        return None
    return payload_id, fields


def parse_address(text: str, what: str = "address") -> tuple[str, int]:
    """``"HOST:PORT"`` (IPv6 as ``[::1]:PORT``) -> ``(host, port)``; ValueError otherwise."""
    host, sep, port = str(text).rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{what} must look like HOST:PORT (e.g. 127.0.0.1:5550), got {text!r}")
    return host, int(port)


def load_key(key_file: Path | None) -> bytes | None:
    """The shared key: the bytes of ``key_file`` (surrounding whitespace stripped), else
    the ``COLLAB_INFER_KEY`` environment variable, else None (no authentication).

    :raises ValueError: the key is empty or shorter than 16 bytes
    """
    if key_file is not None:
        key = Path(key_file).read_bytes().strip()
        source = f"key file {key_file}"
    elif os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].strip().encode("utf-8")
        source = f"${KEY_ENV}"
    else:
        return None
    if len(key) < 16:
        raise ValueError(
            f"{source}: the shared key must hold at least 16 bytes, got {len(key)} (e.g. "
            "python -c 'import secrets; print(secrets.token_hex(32))' > key)"
        )
    return key
