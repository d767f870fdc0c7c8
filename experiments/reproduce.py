"""The main job: run the shipped sweep configs on the default model and the ``shapes``
test split, then write the figures and ``report.md``, and compare the rows with the
committed reference run.

Outputs in ``out_dir``: ``results.parquet`` + ``results.csv`` (every row, with its full
parameters), ``captions.jsonl`` (per-image captions), ``figures/*.png`` and
``report.md``. Re-running resumes: finished rows are skipped (delete the folder to
start over).

The CLI (``collab-infer reproduce``) computes into the untracked ``runs/reproduce/``
by default and compares its rows with :data:`REFERENCE_DIR` (``results/``, tracked) by
row hash (:mod:`experiments.compare`); ``results/`` is rewritten only on purpose
(``make reference``, i.e. ``reproduce --out results``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.config import SweepConfig, load_config
from experiments.rows import ResultsStore

__all__ = [
    "CONFIG_DIR",
    "DEFAULT_OUT",
    "FIGURES",
    "REFERENCE_DIR",
    "ReproduceSummary",
    "reproduce",
    "figure_configs",
]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: the committed reference run (tracked in git; rewritten only by ``make reference``)
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "results"
#: where ``collab-infer reproduce`` computes by default (git-ignored)
DEFAULT_OUT = Path("runs/reproduce")
#: (config file stem, plot function name in experiments.plots)
FIGURES: tuple[tuple[str, str], ...] = (
    ("fig3", "plot_fig3"),
    ("rate", "plot_rate"),
    ("snr", "plot_snr"),
    ("loss", "plot_loss"),
    ("snrbudget", "plot_snr_budget"),
    ("uses", "plot_uses"),
    ("nr", "plot_nr"),
)


@dataclass
class ReproduceSummary:
    out_dir: Path
    report: Path
    figures: list[Path] = field(default_factory=list)
    rows_run: int = 0
    rows_skipped: int = 0
    #: rows found in ``out_dir`` from an earlier call (not shared between this call's configs)
    rows_reused: int = 0
    seconds: float = 0.0
    config_seconds: dict[str, float] = field(default_factory=dict)
    #: this run's rows vs the reference (None: not compared)
    comparison: Any = None


def figure_configs(quick: bool = False, config_dir: Path = CONFIG_DIR) -> list[SweepConfig]:
    """The shipped configs, in report order (``quick``: their quick variants)."""
    return [load_config(config_dir / f"{stem}.yaml", quick=quick) for stem, _ in FIGURES]


def reproduce(
    out_dir: str | Path,
    *,
    quick: bool = False,
    model: Any = None,
    configs: list[SweepConfig] | None = None,
    images: Any = None,
    progress: bool = True,
    log=print,
    reference: str | Path | None = None,
    executor: Any = None,
) -> ReproduceSummary:
    """Run the figure sweeps (resumable), then plots and the report.

    :param out_dir: output folder
    :param quick: the configs' quick variants (a smoke run of about a minute)
    :param model: a loaded VLM (default: each config's ``model.name``, loaded once)
    :param configs: override the shipped configs (tests)
    :param images: an :class:`experiments.runner.ImageSet` for every config (tests)
    :param reference: a reference output folder (e.g. :data:`REFERENCE_DIR`) to compare
        this run's rows with by row hash; the comparison goes into ``report.md`` and
        ``summary.comparison``. Skipped when it is ``out_dir`` itself or None.
    :param executor: where the sweeps' rows are computed (``run_sweep(executor=...)``;
        None: this process); a remote one loads each config's model itself (the token
        map figure still encodes one image here)
    """
    if executor is not None and model is not None:
        raise ValueError("reproduce: model= is for the local runner; with an executor pass none")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with ResultsStore(out).lock():
        from experiments import plots
        from experiments.report import check_claims, example_captions, figure_rows, write_report
        from experiments.runner import ImageSet, run_sweep

        t0 = time.perf_counter()
        configs = configs if configs is not None else figure_configs(quick)
        summary = ReproduceSummary(out, out / "report.md")
        done_before = ResultsStore(out).done()
        models: dict[tuple, Any] = {}
        image_sets: dict[tuple, Any] = {}

        def get_model(cfg: SweepConfig):
            if model is not None:
                return model
            key = cfg.model.cache_key()
            if key not in models:
                from collab_infer.models import load

                models[key] = load(cfg.model.name, **cfg.model.load_kwargs())
            return models[key]

        def get_images(cfg: SweepConfig):
            if images is not None:
                return images
            d = cfg.dataset
            key = (d.name, d.split, d.n, d.seed, tuple(sorted(d.options.items())))
            if key not in image_sets:
                from collab_infer import datasets

                image_sets[key] = ImageSet.from_samples(
                    datasets.load(d.name, split=d.split, n=d.n, seed=d.seed, **d.options)
                )
            return image_sets[key]

        specs: dict[str, list] = {}
        for cfg in configs:
            tc = time.perf_counter()
            res = run_sweep(
                cfg,
                out,
                model=get_model(cfg) if executor is None else None,
                images=get_images(cfg),
                progress=progress,
                executor=executor,
            )
            specs[cfg.name] = res.rows
            summary.rows_run += res.rows_run
            summary.rows_skipped += res.rows_skipped
            summary.config_seconds[cfg.name] = time.perf_counter() - tc
            log(
                f"{cfg.name}: {res.rows_run} rows run, {res.rows_skipped} already done, "
                f"{summary.config_seconds[cfg.name]:.1f} s"
            )

        table = ResultsStore(out).table()
        summary.rows_reused = len(done_before & {r.row_hash for v in specs.values() for r in v})
        comparison = None
        if reference is not None and Path(reference).resolve() != out.resolve():
            from experiments.compare import compare_dirs

            ref = Path(reference)
            if (ref / ResultsStore.RESULTS).exists():
                comparison = compare_dirs(
                    out, ref, rows={r.row_hash for rows in specs.values() for r in rows}
                )
            else:
                log(f"no reference results in {ref}: nothing to compare with")
        summary.comparison = comparison
        fig_dir = out / "figures"
        sections = []
        claims = None
        plotters = dict(FIGURES)
        for cfg in configs:
            df = figure_rows(table, specs[cfg.name])
            fig_name = None
            stem = cfg.name.split("_")[0]
            if len(df) and stem in plotters:
                path = getattr(plots, plotters[stem])(df, fig_dir / f"{cfg.name}.png")
                summary.figures.append(path)
                fig_name = str(path.relative_to(out))
            if stem == "fig3" and claims is None:
                ims3 = get_images(cfg)
                claims = check_claims(
                    df,
                    captions=ResultsStore(out).captions(),
                    references=dict(zip(ims3.ids, ims3.references, strict=True)),
                )
            sections.append((cfg, df, fig_name))

        token_fig = None
        first = configs[0]
        m, ims = get_model(first), get_images(first)
        if getattr(m, "grid", None):
            tokens = m.encode([ims.images[0]])[0]
            n = int(m.n_tokens)
            ks = sorted({k for k in (1, 2, 4, 8, 16) if k <= n} | ({max(1, round(n / 32))}))
            path = plots.plot_token_map(
                ims.images[0], tokens, tuple(m.grid), fig_dir / "tokens.png", ks=ks
            )
            summary.figures.append(path)
            token_fig = str(path.relative_to(out))

        summary.seconds = time.perf_counter() - t0
        from experiments.runner import _git_hash, _versions

        ds, gen = first.dataset, first.generation
        meta = {
            "mode": "quick (smoke run: few images, few rows)" if quick else "full",
            "model": (
                f"{first.model.name} (N = {m.n_tokens}, D = {m.dim}, split = {first.model.split})"
            ),
            "weights": str(m.describe().get("weights", "unknown"))
            + (
                " (**captions are meaningless: the default model is not trained**)"
                if m.describe().get("weights") == "random-init"
                else ""
            ),
            "dataset": f"{ds.name}/{ds.split}, seed {ds.seed}; images per sweep: "
            + ", ".join(f"{c.name} {len(get_images(c))}" for c in configs),
            "generation": (
                f"max_new_tokens {gen.max_new_tokens}, beams {gen.num_beams}, "
                f"batch {gen.batch_size}"
            ),
            "rows": f"{len(table)} in results.parquet ({summary.rows_run} computed by this call)",
            "time of this call": f"{summary.seconds:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in summary.config_seconds.items())
            + ")",
            "git": _git_hash(),
            "versions": ", ".join(f"{k} {v}" for k, v in _versions().items()),
        }
        examples = None
        fig3 = next((df for cfg, df, _ in sections if cfg.name.split("_")[0] == "fig3"), None)
        if fig3 is not None and claims is not None:
            fig3_cfg = next(c for c in configs if c.name.split("_")[0] == "fig3")
            fims = get_images(fig3_cfg)
            refs = dict(zip(fims.ids, fims.references, strict=True))
            examples = example_captions(ResultsStore(out).captions(), fig3, claims, refs)
        write_report(
            out,
            sections,
            claims=claims,
            meta=meta,
            token_figure=token_fig,
            examples=examples,
            comparison=comparison,
        )
        return summary
