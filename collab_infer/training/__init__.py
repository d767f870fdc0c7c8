"""Training of the built-in default captioner (a small PaliGemma) on the ``shapes`` dataset.

Heavy libraries (torch, transformers) are imported inside the submodules' functions.
"""

__all__: list[str] = []
