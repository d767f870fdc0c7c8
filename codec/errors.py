"""The codec's error class for malformed bytes."""

from __future__ import annotations

from collab_infer.errors import CollabInferError

__all__ = ["PayloadError"]


class PayloadError(CollabInferError):
    """Bytes that are not a valid payload or packet: truncated, wrong magic or version,
    CRC mismatch, out-of-range index, impossible sizes, trailing garbage.

    A :class:`ValueError` (through :class:`collab_infer.errors.CollabInferError`), so
    callers that treat every bad input alike can catch ``ValueError``.
    """
