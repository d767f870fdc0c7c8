"""The package's own error class for user-facing problems.

:class:`CollabInferError` lives in :mod:`codec.errors` (the lowest layer, so codec and
channel can derive from it without importing ``collab_infer``) and is re-exported here;
``codec.PayloadError`` is one of its subclasses.
"""

from codec.errors import CollabInferError

__all__ = ["CollabInferError"]
