"""Compare a run's result rows with a reference run (the committed ``results/``).

Rows are matched by ``row_hash`` (a hash of every parameter that defines a row, the
model weights and the images, see :class:`experiments.config.RowSpec`), so only rows
that asked for the same computation are compared. For the matched rows the largest
absolute difference of every metric (BLEU-1..4, CIDEr-D, ROUGE-L, sacreBLEU) and every
channel-cost column (payload bits, channel uses, airtime, latency, energy, bits on air,
capacity ratio, realised packet loss, lost images) is reported (NaN: no matched rows); a
value that is NaN on one side only counts as an infinite difference, NaN on both sides
as equal; such columns present on one side only are listed, not compared. With the same
code, weights and library versions every matched row must be identical.

>>> import pandas as pd
>>> ref = pd.DataFrame({"row_hash": ["a", "b"], "bleu4": [0.5, 0.6], "bits": [10.0, 20.0]})
>>> run = pd.DataFrame({"row_hash": ["a", "c"], "bleu4": [0.5, 0.7], "bits": [12.0, 30.0]})
>>> c = compare_tables(run, ref)
>>> c.matched, c.only_run, c.only_reference, c.max_abs_diff["bits"], c.identical
(1, 1, 1, 2.0, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "COST_COLUMNS",
    "METRIC_COLUMNS",
    "Comparison",
    "compare_dirs",
    "compare_tables",
    "comparison_markdown",
    "comparison_rich",
]

#: caption-quality columns compared (those present in both tables)
METRIC_COLUMNS = ("bleu1", "bleu2", "bleu3", "bleu4", "cider_d", "rouge_l", "sacrebleu")
#: channel-cost columns compared (those present in both tables)
COST_COLUMNS = (
    "bits",
    "payload_bytes",
    "channel_uses",
    "airtime_s",
    "latency_s",
    "energy_j",
    "bits_on_air",
    "capacity_ratio",
    "packet_loss_rate",
    "images_lost",
)


@dataclass(frozen=True)
class Comparison:
    """Outcome of comparing a run with a reference.

    :param matched: rows present in both (same ``row_hash``)
    :param only_run: rows of the run missing from the reference
    :param only_reference: reference rows the run did not produce
    :param max_abs_diff: column -> largest absolute difference over the matched rows
    :param rows_differing: matched rows with a difference in any compared column
    :param reference: where the reference came from (for messages)
    :param one_sided: metric / cost columns present in only one of the tables
    """

    matched: int
    only_run: int
    only_reference: int
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    rows_differing: int = 0
    reference: str = ""
    one_sided: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        """Every row on both sides, and no compared value differs."""
        return self.only_run == 0 and self.only_reference == 0 and self.rows_differing == 0

    def summary(self) -> str:
        """One line, e.g. ``143 rows matched, 0 only in this run, ... : identical``."""
        verdict = "identical" if self.identical else "DIFFERENT"
        return (
            f"{self.matched} rows matched, {self.only_run} only in this run, "
            f"{self.only_reference} only in the reference, {self.rows_differing} matched rows "
            f"differ: {verdict}"
        )


def _abs_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| elementwise; NaN on both sides is 0, on one side is inf."""
    a, b = a.astype(float), b.astype(float)
    na, nb = np.isnan(a), np.isnan(b)
    out = np.abs(np.where(na | nb, 0.0, a - b))
    out[na != nb] = math.inf
    return out


def compare_tables(run: Any, reference: Any, *, source: str = "") -> Comparison:
    """Compare two results tables (pandas DataFrames with a ``row_hash`` column).

    :raises ValueError: a table lacks ``row_hash`` or repeats one
    """
    for name, t in (("run", run), ("reference", reference)):
        if "row_hash" not in t:
            raise ValueError(f"the {name} table has no 'row_hash' column")
        if t["row_hash"].duplicated().any():
            raise ValueError(f"the {name} table repeats row hashes")
    r = run.set_index(run["row_hash"].astype(str))
    f = reference.set_index(reference["row_hash"].astype(str))
    common = r.index.intersection(f.index)
    cols = [c for c in (*METRIC_COLUMNS, *COST_COLUMNS) if c in r.columns and c in f.columns]
    diffs: dict[str, float] = {}
    differing = np.zeros(len(common), dtype=bool)
    for c in cols:
        d = _abs_diff(r.loc[common, c].to_numpy(), f.loc[common, c].to_numpy())
        diffs[c] = float(d.max()) if d.size else math.nan
        differing |= d > 0
    return Comparison(
        matched=len(common),
        only_run=int((~r.index.isin(f.index)).sum()),
        only_reference=int((~f.index.isin(r.index)).sum()),
        max_abs_diff=diffs,
        rows_differing=int(differing.sum()),
        reference=source,
        one_sided=tuple(
            c for c in (*METRIC_COLUMNS, *COST_COLUMNS) if (c in r.columns) != (c in f.columns)
        ),
    )


def compare_dirs(run_dir: str | Path, reference_dir: str | Path, *, rows=None) -> Comparison:
    """Compare the ``results.parquet`` of two output folders.

    :param rows: optional row hashes of the run to compare (e.g. the rows of the configs
        just run; default: every row of ``run_dir``)
    :raises FileNotFoundError: the reference has no ``results.parquet``
    """
    from experiments.rows import ResultsStore

    ref_path = Path(reference_dir) / ResultsStore.RESULTS
    if not ref_path.exists():
        raise FileNotFoundError(f"no reference results at {ref_path}")
    run = ResultsStore(run_dir).table()
    if rows is not None:
        run = run[run["row_hash"].isin(set(rows))]
    ref = ResultsStore(reference_dir).table()
    return compare_tables(run, ref, source=str(reference_dir))


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "n/a (no matched rows)"
    if math.isinf(v):
        return "inf (NaN on one side)"
    return "0" if v == 0 else f"{v:.4g}"


def comparison_rich(comp: Comparison):
    """A short rich table of the comparison (for the console)."""
    from rich.table import Table

    title = f"this run vs the reference {comp.reference}: " + (
        "identical" if comp.identical else "DIFFERENT"
    )
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("rows matched (same row hash)", str(comp.matched))
    table.add_row("rows only in this run", str(comp.only_run))
    table.add_row("rows only in the reference", str(comp.only_reference))
    table.add_row("matched rows that differ", str(comp.rows_differing))
    for c, v in comp.max_abs_diff.items():
        style = "" if v == 0 or math.isnan(v) else "red"
        table.add_row(f"max |diff| {c}", f"[{style}]{_fmt(v)}[/{style}]" if style else _fmt(v))
    if comp.one_sided:
        table.add_row("on one side only (not compared)", ", ".join(comp.one_sided))
    return table


def comparison_markdown(comp: Comparison) -> str:
    """The comparison as a markdown section body (a table and a verdict line)."""
    lines = [
        f"Rows of this run compared with the reference `{comp.reference}` by row hash: "
        f"**{'identical' if comp.identical else 'different'}** ({comp.summary()}).",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| rows matched | {comp.matched} |",
        f"| rows only in this run | {comp.only_run} |",
        f"| rows only in the reference | {comp.only_reference} |",
        f"| matched rows that differ | {comp.rows_differing} |",
    ]
    lines += [f"| max abs. difference of `{c}` | {_fmt(v)} |" for c, v in comp.max_abs_diff.items()]
    if comp.one_sided:
        cols = ", ".join(f"`{c}`" for c in comp.one_sided)
        lines.append(f"| columns on one side only (not compared) | {cols} |")
    return "\n".join(lines)
