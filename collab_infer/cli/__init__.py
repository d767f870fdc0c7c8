"""The ``collab-infer`` command line (typer + rich).

Each command lives in its own module under this package and imports heavy libraries
inside the command body, so ``collab-infer --help`` answers in about a second.
"""

from __future__ import annotations

from collab_infer.cli.app import app

# Command modules register themselves on `app` when imported.
from collab_infer.cli import info  # noqa: E402,F401  isort: skip
from collab_infer.cli import train_default  # noqa: E402,F401  isort: skip
from collab_infer.cli import reproduce  # noqa: E402,F401  isort: skip
from collab_infer.cli import sweep  # noqa: E402,F401  isort: skip
from collab_infer.cli import caption  # noqa: E402,F401  isort: skip
from collab_infer.cli import show_tokens  # noqa: E402,F401  isort: skip
from collab_infer.cli import serve  # noqa: E402,F401  isort: skip
from collab_infer.cli import edge  # noqa: E402,F401  isort: skip
from collab_infer.cli import link  # noqa: E402,F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    app()
