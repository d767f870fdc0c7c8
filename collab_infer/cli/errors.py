"""How every command reports a user mistake: ``error: <what and how to fix it>`` on
stderr and exit status 2, never a traceback; Ctrl-C in a sweep says what was saved.

>>> check_threads(0)
>>> check_threads(-1)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
CollabInferError: --threads must be >= 0 (0: all cores), got -1
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import typer

from collab_infer.errors import CollabInferError

__all__ = [
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "user_errors",
    "fail",
    "check_threads",
    "check_out_dir",
    "interrupted",
    "show_warnings_plainly",
]

#: exit status of a user mistake (as click's usage errors)
EXIT_USAGE = 2
#: exit status after Ctrl-C (128 + SIGINT)
EXIT_INTERRUPTED = 130
#: what counts as a user mistake (the package's errors, bad values, unusable paths)
_USER_ERRORS = (
    CollabInferError,
    ValueError,
    TypeError,
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
_OUR_PACKAGES = ("collab_infer", "experiments", "channel", "codec")


def fail(message: str) -> None:
    """Print ``error: message`` on stderr and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user mistake raised inside into ``error: ...`` and exit status 2."""
    try:
        yield
    except _USER_ERRORS as exc:
        fail(str(exc) or type(exc).__name__)


def check_threads(threads: int) -> None:
    """``--threads``: 0 (all cores) or a positive count."""
    if threads < 0:
        raise CollabInferError(f"--threads must be >= 0 (0: all cores), got {threads}")


def check_out_dir(out: Path) -> None:
    """``--out`` must be a folder or a path that can become one."""
    if out.exists() and not out.is_dir():
        raise CollabInferError(
            f"--out {out} exists and is not a folder (it is a file): choose another --out "
            "folder, or move the file away"
        )
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise CollabInferError(f"--out {out}: {parent} is a file, not a folder")


def interrupted(out: Path, finished_now: int | None = None) -> None:
    """After Ctrl-C: say how many rows ``out`` holds and that rerunning resumes; exit 130."""
    from experiments.rows import ResultsStore

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            saved = len(ResultsStore(out).table())
        rows = f"{saved} row{'s' if saved != 1 else ''} saved in {out / ResultsStore.RESULTS}"
    except Exception as exc:  # noqa: BLE001 - best effort report while exiting
        rows = f"the rows saved in {out} could not be counted ({exc})"
    now = "" if finished_now is None else f" ({finished_now} finished by this run)"
    typer.echo(
        f"interrupted: {rows}{now}; rerun the same command to resume (finished rows are skipped)",
        err=True,
    )
    raise typer.Exit(EXIT_INTERRUPTED)


def show_warnings_plainly() -> None:
    """Print the suite's own warnings as ``warning: message`` lines on stderr (no file and
    line number); other libraries' warnings keep Python's format."""
    default = warnings.showwarning
    if getattr(default, "_collab_infer", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.split(".")[0] in _OUR_PACKAGES:
            (file or sys.stderr).write(f"warning: {message}\n")
        else:
            default(message, category, filename, lineno, file, line)

    show._collab_infer = True  # type: ignore[attr-defined]
    warnings.showwarning = show
