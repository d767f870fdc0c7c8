"""``collab-infer reproduce [--quick] [--out DIR]``: the main job."""

from __future__ import annotations

from pathlib import Path

import typer

from collab_infer.cli.app import app


@app.command()
def reproduce(
    quick: bool = typer.Option(
        False, "--quick", help="smoke run of about a minute (few images, few rows)"
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="output folder (default: results/, or runs/quick/ with --quick)"
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bars"),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: all cores)"),
) -> None:
    """Run the shipped sweeps (experiments/configs: fig3, rate, snr, loss) on the default
    model and the shapes test split; write results.parquet/.csv, captions.jsonl,
    figures/*.png and report.md. Resumes where a previous run stopped."""
    from rich.console import Console

    from collab_infer.errors import CollabInferError
    from collab_infer.runtime import set_threads
    from experiments.reproduce import reproduce as run

    console = Console()
    set_threads(threads or None)
    out = out or Path("runs/quick" if quick else "results")
    try:
        summary = run(out, quick=quick, progress=progress, log=console.print)
    except CollabInferError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"done in {summary.seconds:.1f} s: {summary.rows_run} rows computed, "
        f"{summary.rows_skipped} reused; report: {summary.report}"
    )
