"""``collab-infer info``: versions of the suite and the libraries it uses."""

from __future__ import annotations

import importlib.metadata as md

from rich.console import Console
from rich.table import Table

from collab_infer.cli.app import app

_PACKAGES = [
    "collab-infer",
    "torch",
    "transformers",
    "sionna-no-rt",
    "numpy",
    "constriction",
    "pydantic",
    "typer",
]


@app.command()
def info() -> None:
    """Print the versions of collab-infer and the libraries it relies on."""
    table = Table(title="collab-infer environment")
    table.add_column("package")
    table.add_column("version")
    for name in _PACKAGES:
        try:
            version = md.version(name)
        except md.PackageNotFoundError:
            version = "not installed"
        table.add_row(name, version)
    Console().print(table)
