"""``collab-infer reproduce [--quick] [--out DIR] [--check]``: the main job."""

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
        None,
        "--out",
        "-o",
        help="output folder (default: runs/reproduce/, or runs/quick/ with --quick; "
        "--out results rewrites the committed reference)",
    ),
    reference: Path = typer.Option(
        None,
        "--reference",
        help="reference run to compare the rows with (default: the committed results/; "
        "not compared with --quick unless given)",
    ),
    check: bool = typer.Option(
        False, "--check", help="exit 1 when any row differs from the reference (for CI)"
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bars"),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: all cores)"),
    executor: str = typer.Option(
        "local", "--executor", help="local (this process) or ray (a Ray cluster, README)"
    ),
    address: str = typer.Option(
        None, "--address", help="Ray cluster (auto, HOST:PORT); none: start a local one"
    ),
    workers: int = typer.Option(None, "--workers", help="Ray actors (default: all CPUs/GPUs)"),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", help="GPUs per actor"),
    cpus_per_worker: float = typer.Option(1.0, "--cpus-per-worker", help="CPUs per actor"),
) -> None:
    """Run the shipped sweeps (experiments/configs) on the default model and the shapes
    test split; write results.parquet/.csv, captions.jsonl, figures/*.png and report.md
    into an untracked folder, then compare every row with the committed reference run
    (results/) by row hash. Resumes where a previous run into the same folder stopped."""
    from rich.console import Console

    from collab_infer.cli.errors import check_out_dir, check_threads, interrupted, user_errors
    from collab_infer.runtime import set_threads
    from experiments.compare import comparison_rich
    from experiments.executors import cli_executor
    from experiments.reproduce import DEFAULT_OUT, REFERENCE_DIR
    from experiments.reproduce import reproduce as run

    console = Console()
    with user_errors():
        check_threads(threads)
        set_threads(threads or None)
    out = out or (Path("runs/quick") if quick else DEFAULT_OUT)
    if reference is None and not quick:
        reference = REFERENCE_DIR
    if check and reference is None:
        console.print("[red]error:[/red] --check needs a reference (give --reference with --quick)")
        raise typer.Exit(2)
    with user_errors():
        check_out_dir(out)
        ex_opts = {"address": address, "workers": workers}
        ex_opts.update(gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker)
        with cli_executor(executor, **ex_opts) as ex:
            try:
                summary = run(
                    out,
                    quick=quick,
                    progress=progress,
                    log=console.print,
                    reference=reference,
                    executor=ex,
                )
            except KeyboardInterrupt:
                interrupted(out)
    reused = (
        f", {summary.rows_reused} reused from an earlier run into {out} (delete it to "
        "recompute them)"
        if summary.rows_reused
        else ""
    )
    console.print(
        f"done in {summary.seconds:.1f} s: {summary.rows_run} rows computed{reused}; "
        f"report: {summary.report}"
    )
    comp = summary.comparison
    if comp is not None:
        console.print(comparison_rich(comp))
    if check:
        if comp is None:
            console.print(f"[red]--check: no reference results in {reference}[/red]")
            raise typer.Exit(1)
        if not comp.identical:
            console.print(f"[red]--check: {comp.summary()}[/red]")
            raise typer.Exit(1)
