"""The image baseline: send the picture itself (JPEG, WebP, AVIF or JPEG XL) instead of
visual tokens.

The edge compresses the RGB image at a given quality in [1, 100] (JPEG and WebP with
PIL; AVIF and JPEG XL with the maintained ``imagecodecs`` package, imported lazily: AVIF
through libavif at ``speed=6``, JPEG XL through libjxl at ``effort=7``, both on one
thread so the bytes are reproducible; the quality maps to each library's own quality
scale, so equal numbers are *not* equal bits: compare codecs on the bits axis). The bytes
are split into
packets of at most ``mtu`` bytes (a plain split: no extra per-packet header is added or
counted, which slightly *favours* this baseline over the token schemes, whose bits
include the codec's packet headers); bits = ``sum(len(packet)) * 8`` of those real
bytes. The server decodes what arrives and runs the full VLM on the decoded image.

Loss semantics (documented in the report): a JPEG / WebP stream has no resynchronisation
here, so **if any packet is lost the image is lost** and the server outputs the empty
caption "" (scored as such: it matches no n-gram). Packets delivered with bit errors are
concatenated and decoded as they are; if the decoder cannot decode them the image is
lost too. The receiver tells the codec from the stream's own signature (JPEG XL
codestream ``FF 0A`` or container box ``JXL ``; AVIF ``ftyp`` brand ``avif``/``avis``;
everything else goes to PIL), as a real decoder would.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image

__all__ = ["IMAGE_CODECS", "encode_image", "split_packets", "receive_image"]

IMAGE_CODECS = ("jpeg", "webp", "avif", "jxl")
_PIL_FORMAT = {"jpeg": "JPEG", "webp": "WEBP"}
_JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"


def _imagecodecs():
    try:
        import imagecodecs
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError(
            "AVIF / JPEG XL baselines need the 'imagecodecs' package: pip install imagecodecs"
        ) from exc
    return imagecodecs


def encode_image(
    image: Image.Image, codec: Literal["jpeg", "webp", "avif", "jxl"], quality: int
) -> bytes:
    """Compress ``image`` (converted to RGB) at ``quality`` in [1, 100].

    :return: the encoded bytes (their length x 8 is the row's bits)
    """
    if codec not in IMAGE_CODECS:
        raise ValueError(f"codec must be one of {IMAGE_CODECS}, got {codec!r}")
    if isinstance(quality, bool) or not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must lie in [1, 100], got {quality}")
    rgb = image.convert("RGB")
    if codec in _PIL_FORMAT:
        buf = io.BytesIO()
        rgb.save(buf, format=_PIL_FORMAT[codec], quality=int(quality))
        return buf.getvalue()
    ic = _imagecodecs()
    pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    if codec == "avif":
        return bytes(ic.avif_encode(pixels, level=int(quality), speed=6, numthreads=1))
    return bytes(ic.jpegxl_encode(pixels, level=int(quality), effort=7, numthreads=1))


def _sniff(data: bytes) -> str:
    """``"jxl"``, ``"avif"`` or ``"pil"`` from the stream's signature."""
    if data[:2] == b"\xff\x0a" or data[:12] == _JXL_CONTAINER:
        return "jxl"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "avif"
    return "pil"


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
    kind = _sniff(data)
    if kind != "pil":
        ic = _imagecodecs()
        decode = ic.avif_decode if kind == "avif" else ic.jpegxl_decode
        try:
            pixels = np.asarray(decode(data, numthreads=1))
        except Exception:  # noqa: BLE001 - any decoder failure means "image lost"
            return None
        if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
            return None
        return Image.fromarray(np.ascontiguousarray(pixels[..., :3])).convert("RGB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return img.convert("RGB")
    except Exception:  # noqa: BLE001 - any decoder failure means "image lost"
        return None
