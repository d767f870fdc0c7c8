"""``textvqa``: TextVQA questions with their ten human answers, from the official file.

Needs ``TextVQA_0.5.1_val.json`` (``{"data": [{"question_id": 34602, "image_id":
"003a8ae2ef43b901", "question": "...", "answers": ["nokia", ...], ...}, ...]}``) and the
images (``image_root/<image_id>.jpg``). Sample ids are the question ids. Scored with
VQAv2 accuracy (TextVQA's official metric); ANLS is reported beside it.

>>> ds = TextVQA(annotations="TextVQA_0.5.1_val.json", image_root="train_images")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from collab_infer.datasets.qa import QADataset, QAItem, read_json, require_dir, require_file
from collab_infer.errors import CollabInferError

__all__ = ["TextVQA"]


class TextVQA(QADataset):
    """TextVQA questions (see the module docstring); ``split`` is a label only."""

    def __init__(
        self,
        annotations: str | Path | None = None,
        image_root: str | Path | None = None,
        *,
        split: str = "val",
    ) -> None:
        self.dry_check(annotations=annotations, image_root=image_root)
        path = require_file(annotations, "annotations", "textvqa", "the TextVQA JSON")
        root = require_dir(image_root, "image_root", "textvqa", "the TextVQA images")
        self.source, self.split = path, split
        items = []
        try:
            for q in read_json(path, "TextVQA annotations")["data"]:
                image = root / f"{q['image_id']}.jpg"
                if not image.is_file():
                    raise CollabInferError(
                        f"{image} does not exist (TextVQA question {q['question_id']})"
                    )
                items.append(
                    QAItem(str(q["question_id"]), image, q["question"], tuple(q["answers"]))
                )
        except (KeyError, TypeError) as exc:
            raise CollabInferError(
                f"{path} is not in the TextVQA format (missing or bad field {exc})"
            ) from exc
        self._finish(items)

    @staticmethod
    def dry_check(*, annotations: object = None, image_root: object = None, **_) -> None:
        """The argument checks that need no file read."""
        require_file(annotations, "annotations", "textvqa", "the TextVQA JSON")
        require_dir(image_root, "image_root", "textvqa", "the TextVQA images")
