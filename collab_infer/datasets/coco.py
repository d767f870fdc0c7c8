"""``coco``: MS-COCO captions with Karpathy's splits, from local files.

Needs Karpathy's ``dataset_coco.json`` (``{"images": [{"filepath": "val2014", "filename":
"COCO_val2014_000000391895.jpg", "cocoid": 391895, "split": "test", "sentences": [{"raw":
"..."}, ...]}, ...]}``) and the COCO images under ``image_root/<filepath>/<filename>``.
Splits: ``train`` (Karpathy's train + restval, the usual 113k), ``val`` (5k), ``test`` (5k),
``restval``.

>>> ds = CocoKarpathy(annotations="coco/dataset_coco.json", image_root="coco/")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from collab_infer.datasets.images import open_image
from collab_infer.datasets.sample import Sample
from collab_infer.errors import CollabInferError

__all__ = ["CocoKarpathy", "SPLITS"]

SPLITS = ("train", "val", "test", "restval")
_MEMBERS = {"train": {"train", "restval"}, "val": {"val"}, "test": {"test"}, "restval": {"restval"}}


class CocoKarpathy(Sequence[Sample]):
    """COCO captions of one Karpathy split (ids are the COCO image ids).

    :param annotations: path of ``dataset_coco.json`` (default ``<root>/dataset_coco.json``).
    :param image_root: the directory holding ``train2014/`` and ``val2014/`` (default ``root``).
    :param root: a directory holding both (used for whichever of the two is not given).
    :param split: one of :data:`SPLITS`.
    :raises CollabInferError: missing or malformed annotation file, unknown split; a
        missing image is reported, by file name, when its sample is read.
    """

    def __init__(
        self,
        annotations: str | Path | None = None,
        image_root: str | Path | None = None,
        *,
        root: str | Path | None = None,
        split: str = "test",
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.dry_check(annotations=annotations, root=root)
        base = Path(root).expanduser() if root is not None else None
        self.annotations = (
            Path(annotations).expanduser()
            if annotations is not None
            else base / "dataset_coco.json"
        )
        self.image_root = Path(image_root).expanduser() if image_root is not None else base
        if self.image_root is None:
            self.image_root = self.annotations.parent
        if not self.annotations.is_file():
            raise CollabInferError(f"COCO annotation file {self.annotations} does not exist")
        if not self.image_root.is_dir():
            raise CollabInferError(f"COCO image directory {self.image_root} does not exist")
        try:
            data = json.loads(self.annotations.read_text(encoding="utf-8"))
            images = data["images"]
            wanted = _MEMBERS[split]
            self._items = [
                (
                    str(im.get("cocoid", im.get("imgid", im["filename"]))),
                    Path(im.get("filepath", "")) / im["filename"],
                    [s["raw"].strip() for s in im["sentences"]],
                )
                for im in images
                if im["split"] in wanted
            ]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CollabInferError(f"cannot read {self.annotations}: {exc}") from exc
        except (KeyError, TypeError, AttributeError) as exc:
            raise CollabInferError(
                f"{self.annotations} is not in Karpathy's dataset_coco.json format "
                f"(missing or bad field {exc})"
            ) from exc
        if not self._items:
            raise CollabInferError(f"{self.annotations} has no images in split {split!r}")
        self.split = split

    @staticmethod
    def dry_check(*, annotations: object = None, root: object = None, **_: object) -> None:
        """The argument checks that need no file read (see :mod:`collab_infer.datasets.check`)."""
        if annotations is None and root is None:
            raise CollabInferError(
                "coco needs annotations=<path of Karpathy's dataset_coco.json> and "
                "image_root=<directory with train2014/ and val2014/> (or root=<directory "
                "holding both>)"
            )

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        id_, rel, refs = self._items[i]
        return Sample(id=id_, image=open_image(self.image_root / rel), references=list(refs))

    def __repr__(self) -> str:
        return f"CocoKarpathy({str(self.annotations)!r}, split={self.split!r}, n={len(self)})"
