"""``hf``: an image-captioning dataset from the Hugging Face hub (``datasets`` library).

Loaded lazily: ``datasets`` is imported only when this dataset is used, and the rows are
decoded only when read. The image column is the first ``Image`` feature (or
``image_column``); the references come from ``caption_column`` or the first of
``captions``, ``caption``, ``sentences``, ``sentences_raw``, ``text`` (a string or a list of
strings per row; lists of ``{"raw": ...}`` are understood too).

>>> ds = HFDataset(path="org/captions", split="test")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from collab_infer.datasets.sample import Sample
from collab_infer.errors import CollabInferError

__all__ = ["HFDataset", "CAPTION_COLUMNS"]

CAPTION_COLUMNS = ("captions", "caption", "sentences", "sentences_raw", "text")
_ID_COLUMNS = ("id", "image_id", "cocoid", "imgid")


def _import_datasets() -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise CollabInferError(
            "the 'hf' dataset needs the Hugging Face `datasets` library: pip install datasets "
            "(or use the 'folder' or 'coco' dataset with local files)"
        ) from exc
    return datasets


class HFDataset(Sequence[Sample]):
    """One split of a Hugging Face dataset as :class:`Sample` items.

    :param path: the dataset id (``org/name``) or a local dataset directory (as for
        ``datasets.load_dataset``).
    :param split: the split to load.
    :param image_column: the image column (default: the first ``Image`` feature).
    :param caption_column: the reference column (default: see the module docstring).
    :param kw: passed to ``datasets.load_dataset`` (``revision``, a config ``name``, ...).
    :raises CollabInferError: ``datasets`` missing, the hub unreachable, or no usable columns.
    """

    def __init__(
        self,
        path: str,
        split: str = "test",
        *,
        image_column: str | None = None,
        caption_column: str | None = None,
        **kw: Any,
    ) -> None:
        name = path
        datasets = _import_datasets()
        try:
            self._data = datasets.load_dataset(name, split=split, **kw)
        except (FileNotFoundError, ConnectionError, OSError) as exc:
            from collab_infer.models.hub import offline_variable

            flag = offline_variable(("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
            fix = (
                f"{flag} is set, so only local files and the cache are used: set "
                f"{flag.partition('=')[0]}=0 to download from the hub (network and login, "
                "`hf auth login`)"
                if flag
                else "if it lives on the hub, check the network and login (`hf auth login`)"
            )
            raise CollabInferError(
                f"cannot load the Hugging Face dataset {name!r} (split {split!r}): {exc}. "
                f"{fix}; or use a local 'folder' or 'coco' dataset"
            ) from exc
        except ValueError as exc:
            raise CollabInferError(f"cannot load {name!r} split {split!r}: {exc}") from exc
        features = self._data.features
        if image_column is None:
            image_column = next(
                (k for k, f in features.items() if type(f).__name__ == "Image"), None
            )
        if image_column is None or image_column not in features:
            raise CollabInferError(
                f"{name!r} has no image column (columns: {', '.join(features)}); pass "
                "image_column=..."
            )
        if caption_column is None:
            caption_column = next((c for c in CAPTION_COLUMNS if c in features), None)
        if caption_column is None or caption_column not in features:
            raise CollabInferError(
                f"{name!r} has no caption column (columns: {', '.join(features)}); pass "
                "caption_column=..."
            )
        self.name, self.split = name, split
        self.image_column, self.caption_column = image_column, caption_column
        self._id_column = next((c for c in _ID_COLUMNS if c in features), None)

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        row = self._data[int(i)]
        refs = _references(row[self.caption_column])
        id_ = row[self._id_column] if self._id_column else i
        image = row[self.image_column]
        if not hasattr(image, "convert"):
            raise CollabInferError(
                f"{self.name!r} column {self.image_column!r} does not hold images"
            )
        return Sample(id=str(id_), image=image.convert("RGB"), references=refs)

    def __repr__(self) -> str:
        return f"HFDataset({self.name!r}, split={self.split!r}, n={len(self)})"


def _references(value: Any) -> list[str]:
    """A row's references: a string, a list of strings, or a list of ``{"raw": ...}``."""
    if isinstance(value, str):
        return [value.strip()]
    if isinstance(value, dict) and "raw" in value:
        return _references(value["raw"])
    if isinstance(value, list | tuple):
        out: list[str] = []
        for v in value:
            out.extend(_references(v))
        return out
    raise CollabInferError(f"cannot read references from a {type(value).__name__}")
