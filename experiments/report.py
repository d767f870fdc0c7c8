"""``report.md``: tables, figures and the paper's claims checked on this model.

Claims of Song & Kim (PaliGemma-3B, N = 256): k-means with K = 8 (K/N ~ 3%) keeps about
80% of the full-token BLEU, about what randomly keeping 40% of the tokens gives. On a
model with another N the nearest ratio K/N to 8/256 is used; the random-selection ratio
that matches the k-means BLEU-4 is found by linear interpolation of the random curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.config import RowSpec, SweepConfig

__all__ = [
    "COLUMN_HEADERS",
    "Claims",
    "frontier",
    "example_captions",
    "bits_to_reach",
    "check_claims",
    "figure_rows",
    "markdown_table",
    "write_report",
]

PAPER_RATIO = 8 / 256


def figure_rows(table, rows: Sequence[RowSpec]):
    """The rows of ``table`` that belong to one config (its :class:`RowSpec` list, e.g.
    ``RunSummary.rows``), with the config's own labels.

    Rows are shared between configs (a row's hash ignores the config name), so the
    stored ``scheme`` / ``channel_label`` may come from another config: they are replaced
    by this config's.
    """
    specs = {r.row_hash: r for r in rows}
    df = table[table["row_hash"].isin(specs)].copy()
    df["scheme"] = [specs[h].scheme for h in df["row_hash"]]
    df["channel_label"] = [specs[h].channel_label for h in df["row_hash"]]
    df["config_name"] = [specs[h].config_name for h in df["row_hash"]]
    return df.reset_index(drop=True)


@dataclass(frozen=True)
class Claims:
    """The paper's two headline numbers, measured on this model."""

    n_tokens: int
    k: int
    k_over_n: float
    bleu4_kmeans: float
    bleu4_full: float
    relative: float
    random_ratio_match: float | None
    random_note: str
    relative_k8: float | None = None
    bits_kmeans: float | None = None
    bits_full: float | None = None
    diff_vs_full: tuple[float, float, float] | None = None
    diff_vs_random: tuple[float, float, float] | None = None


def _interp_ratio(xs: np.ndarray, ys: np.ndarray, target: float) -> tuple[float | None, str]:
    """Smallest x where the piecewise-linear curve (x sorted) reaches ``target``."""
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if len(xs) == 0:
        return None, "no random-selection rows"
    if ys[0] >= target:
        return float(xs[0]), f"random already reaches it at its smallest ratio {xs[0]:.3g}"
    for i in range(1, len(xs)):
        if ys[i] >= target:
            x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            x = x0 + (target - y0) * (x1 - x0) / (y1 - y0) if y1 != y0 else x1
            return float(x), "interpolated between measured ratios"
    return (
        None,
        f"random selection never reaches it (max {ys.max():.4f} at ratio <= {xs.max():.3g})",
    )


def check_claims(
    fig3,
    *,
    metric: str = "bleu4",
    kmeans: str = "kmeans",
    random: str = "random",
    captions=None,
    references: dict | None = None,
) -> Claims | None:
    """Measure the paper's claims from the ideal-channel fig3 rows (None if absent).

    With ``captions`` (``ResultsStore.captions()``) and ``references`` (image id -> list
    of references) the paired bootstrap differences k-means - all tokens and k-means -
    random (same K) are added."""
    if fig3 is None or len(fig3) == 0:
        return None
    full = fig3[(fig3["reducer"] == "full")]
    km = fig3[fig3["reducer"] == kmeans].sort_values("k_over_n")
    rnd = fig3[fig3["reducer"] == random].sort_values("k_over_n")
    if full.empty or km.empty:
        return None
    n = int(fig3["n_tokens"].iloc[0])
    # nearest ratio to 8/256 in log scale
    pick = km.iloc[int(np.argmin(np.abs(np.log(km["k_over_n"].to_numpy(float) / PAPER_RATIO))))]
    b_full = float(full[metric].iloc[0])
    b_km = float(pick[metric])
    k8 = km[km["k"] == 8]
    ratio, note = _interp_ratio(rnd["k_over_n"].to_numpy(float), rnd[metric].to_numpy(float), b_km)
    return Claims(
        n_tokens=n,
        k=int(pick["k"]),
        k_over_n=float(pick["k_over_n"]),
        bleu4_kmeans=b_km,
        bleu4_full=b_full,
        relative=b_km / b_full if b_full > 0 else math.nan,
        random_ratio_match=ratio,
        random_note=note,
        relative_k8=(float(k8[metric].iloc[0]) / b_full) if len(k8) and b_full > 0 else None,
        bits_kmeans=float(pick["bits"]) if "bits" in pick else None,
        bits_full=float(full["bits"].iloc[0]) if "bits" in full else None,
        diff_vs_full=_paired(captions, references, pick, full, metric),
        diff_vs_random=_paired(captions, references, pick, rnd[rnd["k"] == int(pick["k"])], metric),
    )


def _paired(captions, references, row_a, rows_b, metric: str):
    """Paired bootstrap ``metric(a) - metric(b)`` over the images both rows captioned."""
    if captions is None or references is None or len(captions) == 0 or len(rows_b) == 0:
        return None
    from collab_infer.metrics import paired_bootstrap_diff

    a = captions[captions["row_hash"] == row_a["row_hash"]].set_index("image_id")["caption"]
    b = captions[captions["row_hash"] == rows_b["row_hash"].iloc[0]].set_index("image_id")
    b = b["caption"]
    ids = [i for i in a.index if i in b.index and i in references]
    if not ids:
        return None
    return paired_bootstrap_diff(
        [a[i] for i in ids], [b[i] for i in ids], [references[i] for i in ids], metric=metric
    )


def bits_to_reach(rate, *, fraction: float = 0.9, metric: str = "bleu4"):
    """Per scheme / number format: the fewest bits per image whose ``metric`` reaches
    ``fraction`` of the best all-token level in ``rate`` (None where never reached).

    :return: DataFrame with columns ``scheme``, ``format``, ``bits``, ``metric``, ``target``
    """
    import pandas as pd

    full = rate[(rate["kind"] == "tokens") & (rate["reducer"] == "full")]
    if full.empty:
        return pd.DataFrame(columns=["scheme", "format", "bits", metric, "target"])
    target = fraction * float(full[metric].max())
    fmt = [
        f"{r['number_format']}/{r['index_coding']}" if r["kind"] == "tokens" else "image"
        for _, r in rate.iterrows()
    ]
    out = []
    for (scheme, f), g in rate.assign(_fmt=fmt).groupby(["scheme", "_fmt"], sort=True):
        ok = g[g[metric] >= target].sort_values("bits")
        out.append(
            {
                "scheme": scheme,
                "format": f,
                "bits": float(ok["bits"].iloc[0]) if len(ok) else None,
                metric: float(ok[metric].iloc[0]) if len(ok) else None,
                "target": target,
            }
        )
    return pd.DataFrame(out).sort_values("bits", na_position="last").reset_index(drop=True)


def example_captions(captions, fig3, claims: Claims | None, references: dict, n: int = 4):
    """A few images with their reference and the captions of: all tokens, k-means and
    random selection at the claim's K (from ``captions.jsonl`` records).

    :param captions: DataFrame of ``ResultsStore.captions()``
    :param fig3: the fig3 rows; :param references: image id -> list of references
    """
    import pandas as pd

    if claims is None or captions is None or len(captions) == 0 or len(fig3) == 0:
        return pd.DataFrame()
    want = {"all tokens": fig3[fig3["reducer"] == "full"]}
    for red in ("kmeans", "random"):
        want[f"{red} K={claims.k}"] = fig3[(fig3["reducer"] == red) & (fig3["k"] == claims.k)]
    hashes = {label: rows["row_hash"].iloc[0] for label, rows in want.items() if len(rows)}
    by_row = {h: captions[captions["row_hash"] == h].set_index("image_id") for h in hashes.values()}
    ids = list(references)[:n]
    out = []
    for i in ids:
        rec = {"image": i, "reference": references[i][0] if references[i] else ""}
        for label, h in hashes.items():
            cap = by_row[h]["caption"].get(i, "") if i in by_row[h].index else ""
            rec[label] = cap
        out.append(rec)
    return pd.DataFrame(out)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float | np.floating):
        if math.isnan(v):
            return ""
        if 1e4 <= abs(v) < 1e7:
            return f"{v:.0f}"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{v:.4g}"
    return str(v)


def markdown_table(df, cols: Sequence[str], headers: Sequence[str] | None = None) -> str:
    """A GitHub markdown table of ``df[cols]`` (numbers to 4 significant digits)."""
    headers = list(headers or cols)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]) if c in r else "" for c in cols) + " |")
    return "\n".join(lines)


def _ci(df, metric: str = "bleu4"):
    return [
        f"{r[metric]:.4f} [{r[f'{metric}_lo']:.3f}, {r[f'{metric}_hi']:.3f}]"
        for _, r in df.iterrows()
    ]


#: every table's channel-cost columns (blank where a row lacks one)
_COSTS = ["bits", "channel_uses", "airtime_s", "latency_s", "capacity_ratio"]
_BUDGET = ["budget_channel_uses", "_choice", "budget_fit", "_fill"]
_SECTION_COLS = {
    "fig3": (["scheme", "k", "k_over_n", *_COSTS, "_bleu4", "cider_d", "rouge_l"], "k_over_n"),
    "rate": (
        ["scheme", "k", "quality", "number_format", "index_coding", *_COSTS, "_bleu4", "cider_d"],
        "bits",
    ),
    "snr": (
        [
            "scheme",
            "channel_label",
            "snr_db",
            *_COSTS,
            "packet_loss_rate",
            "images_lost",
            "_bleu4",
            "cider_d",
        ],
        "snr_db",
    ),
    "loss": (
        [
            "scheme",
            "channel_label",
            "loss",
            "packet_loss_rate",
            *_COSTS,
            "images_lost",
            "_bleu4",
            "cider_d",
        ],
        "loss",
    ),
    "nr": (
        [
            "scheme",
            "channel_label",
            "snr_db",
            "deadline_s",
            *_COSTS,
            "ch_first_tx_bler",
            "ch_residual_bler",
            "packet_loss_rate",
            "images_lost",
            "_bleu4",
            "cider_d",
        ],
        "snr_db",
    ),
    "snrbudget": (
        [
            "scheme",
            "channel_label",
            "snr_db",
            *_BUDGET,
            *_COSTS,
            "packet_loss_rate",
            "images_lost",
            "_bleu4",
        ],
        "snr_db",
    ),
    "uses": (
        [
            "scheme",
            "channel_label",
            "snr_db",
            *_BUDGET,
            *_COSTS,
            "packet_loss_rate",
            "images_lost",
            "_bleu4",
        ],
        "budget_channel_uses",
    ),
}
_DEFAULT_COLS = (["scheme", "channel_label", "k", *_COSTS, "_bleu4"], "bits")

#: table headers of result columns (units and meaning; others print as named)
COLUMN_HEADERS = {
    "_bleu4": "BLEU-4 [95% CI]",
    "_choice": "choice",
    "bits": "payload bits",
    "channel_uses": "channel uses",
    "airtime_s": "airtime (s)",
    "latency_s": "latency (s)",
    "capacity_ratio": "capacity ratio",
    "snr_db": "Es/N0 per complex symbol (dB)",
    "loss": "loss (nominal)",
    "packet_loss_rate": "packet loss (realised)",
    "budget_channel_uses": "budget (channel uses)",
    "budget_fit": "fit",
    "_fill": "budget used",
    "k_over_n": "K/N",
    "images_lost": "images lost",
}


def _choice(r) -> str:
    """What a budget row chose: ``K=8 fp16/auto``, ``q=50``, ``K=8 r=3.1`` (analog)."""
    if str(r.get("budget_fit") or "") not in ("fits",):
        return ""
    if r.get("kind") == "image":
        return f"q={int(r['quality'])}"
    k = r.get("k")
    if r.get("number_format") == "analog":
        import json

        params = r.get("channel_params")
        params = json.loads(params) if isinstance(params, str) else dict(params or {})
        ratio = params.get("bandwidth_ratio")
        return f"K={int(k)} r={ratio:.3g}" if ratio is not None else f"K={int(k)}"
    return f"K={int(k)} {r.get('number_format')}/{r.get('index_coding')}"


def _positive(v: Any, low: float = 1e-300) -> bool:
    """``v`` is a finite number >= ``low`` (None / NaN / strings are not)."""
    try:
        return math.isfinite(float(v)) and float(v) >= low
    except (TypeError, ValueError):
        return False


def _label_row(r) -> str:
    parts = [str(r.get("channel_label") or ""), str(r.get("scheme") or ""), _choice(r)]
    return " ".join(p for p in parts if p)


def frontier(rows, *, metric: str = "bleu4"):
    """The operating-point frontier: at each measured (SNR, channel-use budget) point, the
    best scheme by ``metric`` (and the runner-up), from the budget rows of ``rows`` that
    fit their budget; ties go to the row with fewer channel uses (the cheaper operating
    point). A point where no row fits says ``"nothing fits"``.

    :return: DataFrame with ``snr_db``, ``budget_channel_uses``, ``best``, ``metric``,
        ``best_lo``/``best_hi`` (bootstrap CI), ``channel_uses``, ``runner_up``,
        ``runner_up_metric``, ``ci_overlap`` (the two CIs overlap: not separated)
    """
    import pandas as pd

    cols = [
        "snr_db",
        "budget_channel_uses",
        "best",
        metric,
        "best_lo",
        "best_hi",
        "channel_uses",
        "runner_up",
        "runner_up_metric",
        "ci_overlap",
    ]
    if rows is None or len(rows) == 0 or "budget_channel_uses" not in rows:
        return pd.DataFrame(columns=cols)
    d = rows[rows["budget_channel_uses"].notna()].drop_duplicates("row_hash")
    out = []
    for (snr, budget), g in d.groupby(["snr_db", "budget_channel_uses"], sort=True):
        if "budget_fit" in g:
            g = g[g["budget_fit"] == "fits"]
        if len(g) == 0:
            out.append({"snr_db": float(snr), "budget_channel_uses": float(budget)})
            out[-1].update(best="nothing fits", ci_overlap=False, runner_up="")
            continue
        cost = g["channel_uses"] if "channel_uses" in g else g.get("budget_planned_uses")
        g = g.assign(_cost=cost if cost is not None else 0.0)
        g = g.sort_values([metric, "_cost"], ascending=[False, True], kind="stable")
        best = g.iloc[0]
        second = g.iloc[1] if len(g) > 1 else None
        lo, hi = f"{metric}_lo", f"{metric}_hi"
        out.append(
            {
                "snr_db": float(snr),
                "budget_channel_uses": float(budget),
                "best": _label_row(best),
                metric: float(best[metric]),
                "best_lo": float(best.get(lo, np.nan)),
                "best_hi": float(best.get(hi, np.nan)),
                "channel_uses": float(best.get("channel_uses", np.nan)),
                "runner_up": _label_row(second) if second is not None else "",
                "runner_up_metric": float(second[metric]) if second is not None else np.nan,
                "ci_overlap": (
                    bool(float(second.get(hi, np.nan)) >= float(best.get(lo, np.nan)))
                    if second is not None
                    else False
                ),
            }
        )
    return pd.DataFrame(out, columns=cols)


#: one-line captions above a section's table
_CAPTIONS = {
    "snr": "Equal SNR, **not** equal resources: each scheme spends its own channel uses per "
    "image (column *channel uses*); the matched-budget sections compare at equal resources.",
    "nr": "Equal SNR, **not** equal resources: HARQ retransmissions and link adaptation "
    "change the channel uses and latency of each row (columns *channel uses*, *latency*).",
    "loss": "The x value of the figure is the realised packet loss rate of each row (lost / "
    "sent packets); the nominal loss parameter of the channel is beside it.",
    "snrbudget": "Equal resources: every row fills the same channel-use budget per image.",
    "uses": "Equal resources: every scheme fills each budget; the figure's x value is the "
    "channel uses the row spent.",
}


def capacity_check(frames: Sequence[Any]) -> list[str]:
    """Report lines of the Shannon check over every row with a physical channel.

    Digital rows: ``capacity_ratio_delivered`` (channel uses / (delivered payload bits /
    capacity per use)) must be >= 1; rows offered above capacity (``capacity_ratio`` < 1)
    are counted with the share of their images the link lost. Analog rows: the coded
    side link's own ratio (``ch_side_capacity_ratio``) must be >= 1."""
    import pandas as pd

    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return []
    df = pd.concat(frames, ignore_index=True).drop_duplicates("row_hash")
    if "capacity_ratio" not in df:
        return []
    analog = df["number_format"].eq("analog") if "number_format" in df else False
    digital = df[~analog & df["capacity_ratio"].notna()]
    lines = ["- Capacity check (Shannon, at each row's Es/N0; ergodic under fading):"]
    if len(digital):
        above = digital[digital["capacity_ratio"] < 1]
        delivered = digital.get("capacity_ratio_delivered", digital["capacity_ratio"])
        bad = int((delivered < 1).sum())
        lost = (above["images_lost"] / above["n_images"]).mean() if len(above) else math.nan
        lines.append(
            f"  {len(digital)} digital rows; min delivered-bits ratio "
            f"{_fmt(float(delivered.min()))}; rows delivering above capacity: **{bad}**; "
            f"rows offered above capacity (fixed MCS): {len(above)}"
            + (f", which lost {100 * lost:.1f}% of their images" if len(above) else "")
            + "."
        )
    side = df[analog].get("ch_side_capacity_ratio") if "number_format" in df else None
    if side is not None and side.notna().any():
        lines.append(
            f"  {int(side.notna().sum())} analog rows; min side-link ratio "
            f"{_fmt(float(side.min()))} (side information over a coded link, never above "
            "capacity)."
        )
    return lines


def write_report(
    out_dir: str | Path,
    sections: Sequence[tuple[SweepConfig, Any, str | None]],
    *,
    claims: Claims | None,
    meta: dict[str, Any],
    token_figure: str | None = None,
    examples: Any = None,
    comparison: Any = None,
) -> Path:
    """Write ``report.md`` in ``out_dir``.

    :param examples: optional DataFrame of example captions (columns ``image``,
        ``reference`` and one per scheme), see :func:`example_captions`

    :param sections: ``(config, its rows, figure file name relative to out_dir or None)``
    :param claims: result of :func:`check_claims`
    :param meta: run facts (model, dataset, timings, versions, quick) shown at the top
    :param comparison: an :class:`experiments.compare.Comparison` of this run with the
        reference run (shown after the run facts), or None
    """
    out = Path(out_dir)
    lines = [
        "# collab-infer: reproduction report",
        "",
        "Edge-server collaborative inference of a VLM over simulated links: the edge encodes",
        "the image into N visual tokens, reduces them (k-means VQ: K centroids + N indices;",
        "random / other selections: kept vectors + positions), the codec turns the payload into",
        "packets (every bit counted: header, CRC, indices, values), the channel delivers or",
        "loses / corrupts them, and the server rebuilds N tokens and captions the image.",
        "",
        "## Run",
        "",
    ]
    for k, v in meta.items():
        lines.append(f"- **{k}**: {v}")
    if comparison is not None:
        from experiments.compare import comparison_markdown

        lines += ["", "## Comparison with the reference run", "", comparison_markdown(comparison)]
    lines += ["", "## The paper's claims on this model", ""]
    if claims is None:
        lines.append("Not checked: the fig3 sweep has no k-means or full-token rows.")
    else:
        match = (
            f"{claims.random_ratio_match:.1%} of the tokens ({claims.random_note})"
            if claims.random_ratio_match is not None
            else claims.random_note
        )
        lines += [
            "| claim | paper (PaliGemma-3B, N = 256) | this model |",
            "|---|---|---|",
            f"| K/N used | 8/256 = 3.1% | {claims.k}/{claims.n_tokens} = {claims.k_over_n:.1%} "
            "(nearest ratio) |",
            f"| BLEU-4 of k-means at that K, relative to all tokens | about 80% | "
            f"{claims.relative:.1%} ({claims.bleu4_kmeans:.4f} / {claims.bleu4_full:.4f}) |",
            f"| random-selection ratio with the same BLEU-4 | about 40% | {match} |",
        ]
        if claims.relative_k8 is not None and claims.k != 8:
            lines.append(
                f"| same with K = 8 literally (K/N = 8/{claims.n_tokens}) | about 80% | "
                f"{claims.relative_k8:.1%} |"
            )
        for label, d in (
            ("all tokens", claims.diff_vs_full),
            (f"random selection of the same K = {claims.k}", claims.diff_vs_random),
        ):
            if d is not None:
                lines.append(
                    f"| BLEU-4 of k-means minus {label} (paired bootstrap 95% CI) | - | "
                    f"{d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}] |"
                )
        if claims.bits_kmeans and claims.bits_full:
            lines.append(
                f"| bits per image at that K vs all tokens (everything counted) | not reported | "
                f"{claims.bits_kmeans:.0f} vs {claims.bits_full:.0f} bits "
                f"({claims.bits_kmeans / claims.bits_full:.1%}) |"
            )
        lines += [
            "",
            "The paper's K/N ignores index bits; the bits columns below count everything.",
        ]
    if examples is not None and len(examples):
        lines += [
            "",
            "## Example captions (fig3 rows, ideal link)",
            "",
            markdown_table(examples, list(examples.columns)),
        ]
    if token_figure:
        lines += [
            "",
            "## Token visualisation (paper Fig. 2)",
            "",
            "Visual tokens of one test image coloured by their k-means cluster, for several K.",
            "",
            f"![token map]({token_figure})",
        ]
    for cfg, df, fig in sections:
        lines += ["", f"## {cfg.name}: {cfg.description or ''}".rstrip(": "), ""]
        if fig:
            lines += [f"![{cfg.name}]({fig})", ""]
        if df is None or len(df) == 0:
            lines.append("_no rows_")
            continue
        stem = cfg.name.split("_")[0]
        cols, sort = _SECTION_COLS.get(stem, _DEFAULT_COLS)
        d = df.copy()
        d["_bleu4"] = _ci(d)
        d["_choice"] = [_choice(r) for _, r in d.iterrows()]
        if "budget_channel_uses" in d and "channel_uses" in d:
            d["_fill"] = [
                f"{r['channel_uses'] / r['budget_channel_uses']:.1%}"
                if _positive(r["budget_channel_uses"]) and _positive(r["channel_uses"], 0.0)
                else ""
                for _, r in d.iterrows()
            ]
        d = d.sort_values([c for c in ("scheme", "channel_label", sort) if c in d])
        if stem in _CAPTIONS:
            lines += [_CAPTIONS[stem], ""]
        headers = [COLUMN_HEADERS.get(c, c) for c in cols]
        lines.append(markdown_table(d, cols, headers))
        if cfg.name.split("_")[0] == "rate":
            reach = bits_to_reach(df)
            if len(reach):
                lines += [
                    "",
                    f"Fewest bits per image reaching 90% of the all-token BLEU-4 "
                    f"(target {reach['target'].iloc[0]:.4f}; empty: never reached):",
                    "",
                    markdown_table(reach, ["scheme", "format", "bits", "bleu4"]),
                ]
    budget_rows = [df for _, df, _ in sections if df is not None and "budget_channel_uses" in df]
    if budget_rows:
        import pandas as pd

        front = frontier(pd.concat(budget_rows, ignore_index=True))
        if len(front):
            front = front.assign(
                _best=[
                    f"{r['bleu4']:.4f} [{r['best_lo']:.3f}, {r['best_hi']:.3f}]"
                    if np.isfinite(r["bleu4"])
                    else ""
                    for _, r in front.iterrows()
                ],
                _overlap=[
                    "" if b == "nothing fits" else ("yes" if v else "no")
                    for b, v in zip(front["best"], front["ci_overlap"], strict=True)
                ],
            )
            lines += [
                "",
                "## Operating-point frontier (measured)",
                "",
                "At each (SNR, channel-use budget) point of the matched-resource sweeps, the "
                "scheme with the highest measured BLEU-4, what it chose, and the runner-up. "
                "'CIs overlap' = the two bootstrap 95% intervals overlap (not separated at "
                "this number of images).",
                "",
                markdown_table(
                    front,
                    [
                        "snr_db",
                        "budget_channel_uses",
                        "best",
                        "_best",
                        "channel_uses",
                        "runner_up",
                        "runner_up_metric",
                        "_overlap",
                    ],
                    [
                        COLUMN_HEADERS["snr_db"],
                        "budget (channel uses)",
                        "best scheme (link, scheme, choice)",
                        "BLEU-4 [95% CI]",
                        "its channel uses",
                        "runner-up",
                        "runner-up BLEU-4",
                        "CIs overlap",
                    ],
                ),
            ]
    lines += [
        "",
        "## Notes",
        "",
        "- BLEU-1..4 (COCO-caption style: corpus level, closest reference length), CIDEr-D and",
        "  ROUGE-L on PTB-like tokens; brackets: percentile bootstrap 95% CI over images.",
        "- *payload bits* (`bits`) = mean over images of the real packet bytes x 8 (codec",
        "  header, CRC and packet headers included; images: the coded image bytes split into",
        "  MTU-size packets), before channel coding. *channel uses* = complex channel symbols",
        "  per image on air (coding, padding, side information included); *capacity ratio* =",
        "  channel uses / (payload bits / log2(1 + SNR)); it is below 1 only where a fixed",
        "  MCS offers more than capacity, and then the link loses (nearly) everything: the",
        "  capacity check below counts the rows that *delivered* above capacity (must be 0).",
        "- SNR is Es/N0 per complex channel symbol (per resource element on OFDM) everywhere.",
        "- Channel-use budgets: each scheme fills the budget from its real bytes (largest",
        "  K x number format / quality / analog bandwidth ratio whose planned channel uses",
        "  fit); a row where nothing fits sends nothing and scores 0 (`fit` says why).",
        "- A lost image (payload unidentifiable, or any JPEG / WebP packet lost) gets the empty",
        "  caption and is scored as such; `images_lost` counts them.",
        "- Every row is in `results.parquet` / `results.csv` with its full parameters, and the",
        "  per-image captions in `captions.jsonl`.",
        *capacity_check([df for _, df, _ in sections]),
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
