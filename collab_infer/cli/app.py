"""The typer application object shared by all command modules."""

import typer

__all__ = ["app"]

app = typer.Typer(
    name="collab-infer",
    help="Simulate and evaluate edge-server collaborative inference of VLMs over wireless links.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Simulate and evaluate edge-server collaborative inference of VLMs over wireless
    links. Run ``collab-infer COMMAND --help`` for a command's options."""
    from collab_infer.cli.errors import show_warnings_plainly

    show_warnings_plainly()
