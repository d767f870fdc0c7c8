"""Captioned image datasets, each a sequence of :class:`Sample` (id, PIL image, references).

>>> from collab_infer.datasets import load
>>> samples = load("shapes", split="test", n=8, seed=0)        # doctest: +SKIP
>>> samples = load("folder", root="my_images/", n=100)          # doctest: +SKIP
>>> samples = load("coco", root="coco/", split="test", n=500)   # doctest: +SKIP
>>> samples = load("hf", path="org/dataset", split="test")      # doctest: +SKIP

Names: ``shapes`` (procedural scenes, the default model's data), ``folder`` (a directory
with ``captions.jsonl`` / ``captions.csv``), ``coco`` (Karpathy splits from local files),
``hf`` (a Hugging Face ``datasets`` id); for VQA (samples with a ``question``, answers as
references) ``vqav2``, ``gqa``, ``textvqa`` (official files on disk) and ``folder`` with
question entries. Backends are imported on first use.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from collab_infer.datasets.check import check
from collab_infer.datasets.sample import Sample
from collab_infer.datasets.subset import Subset, select_indices
from collab_infer.registry import Registry

__all__ = ["DATASETS", "Sample", "Subset", "check", "load", "select_indices"]

DATASETS: Registry = Registry("dataset")
DATASETS.add("shapes", "collab_infer.datasets.shapes:ShapesDataset")
DATASETS.add("folder", "collab_infer.datasets.folder:FolderDataset")
DATASETS.add("coco", "collab_infer.datasets.coco:CocoKarpathy")
DATASETS.add("hf", "collab_infer.datasets.hf:HFDataset")
DATASETS.add("vqav2", "collab_infer.datasets.vqav2:VQAv2")
DATASETS.add("gqa", "collab_infer.datasets.gqa:GQA")
DATASETS.add("textvqa", "collab_infer.datasets.textvqa:TextVQA")


def load(
    name: str, *, split: str = "test", n: int | None = None, seed: int = 0, **kw: Any
) -> Sequence[Sample]:
    """``n`` samples of dataset ``name`` (all when ``n`` is None), chosen deterministically.

    Datasets that generate their samples (``shapes``: its constructor takes ``n`` and
    ``seed``) produce exactly ``n``; the others are subsampled with
    :func:`select_indices` (``numpy.random.default_rng(seed)``, dataset order kept).

    :param kw: dataset parameters (``root=``, ``annotations=``, ``image_root=``, ``path=``...).
    :raises CollabInferError: what :func:`check` finds (unknown name, split or option, a
        missing option or path, too many images for the memory), before any image is read.
    """
    check(name, split=split, n=n, seed=seed, **kw)
    cls = DATASETS.get(name)
    params = inspect.signature(cls).parameters
    if "n" in params and "seed" in params:
        return cls(split=split, n=n, seed=seed, **kw)
    dataset = cls(split=split, **kw)
    indices = select_indices(len(dataset), n, seed)
    if n is None:
        return dataset
    return Subset(dataset, indices)
