"""collab-infer: edge-server collaborative inference of vision-language models over
wireless links.

The package imports nothing heavy at import time; torch, transformers and Sionna are
imported where they are used.
"""

from collab_infer.errors import CollabInferError

__version__ = "0.1.0"

__all__ = ["CollabInferError", "__version__"]
