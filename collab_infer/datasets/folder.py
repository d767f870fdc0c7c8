"""``folder``: a directory of images with their reference captions.

The captions live in the directory, in one of:

- ``captions.jsonl``: one JSON object per line, ``{"image": "cat.jpg", "captions": ["a cat",
  "a grey cat"]}`` (``"caption": "..."`` also accepted; optional ``"id"`` and ``"split"``);
- ``captions.csv``: a header with ``image`` and ``caption`` (optional ``id``, ``split``)
  columns, one row per caption; rows of the same image are grouped.

Image paths are relative to the directory (or absolute). When the entries carry a ``split``
only that split is kept; without split fields every entry belongs to every split.

For VQA, ``captions.jsonl`` lines hold a question and its answers instead: ``{"image":
"cat.jpg", "question": "what animal is this?", "answers": ["cat", "cat", "kitten"]}``
(``"answer": "..."`` also accepted; one line per question, an image may have several; the
default id is ``<image>#<n>``, the n-th question of that image). A file holds either
captions or questions, not both.

>>> ds = FolderDataset("my_images/", split="test")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from collab_infer.datasets.images import open_image
from collab_infer.datasets.sample import Sample
from collab_infer.errors import CollabInferError

__all__ = ["FolderDataset", "CAPTION_FILES"]

CAPTION_FILES = ("captions.jsonl", "captions.csv")


@dataclass(frozen=True)
class _Entry:
    id: str
    path: Path
    references: tuple[str, ...]
    split: str | None
    question: str | None = None


class FolderDataset(Sequence[Sample]):
    """Images + reference captions from a directory (see the module docstring).

    :param root: the directory.
    :param split: the split to keep when the entries name splits.
    :param captions: the captions file (default: ``captions.jsonl`` or ``captions.csv`` in
        ``root``, whichever exists).
    :raises CollabInferError: missing directory or captions file, malformed lines (with the
        line number), captions naming images that do not exist, an unknown split.
    """

    def __init__(self, root: str | Path, split: str = "test", captions: str | Path | None = None):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise CollabInferError(f"dataset directory {self.root} does not exist")
        self.captions_file = self._find_captions(captions)
        if self.captions_file.suffix == ".csv":
            entries = self._read_csv(self.captions_file)
        else:
            entries = self._read_jsonl(self.captions_file)
        if not entries:
            raise CollabInferError(f"{self.captions_file} lists no images")
        if len({e.question is None for e in entries}) > 1:
            raise CollabInferError(
                f"{self.captions_file} mixes caption entries and question entries: keep VQA "
                "questions in their own folder or captions file"
            )
        splits = {e.split for e in entries if e.split is not None}
        if splits:
            if split not in splits:
                raise CollabInferError(
                    f"{self.captions_file} has no entries of split {split!r}; splits present: "
                    f"{', '.join(sorted(splits))}"
                )
            entries = [e for e in entries if e.split == split]
        ids = [e.id for e in entries]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise CollabInferError(f"{self.captions_file}: image id {dup!r} appears twice")
        for e in entries:
            if not e.path.is_file():
                raise CollabInferError(f"{self.captions_file} names {e.path}, which does not exist")
        self.split = split
        self._entries = entries

    def _find_captions(self, captions: str | Path | None) -> Path:
        if captions is not None:
            path = Path(captions).expanduser()
            path = path if path.is_absolute() else self.root / path
            if not path.is_file():
                raise CollabInferError(f"captions file {path} does not exist")
            if path.suffix not in (".jsonl", ".csv"):
                raise CollabInferError(f"captions file {path} must end in .jsonl or .csv")
            return path
        found = [self.root / name for name in CAPTION_FILES if (self.root / name).is_file()]
        if not found:
            raise CollabInferError(
                f"{self.root} has no captions file: add captions.jsonl "
                '({"image": "a.jpg", "captions": ["..."]} per line) or captions.csv '
                "(columns image,caption)"
            )
        if len(found) > 1:
            raise CollabInferError(
                f"{self.root} has both captions.jsonl and captions.csv: pass captions=... to "
                "choose one"
            )
        return found[0]

    def _entry(
        self,
        where: str,
        image: object,
        refs: object,
        id_: object,
        split: object,
        question: object = None,
    ):
        if not isinstance(image, str) or not image:
            raise CollabInferError(f"{where}: 'image' must be a non-empty file name")
        if isinstance(refs, str):
            refs = [refs]
        what = "captions" if question is None else "answers"
        if question is not None and (not isinstance(question, str) or not question.strip()):
            raise CollabInferError(f"{where}: 'question' must be a non-empty string")
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise CollabInferError(f"{where}: '{what}' must be a non-empty list of strings")
        if not all(r.strip() for r in refs):
            raise CollabInferError(
                f"{where}: {'a caption' if question is None else 'an answer'} is empty"
            )
        path = Path(image) if Path(image).is_absolute() else self.root / image
        return _Entry(
            id=str(id_) if id_ not in (None, "") else image,
            path=path,
            references=tuple(r.strip() for r in refs),
            split=str(split) if split not in (None, "") else None,
            question=question.strip() if isinstance(question, str) else None,
        )

    def _read_jsonl(self, path: Path) -> list[_Entry]:
        entries = []
        per_image: dict[object, int] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CollabInferError(f"cannot read {path}: {exc}") from exc
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CollabInferError(f"{where}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise CollabInferError(f"{where}: expected a JSON object")
            question = obj.get("question")
            if question is None:
                refs = obj.get("captions", obj.get("caption"))
            else:
                refs = obj.get("answers", obj.get("answer"))
            id_ = obj.get("id")
            if question is not None and id_ in (None, ""):  # the n-th question of the image
                n = per_image.get(obj.get("image"), 0)
                per_image[obj.get("image")] = n + 1
                id_ = f"{obj.get('image')}#{n}"
            entries.append(
                self._entry(where, obj.get("image"), refs, id_, obj.get("split"), question)
            )
        return entries

    def _read_csv(self, path: Path) -> list[_Entry]:
        try:
            with path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
                fields = set(rows[0].keys()) if rows else set()
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CollabInferError(f"cannot read {path}: {exc}") from exc
        if rows and not {"image", "caption"} <= fields:
            raise CollabInferError(
                f"{path} needs the columns 'image' and 'caption' (has {sorted(fields)})"
            )
        grouped: dict[str, dict] = {}
        for lineno, row in enumerate(rows, 2):
            image = row["image"]
            g = grouped.setdefault(
                image, {"refs": [], "id": row.get("id"), "split": row.get("split"), "line": lineno}
            )
            g["refs"].append(row["caption"] or "")
        return [
            self._entry(f"{path}:{g['line']}", image, g["refs"], g["id"], g["split"])
            for image, g in grouped.items()
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        e = self._entries[i]
        return Sample(
            id=e.id, image=open_image(e.path), references=list(e.references), question=e.question
        )

    def __repr__(self) -> str:
        return f"FolderDataset({str(self.root)!r}, split={self.split!r}, n={len(self)})"
