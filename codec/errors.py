"""The suite's base error class and the codec's error for malformed bytes.

:class:`CollabInferError` is defined here, in the lowest layer, so that every package
can derive its errors from it without importing a package above itself (see the
layering rules in DESIGN.md); :mod:`collab_infer.errors` re-exports it, and
``except CollabInferError`` (the CLI) therefore also catches :class:`PayloadError`.
"""

from __future__ import annotations

__all__ = ["CollabInferError", "PayloadError"]


class CollabInferError(ValueError):
    """A user-facing problem (bad config, missing file, unusable checkpoint, malformed
    payload) with a message saying what was wrong and how to fix it.

    A :class:`ValueError`, so callers that treat every bad input alike can catch that.
    """


class PayloadError(CollabInferError):
    """Bytes that are not a valid payload or packet: truncated, wrong magic or version,
    CRC mismatch, out-of-range index, impossible sizes, trailing garbage, or sizes
    that disagree with what the receiver expects (:class:`codec.Expected`) or exceed
    what the bytes that arrived can carry.
    """
