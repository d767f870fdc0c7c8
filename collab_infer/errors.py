"""The package's own error class for user-facing problems."""

__all__ = ["CollabInferError"]


class CollabInferError(ValueError):
    """A user-facing problem (bad config, missing file, unusable checkpoint) with a
    message saying what was wrong and how to fix it."""
