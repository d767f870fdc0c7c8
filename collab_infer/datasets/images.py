"""Reading images from disk with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from collab_infer.errors import CollabInferError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["open_image"]


def open_image(path: str | Path) -> Image.Image:
    """The image at ``path``, decoded and converted to RGB.

    :raises CollabInferError: the file is missing, is a directory, or is not a readable image.
    """
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    p = Path(path).expanduser()
    if not p.exists():
        raise CollabInferError(f"image file {p} does not exist")
    if not p.is_file():
        raise CollabInferError(f"{p} is not an image file (it is a directory)")
    try:
        with PILImage.open(p) as im:
            im.load()
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CollabInferError(f"cannot read image {p}: {exc}") from exc
