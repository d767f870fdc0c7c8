"""collab-infer: edge-server collaborative inference of vision-language models over
wireless links.

The package imports nothing heavy at import time; torch, transformers and Sionna are
imported where they are used.
"""

from collab_infer.errors import CollabInferError

__version__ = "0.1.0"

__all__ = ["CollabInferError", "__version__", "kmeans"]


def __getattr__(name: str):
    """Lazy exports: ``collab_infer.kmeans`` imports torch only when first used."""
    if name == "kmeans":
        from collab_infer.clustering import kmeans

        return kmeans
    raise AttributeError(f"module 'collab_infer' has no attribute {name!r}")
