"""The image baseline: send the picture itself (JPEG or WebP) instead of visual tokens.

The edge compresses the RGB image with PIL at a given quality; the bytes are split into
packets of at most ``mtu`` bytes (a plain split: no extra per-packet header is added or
counted, which slightly *favours* this baseline over the token schemes, whose bits
include the codec's packet headers); bits = ``sum(len(packet)) * 8`` of those real
bytes. The server decodes what arrives and runs the full VLM on the decoded image.

Loss semantics (documented in the report): a JPEG / WebP stream has no resynchronisation
here, so **if any packet is lost the image is lost** and the server outputs the empty
caption "" (scored as such: it matches no n-gram). Packets delivered with bit errors are
concatenated and decoded as they are; if PIL cannot decode them the image is lost too.
"""

from __future__ import annotations

import io
from typing import Literal

from PIL import Image

__all__ = ["IMAGE_CODECS", "encode_image", "split_packets", "receive_image"]

IMAGE_CODECS = ("jpeg", "webp")
_PIL_FORMAT = {"jpeg": "JPEG", "webp": "WEBP"}


def encode_image(image: Image.Image, codec: Literal["jpeg", "webp"], quality: int) -> bytes:
    """Compress ``image`` (converted to RGB) with PIL at ``quality`` in [1, 100]."""
    if codec not in _PIL_FORMAT:
        raise ValueError(f"codec must be one of {IMAGE_CODECS}, got {codec!r}")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must lie in [1, 100], got {quality}")
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format=_PIL_FORMAT[codec], quality=int(quality))
    return buf.getvalue()


def split_packets(data: bytes, mtu: int) -> list[bytes]:
    """Split ``data`` into consecutive packets of at most ``mtu`` bytes (at least one)."""
    if mtu < 1:
        raise ValueError(f"mtu must be >= 1, got {mtu}")
    if not data:
        return [b""]
    return [data[i : i + mtu] for i in range(0, len(data), mtu)]


def receive_image(packets: list[bytes | None]) -> Image.Image | None:
    """The decoded RGB image, or None when a packet is missing or decoding fails."""
    if any(p is None for p in packets):
        return None
    data = b"".join(packets)  # type: ignore[arg-type]
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return img.convert("RGB")
    except Exception:  # noqa: BLE001 - any decoder failure means "image lost"
        return None
