"""``gqa``: GQA questions (one gold answer each), from the official files.

Needs a questions file (e.g. ``testdev_balanced_questions.json``: ``{"<question id>":
{"imageId": "n161313", "question": "...", "answer": "no", ...}, ...}``) and the images
(``image_root/<imageId>.jpg``). Sample ids are the question ids. Scored with exact match.

>>> ds = GQA(questions="testdev_balanced_questions.json", image_root="gqa/images")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from collab_infer.datasets.qa import QADataset, QAItem, read_json, require_dir, require_file
from collab_infer.errors import CollabInferError

__all__ = ["GQA"]


class GQA(QADataset):
    """GQA questions (see the module docstring); ``split`` is a label only."""

    def __init__(
        self,
        questions: str | Path | None = None,
        image_root: str | Path | None = None,
        *,
        split: str = "testdev",
    ) -> None:
        self.dry_check(questions=questions, image_root=image_root)
        qpath = require_file(questions, "questions", "gqa", "the questions JSON")
        root = require_dir(image_root, "image_root", "gqa", "the GQA images")
        self.source, self.split = qpath, split
        data = read_json(qpath, "GQA questions")
        if not isinstance(data, dict):
            raise CollabInferError(f"{qpath} is not in the GQA format (a JSON object of questions)")
        items = []
        try:
            for qid, q in data.items():
                path = root / f"{q['imageId']}.jpg"
                if not path.is_file():
                    raise CollabInferError(f"{path} does not exist (GQA question {qid})")
                items.append(QAItem(str(qid), path, q["question"], (q["answer"],)))
        except (KeyError, TypeError) as exc:
            raise CollabInferError(
                f"{qpath} is not in the GQA format (missing or bad field {exc})"
            ) from exc
        self._finish(items)

    @staticmethod
    def dry_check(*, questions: object = None, image_root: object = None, **_) -> None:
        """The argument checks that need no file read."""
        require_file(questions, "questions", "gqa", "the questions JSON")
        require_dir(image_root, "image_root", "gqa", "the GQA images")
