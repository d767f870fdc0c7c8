"""The one item every dataset yields: an image and its reference captions (or, for VQA,
its question and human answers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["Sample"]


@dataclass(frozen=True)
class Sample:
    """One captioned image.

    :param id: a stable identifier, unique within its dataset (e.g. the file name or COCO id).
    :param image: the image (RGB ``PIL.Image.Image``).
    :param references: the reference captions (at least one for scored datasets); for a
        VQA sample the human answers.
    :param question: the question of a VQA sample (None for captioning).
    """

    id: str
    image: Image.Image
    references: list[str] = field(default_factory=list)
    question: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"Sample.id must be a non-empty string, got {self.id!r}")
        if not all(isinstance(r, str) for r in self.references):
            raise TypeError(f"Sample.references must be a list of strings (sample {self.id!r})")
        if self.question is not None and (not isinstance(self.question, str) or not self.question):
            raise ValueError(f"Sample.question must be a non-empty string (sample {self.id!r})")
