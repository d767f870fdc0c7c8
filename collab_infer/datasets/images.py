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

    :raises CollabInferError: the file is missing, is a directory or a device, is not a
        readable image, or has more pixels than PIL's decompression-bomb limit.
    """
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    p = Path(path).expanduser()
    if not p.exists():
        raise CollabInferError(f"image file {p} does not exist")
    if p.is_dir():
        raise CollabInferError(f"{p} is a directory, not an image file: pass an image file")
    if not p.is_file():
        raise CollabInferError(
            f"{p} is not a regular file (a device, pipe or socket), so not an image: pass an "
            "image file"
        )
    try:
        with PILImage.open(p) as im:
            im.load()
            return im.convert("RGB")
    except PILImage.DecompressionBombError as exc:
        raise CollabInferError(
            f"image {p} is too large to decode safely: {exc} Downscale it (the model resizes "
            "its input anyway), or, for a file you trust, raise PIL.Image.MAX_IMAGE_PIXELS"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CollabInferError(f"cannot read image {p}: {exc}") from exc
