"""``collab-infer sweep CONFIG.yaml --out DIR``: run one sweep config (resumable)."""

from __future__ import annotations

from pathlib import Path

import typer

from collab_infer.cli.app import app


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="sweep config YAML (see experiments/configs/)"),
    out: Path = typer.Option(Path("runs/sweep"), "--out", "-o", help="output folder"),
    quick: bool = typer.Option(False, "--quick", help="apply the config's quick overrides"),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="write the config's figure"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar"),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: all cores)"),
) -> None:
    """Run every row of CONFIG not yet in OUT/results.parquet; append rows as they finish
    (Ctrl-C loses nothing finished; re-run to resume). Writes results.parquet,
    results.csv and captions.jsonl."""
    from rich.console import Console

    from collab_infer.errors import CollabInferError
    from collab_infer.runtime import set_threads
    from experiments.config import load_config
    from experiments.runner import run_sweep

    console = Console()
    set_threads(threads or None)
    try:
        cfg = load_config(config, quick=quick)
        summary = run_sweep(cfg, out, progress=progress)
    except CollabInferError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"{cfg.name}: {summary.rows_run} rows run, {summary.rows_skipped} already done "
        f"({summary.rows_total} total) in {summary.seconds:.1f} s -> {out / 'results.parquet'}"
    )
    if plot and summary.rows_total:
        from experiments import plots
        from experiments.report import figure_rows
        from experiments.reproduce import FIGURES
        from experiments.rows import ResultsStore

        stem = cfg.name.split("_")[0]
        fn = dict(FIGURES).get(stem)
        if fn is None:
            return
        df = figure_rows(ResultsStore(out).table(), summary.rows)
        if len(df):
            path = getattr(plots, fn)(df, out / f"{cfg.name}.png")
            console.print(f"figure: {path}")
