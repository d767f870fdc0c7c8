"""The common part of the VQA datasets: a list of (id, image path, question, answers)
read from local files, each item one :class:`Sample` with ``question`` set and the
answers in ``references``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collab_infer.datasets.images import open_image
from collab_infer.datasets.sample import Sample
from collab_infer.errors import CollabInferError

__all__ = ["QAItem", "QADataset", "read_json", "require_file", "require_dir"]


@dataclass(frozen=True)
class QAItem:
    """One question: its id, the image file, the question and the human answers."""

    id: str
    path: Path
    question: str
    answers: tuple[str, ...]


def read_json(path: Path, what: str) -> Any:
    """The JSON content of ``path`` (an error naming the file and ``what`` it should be)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CollabInferError(f"cannot read {what} {path}: {exc}") from exc


def require_file(value: object, option: str, dataset: str, hint: str) -> Path:
    """``value`` as an existing file path (error: which option, of which dataset, and what
    the file is)."""
    if value is None:
        raise CollabInferError(f"{dataset} needs {option}=<{hint}>")
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise CollabInferError(f"{dataset}: {option} file {path} does not exist ({hint})")
    return path


def require_dir(value: object, option: str, dataset: str, hint: str) -> Path:
    """``value`` as an existing directory (see :func:`require_file`)."""
    if value is None:
        raise CollabInferError(f"{dataset} needs {option}=<{hint}>")
    path = Path(str(value)).expanduser()
    if not path.is_dir():
        raise CollabInferError(f"{dataset}: {option} {path} is not a directory ({hint})")
    return path


class QADataset(Sequence[Sample]):
    """Questions about images (subclasses fill :attr:`items` and :attr:`source`)."""

    items: list[QAItem]
    source: Path
    split: str

    def _finish(self, items: list[QAItem]) -> None:
        if not items:
            raise CollabInferError(f"{self.source} has no questions (split {self.split!r})")
        ids = [it.id for it in items]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise CollabInferError(f"{self.source}: question id {dup!r} appears twice")
        for it in items:
            if not it.question.strip():
                raise CollabInferError(f"{self.source}: question {it.id!r} is empty")
            if not it.answers or not all(isinstance(a, str) for a in it.answers):
                raise CollabInferError(f"{self.source}: question {it.id!r} has no answers")
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        it = self.items[i]
        return Sample(
            id=it.id,
            image=open_image(it.path),
            references=list(it.answers),
            question=it.question.strip(),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.source)!r}, split={self.split!r}, n={len(self)})"
