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
    sets: list[str] | None = typer.Option(
        None,
        "--set",
        help="override a config value, KEY=VALUE with a dotted KEY (repeatable), e.g. "
        "--set dataset.options.root=/data/coco --set dataset.n=500",
    ),
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
    """Run every row of CONFIG not yet in OUT/results.parquet; append rows as they finish
    (Ctrl-C loses nothing finished; re-run to resume). Writes results.parquet,
    results.csv and captions.jsonl."""
    from rich.console import Console

    from collab_infer.cli.errors import check_out_dir, check_threads, interrupted, user_errors
    from collab_infer.runtime import set_threads
    from experiments.config import load_config
    from experiments.executors import cli_executor
    from experiments.runner import run_sweep

    console = Console()
    finished: list[str] = []
    with user_errors():
        check_threads(threads)
        cfg = load_config(config, quick=quick, overrides=sets or ())
        check_out_dir(out)
        set_threads(threads or None)
        ex_opts = {"address": address, "workers": workers}
        ex_opts.update(gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker)
        with cli_executor(executor, **ex_opts) as ex:
            try:
                summary = run_sweep(
                    cfg,
                    out,
                    progress=progress,
                    on_row=lambda r: finished.append(r["row_hash"]),
                    executor=ex,
                )
            except KeyboardInterrupt:
                interrupted(out, len(finished))
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
        with user_errors():
            df = figure_rows(ResultsStore(out).table(), summary.rows)
            if len(df):
                from collab_infer.tasks import primary_metric

                metric = primary_metric(cfg.task, cfg.dataset.name)  # bleu4 for captions
                path = getattr(plots, fn)(df, out / f"{cfg.name}.png", metric=metric)
                console.print(f"figure: {path}")
