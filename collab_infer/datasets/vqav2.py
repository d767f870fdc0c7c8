"""``vqav2``: VQA v2 questions with their ten human answers, from the official files.

Needs the questions file (``v2_OpenEnded_mscoco_val2014_questions.json``: ``{"questions":
[{"image_id": 262148, "question": "...", "question_id": 262148000}, ...]}``), the
annotations file (``v2_mscoco_val2014_annotations.json``: ``{"annotations":
[{"question_id": 262148000, "answers": [{"answer": "down", ...}, ...], ...}, ...]}``)
and the COCO images in ``image_root`` (``COCO_val2014_000000262148.jpg`` or
``000000262148.jpg``). Sample ids are the question ids. Scored with VQAv2 accuracy.

>>> ds = VQAv2(questions="v2_..._questions.json", annotations="v2_..._annotations.json",
...            image_root="coco/val2014")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from pathlib import Path

from collab_infer.datasets.qa import QADataset, QAItem, read_json, require_dir, require_file
from collab_infer.errors import CollabInferError

__all__ = ["VQAv2", "coco_image_index"]

_COCO_ID = re.compile(r"(\d{12})\.(?:jpg|jpeg|png)$", re.IGNORECASE)


def coco_image_index(image_root: Path) -> dict[int, Path]:
    """COCO image id -> file, for every ``*<12-digit id>.jpg`` in ``image_root``."""
    out: dict[int, Path] = {}
    for p in image_root.iterdir():
        m = _COCO_ID.search(p.name)
        if m is not None:
            out[int(m.group(1))] = p
    return out


class VQAv2(QADataset):
    """VQA v2 questions (see the module docstring); ``split`` is a label only (the files
    decide which questions there are)."""

    def __init__(
        self,
        questions: str | Path | None = None,
        annotations: str | Path | None = None,
        image_root: str | Path | None = None,
        *,
        split: str = "val",
    ) -> None:
        self.dry_check(questions=questions, annotations=annotations, image_root=image_root)
        qpath = require_file(questions, "questions", "vqav2", "the questions JSON")
        apath = require_file(annotations, "annotations", "vqav2", "the annotations JSON")
        root = require_dir(image_root, "image_root", "vqav2", "the COCO images")
        self.source, self.split = qpath, split
        try:
            qs = read_json(qpath, "VQAv2 questions")["questions"]
            anns = read_json(apath, "VQAv2 annotations")["annotations"]
            answers = {a["question_id"]: [x["answer"] for x in a["answers"]] for a in anns}
            index = coco_image_index(root)
            items = []
            for q in qs:
                qid = q["question_id"]
                if qid not in answers:
                    raise CollabInferError(f"{apath} has no answers for question {qid}")
                if q["image_id"] not in index:
                    raise CollabInferError(
                        f"{root} has no image for COCO id {q['image_id']} (question {qid}); "
                        f"expected e.g. COCO_val2014_{q['image_id']:012d}.jpg"
                    )
                items.append(
                    QAItem(str(qid), index[q["image_id"]], q["question"], tuple(answers[qid]))
                )
        except (KeyError, TypeError) as exc:
            raise CollabInferError(
                f"{qpath} / {apath} are not in the VQA v2 format (missing or bad field {exc})"
            ) from exc
        self._finish(items)

    @staticmethod
    def dry_check(
        *, questions: object = None, annotations: object = None, image_root: object = None, **_
    ) -> None:
        """The argument checks that need no file read."""
        require_file(questions, "questions", "vqav2", "the questions JSON")
        require_file(annotations, "annotations", "vqav2", "the annotations JSON")
        require_dir(image_root, "image_root", "vqav2", "the COCO images")
