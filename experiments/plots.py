"""Figures of the report (matplotlib, Agg backend, PNG).

Each function takes the rows of one figure (a pandas DataFrame from the results
table, see :func:`experiments.report.figure_rows`) and writes one PNG. Error bars are
the rows' bootstrap confidence intervals (``<metric>_lo`` / ``<metric>_hi``).

- :func:`plot_fig3`: BLEU-4 vs K/N, one line per reducer (k-means vs random), the
  full-token level as a horizontal line with its CI band (the paper's Fig. 3).
- :func:`plot_rate`: BLEU-4 vs bits per image (log x), one line per scheme x number
  format x index coding, image codecs included.
- :func:`plot_snr`: BLEU-4 vs SNR, one line per channel label (fixed MCS, adaptive MCS,
  analog, ...) and scheme, each at its own channel uses (the title says so).
- :func:`plot_snr_budget`: BLEU-4 vs SNR with every scheme filling the same channel-use
  budget per image (equal resources).
- :func:`plot_uses`: BLEU-4 vs the channel uses really spent per image, one panel per
  SNR (equal resources the other way round).
- :func:`plot_loss`: BLEU-4 vs the realised packet loss rate, one line per scheme and
  channel, beside the realised rate against the channel's nominal loss parameter.

SNR on every axis is Es/N0 per complex channel symbol (per resource element on OFDM).
- :func:`plot_token_map`: the image and its k-means token assignments for a few K
  (the paper's Fig. 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "METRIC_LABELS",
    "SNR_LABEL",
    "line_plot",
    "plot_fig3",
    "plot_loss",
    "plot_nr",
    "plot_rate",
    "plot_snr",
    "plot_snr_budget",
    "plot_token_map",
    "plot_uses",
]

#: the SNR axis label of every figure
SNR_LABEL = "Es/N0 per complex symbol (dB)"

METRIC_LABELS = {
    "bleu1": "BLEU-1",
    "bleu2": "BLEU-2",
    "bleu3": "BLEU-3",
    "bleu4": "BLEU-4",
    "cider_d": "CIDEr-D",
    "rouge_l": "ROUGE-L",
    "sacrebleu": "sacreBLEU",
    "vqa_accuracy": "VQA accuracy",
    "exact_match": "exact match",
    "anls": "ANLS",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _label(row: Any, cols: Sequence[str]) -> str:
    parts = []
    for c in cols:
        v = row[c]
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        parts.append(str(v))
    return " ".join(parts) or "all"


def _yerr(df, metric: str):
    lo, hi = f"{metric}_lo", f"{metric}_hi"
    if lo not in df or hi not in df:
        return None
    y = df[metric].to_numpy(float)
    return np.vstack(
        [np.clip(y - df[lo].to_numpy(float), 0, None), np.clip(df[hi].to_numpy(float) - y, 0, None)]
    )


def _mean_over_repeats(g, x: str, metric: str):
    """One point per x: rows repeated at the same x (several seeds) are averaged
    (metric and CI bounds), sorted by x."""
    cols = [c for c in (metric, f"{metric}_lo", f"{metric}_hi") if c in g]
    return g.groupby(x, as_index=False, sort=True)[cols].mean()


def line_plot(
    df,
    *,
    x: str,
    group_cols: Sequence[str],
    path: str | Path,
    metric: str = "bleu4",
    title: str = "",
    xlabel: str | None = None,
    logx: bool = False,
    hlines: Sequence[tuple[str, float, float, float]] = (),
    xticks: Sequence[tuple[float, str]] | None = None,
) -> Path:
    """One line (with CI error bars) per distinct value of ``group_cols``.

    :param df: rows with columns ``x``, ``metric`` (+ ``_lo`` / ``_hi``) and ``group_cols``
    :param hlines: ``(label, value, lo, hi)`` horizontal reference levels
    :param xticks: ``(value, label)`` major ticks replacing the default ones
    :return: the written PNG path
    """
    if df is None or len(df) == 0:
        raise ValueError(f"no rows to plot for {Path(path).name}")
    if metric not in df:
        raise ValueError(f"metric {metric!r} is not a column; have {sorted(df.columns)}")
    plt = _plt()
    n_series = len({_label(r, group_cols) for _, r in df.iterrows()})
    fig, ax = plt.subplots(figsize=(7.6 if n_series > 6 else 6.4, 4.2), dpi=120)
    _draw(
        ax,
        df,
        x=x,
        group_cols=group_cols,
        metric=metric,
        title=title,
        xlabel=xlabel,
        logx=logx,
        hlines=hlines,
        xticks=xticks,
    )
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    _plt().close(fig)
    return path


def _draw(
    ax,
    df,
    *,
    x: str,
    group_cols: Sequence[str],
    metric: str = "bleu4",
    title: str = "",
    xlabel: str | None = None,
    logx: bool = False,
    hlines: Sequence[tuple[str, float, float, float]] = (),
    xticks: Sequence[tuple[float, str]] | None = None,
    colours: dict[str, str] | None = None,
    legend: bool = True,
) -> None:
    """:func:`line_plot` onto an existing matplotlib axis."""
    # colour follows the first group column (scheme), marker + line style the rest
    keyed = df.assign(
        _key=[_label(r, group_cols) for _, r in df.iterrows()],
        _colour=[_label(r, group_cols[:1]) for _, r in df.iterrows()],
        _style=[_label(r, group_cols[1:]) for _, r in df.iterrows()],
    )
    colours = colours or {c: f"C{i % 10}" for i, c in enumerate(sorted(keyed["_colour"].unique()))}
    styles = {s: i for i, s in enumerate(sorted(keyed["_style"].unique()))}
    n_series = keyed["_key"].nunique()
    markers = "osD^v<>ph*"
    linestyles = ["-", "--", ":", "-."]
    for key, g in keyed.groupby("_key", sort=True):
        si = styles[g["_style"].iloc[0]]
        colour = g["_colour"].iloc[0]
        g = _mean_over_repeats(g, x, metric)
        ax.errorbar(
            g[x].to_numpy(float),
            g[metric].to_numpy(float),
            yerr=_yerr(g, metric),
            color=colours[colour],
            marker=markers[si % len(markers)],
            ls=linestyles[si % len(linestyles)],
            ms=4,
            capsize=2,
            lw=1.3,
            label=key,
        )
    for j, (label, value, lo, hi) in enumerate(hlines):
        color = f"C{(len(colours) + j) % 10}"
        ax.axhline(value, color=color, ls="--", lw=1.2, label=label)
        if np.isfinite(lo) and np.isfinite(hi):
            ax.axhspan(lo, hi, color=color, alpha=0.12, lw=0)
    if logx:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_xscale("log", base=2 if xticks else 10)
        if not xticks:  # labels at 1, 2, 5 x 10^n, as plain numbers
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(
                FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v >= 1e4 else f"{v:g}")
            )
        ax.xaxis.set_minor_formatter(NullFormatter())
    if xticks:
        from matplotlib.ticker import NullLocator

        ax.set_xticks([v for v, _ in xticks], [lab for _, lab in xticks], fontsize=7)
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if not legend:
        return
    if n_series + len(hlines) > 6:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    else:
        ax.legend(fontsize=7, loc="best")


def _check(df, metric: str) -> None:
    if df is None or len(df) == 0:
        raise ValueError("no rows to plot")
    if metric not in df:
        raise ValueError(f"metric {metric!r} is not a column; have {sorted(df.columns)}")


def _full_lines(df, metric: str) -> list[tuple[str, float, float, float]]:
    full = df[(df["kind"] == "tokens") & (df["reducer"] == "full")]
    out = []
    for _, r in full.iterrows():
        out.append(
            (
                f"full ({r['number_format']})",
                float(r[metric]),
                float(r.get(f"{metric}_lo", np.nan)),
                float(r.get(f"{metric}_hi", np.nan)),
            )
        )
    return out


def plot_fig3(df, path: str | Path, *, metric: str = "bleu4") -> Path:
    """BLEU-4 vs K/N for each reducer, full tokens as a horizontal line (paper Fig. 3)."""
    _check(df, metric)
    red = df[(df["kind"] == "tokens") & (df["reducer"] != "full")]
    n = int(df["n_tokens"].iloc[0]) if len(df) else 0
    return line_plot(
        red,
        x="k_over_n",
        group_cols=["scheme"],
        path=path,
        metric=metric,
        title=f"{METRIC_LABELS.get(metric, metric)} vs K/N (N = {n}), ideal link",
        xlabel="K / N (fraction of visual tokens sent)",
        logx=True,
        hlines=_full_lines(df, metric),
        xticks=[(k / n, f"{k}/{n}") for k in sorted({int(v) for v in red["k"]})] if n else None,
    )


def plot_rate(df, path: str | Path, *, metric: str = "bleu4") -> Path:
    """BLEU-4 vs bits per image for every scheme / number format (log x)."""
    d = df.assign(
        _fmt=[
            (f"{r['number_format']}/{r['index_coding']}" if r["kind"] == "tokens" else "")
            for _, r in df.iterrows()
        ]
    )
    return line_plot(
        d,
        x="bits",
        group_cols=["scheme", "_fmt"],
        path=path,
        metric=metric,
        title=f"{METRIC_LABELS.get(metric, metric)} vs payload bits per image (all bits counted)",
        xlabel="payload bits per image (real packet bytes x 8, before channel coding)",
        logx=True,
    )


def plot_snr(df, path: str | Path, *, metric: str = "bleu4") -> Path:
    """BLEU-4 vs SNR, one line per channel label (and scheme), each scheme at its own
    channel uses (not equal resources: see :func:`plot_snr_budget`)."""
    return line_plot(
        df,
        x="snr_db",
        group_cols=["channel_label", "scheme"],
        path=path,
        metric=metric,
        title=f"{METRIC_LABELS.get(metric, metric)} vs SNR: equal SNR, NOT equal resources\n"
        "(each scheme spends its own channel uses per image)",
        xlabel=SNR_LABEL,
    )


def plot_nr(df, path: str | Path, *, metric: str = "bleu4") -> Path:
    """5G NR: BLEU-4 vs SNR (rows without a deadline) and, beside it, BLEU-4 vs latency
    deadline (rows with ``deadline_s``: packets arriving later are lost), one line per
    channel label and SNR. Without deadline rows: :func:`plot_snr`."""
    _check(df, metric)
    has = df["deadline_s"].notna() if "deadline_s" in df else np.zeros(len(df), dtype=bool)
    base, dl = df[~has], df[has]
    if len(dl) == 0:
        return plot_snr(df, path, metric=metric)
    plt = _plt()
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12.8, 4.6), dpi=120)
    name = METRIC_LABELS.get(metric, metric)
    if len(base):
        _draw(
            a0,
            base,
            x="snr_db",
            group_cols=["channel_label", "scheme"],
            metric=metric,
            title=f"{name} vs SNR (no deadline): equal SNR, NOT equal resources",
            xlabel="Es/N0 per resource element (dB)",
        )
    dl = dl.assign(_snr=[f"@ {v:g} dB" for v in dl["snr_db"]])
    _draw(
        a1,
        dl,
        x="deadline_s",
        group_cols=["channel_label", "_snr"],
        metric=metric,
        title=f"{name} vs latency deadline (s): late packets lost\n"
        "(Es/N0 per resource element in the legend)",
        xlabel="latency deadline (s)",
        logx=True,
    )
    return _save(fig, path)


def _budget_title(df) -> str:
    budgets = sorted({float(b) for b in df["budget_channel_uses"].dropna()})
    return ", ".join(f"{b:g}" for b in budgets)


def plot_snr_budget(df, path: str | Path, *, metric: str = "bleu4") -> Path:
    """BLEU-4 vs SNR with every scheme filling the same channel-use budget per image; a
    scheme that cannot fit the budget sends nothing and scores 0 there."""
    _check(df, metric)
    return line_plot(
        _with_series(df),
        x="snr_db",
        group_cols=["_series", "channel_label"],
        path=path,
        metric=metric,
        title=f"{METRIC_LABELS.get(metric, metric)} vs SNR at an equal budget of "
        f"{_budget_title(df)} complex channel uses per image\n(each scheme fills it; "
        "0 where nothing fits)",
        xlabel=SNR_LABEL,
    )


def _with_series(df):
    """``df`` with a ``_series`` column: the scheme, plus K for analog rows (their K is a
    fixed parameter of the row, not a choice made to fill the budget)."""
    series = []
    for _, r in df.iterrows():
        k = r.get("k")
        analog = r.get("number_format") == "analog" and k is not None and np.isfinite(k)
        series.append(f"{r['scheme']} K={int(k)}" if analog else str(r["scheme"]))
    return df.assign(_series=series)


def _uses_column(df) -> str:
    return "channel_uses" if "channel_uses" in df else "budget_planned_uses"


def plot_uses(df, path: str | Path, *, metric: str = "bleu4") -> Path:
    """BLEU-4 vs the channel uses each row spent per image (log x), one panel per SNR;
    rows that could not fit their budget (nothing sent) are left out."""
    _check(df, metric)
    x = _uses_column(df)
    d = df[(df[x].astype(float) > 0) & df[x].notna()]
    if len(d) == 0:
        raise ValueError("no rows to plot: no row fits its channel-use budget")
    snrs = sorted({float(v) for v in d["snr_db"]})
    plt = _plt()
    fig, axes = plt.subplots(
        1, len(snrs), figsize=(4.4 * len(snrs) + 1.8, 4.2), dpi=120, sharey=True, squeeze=False
    )
    d = _with_series(d)
    keys = sorted(set(d["_series"]))
    colours = {c: f"C{i % 10}" for i, c in enumerate(keys)}
    name = METRIC_LABELS.get(metric, metric)
    for i, (ax, snr) in enumerate(zip(axes[0], snrs, strict=True)):
        _draw(
            ax,
            d[d["snr_db"].astype(float) == snr],
            x=x,
            group_cols=["_series", "channel_label"],
            metric=metric,
            title=f"Es/N0 = {snr:g} dB per complex symbol",
            xlabel="complex channel uses per image (measured)"
            if x == "channel_uses"
            else "complex channel uses per image (planned)",
            logx=True,
            colours=colours,
            legend=i == len(snrs) - 1,
        )
    fig.suptitle(f"{name} vs channel uses (each scheme fills each budget)", fontsize=10)
    return _save(fig, path)


def plot_loss(df, path: str | Path, *, metric: str = "bleu4") -> Path:
    """BLEU-4 vs the realised packet loss rate per scheme and channel (left), and the
    realised rate against the channel's nominal loss parameter (right)."""
    _check(df, metric)
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(10.5, 4.2), dpi=120, gridspec_kw={"width_ratios": [1.6, 1]}
    )
    _draw(
        ax,
        df,
        x="packet_loss_rate",
        group_cols=["scheme", "channel_label"],
        metric=metric,
        title=f"{METRIC_LABELS.get(metric, metric)} vs realised packet loss rate",
        xlabel="realised packet loss rate (lost / sent packets of the row)",
        legend=False,
    )
    _draw(
        ax2,
        df.assign(_rate=df["packet_loss_rate"]),
        x="loss",
        group_cols=["scheme", "channel_label"],
        metric="_rate",
        title="realised vs nominal loss",
        xlabel="nominal loss parameter of the channel",
    )
    ax2.set_ylabel("realised packet loss rate")
    lim = float(np.nanmax(df[["loss", "packet_loss_rate"]].to_numpy(float))) if len(df) else 1.0
    ax2.plot([0, lim], [0, lim], color="0.5", lw=0.8, ls=":", label="realised = nominal")
    ax2.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _save(fig, path)


def plot_token_map(
    image: Any,
    tokens: Any,
    grid: tuple[int, int],
    path: str | Path,
    *,
    ks: Sequence[int] = (2, 4, 8, 16),
    seed: int = 0,
) -> Path:
    """The image and, for each K, its visual tokens coloured by k-means cluster
    (the paper's Fig. 2: which image regions share a centroid).

    :param image: a PIL image
    :param tokens: [N, D] tokens of that image, N = grid[0] * grid[1]
    :param grid: (h, w) token grid
    """
    import torch

    from collab_infer import kmeans

    h, w = grid
    tokens = torch.as_tensor(tokens, dtype=torch.float32)
    if tokens.dim() != 2 or tokens.shape[0] != h * w:
        raise ValueError(
            f"tokens must have shape [{h * w}, D] for grid {grid}, got {tuple(tokens.shape)}"
        )
    plt = _plt()
    fig, axes = plt.subplots(1, len(ks) + 1, figsize=(2.2 * (len(ks) + 1), 2.5), dpi=120)
    img = np.asarray(image.convert("RGB"))
    axes[0].imshow(img)
    axes[0].set_title("image", fontsize=9)
    for ax, k in zip(axes[1:], ks, strict=True):
        k = min(int(k), h * w)
        res = kmeans(tokens, k, seed=seed)
        idx = np.asarray(res.indices).reshape(-1)
        # relabel by cluster size (largest = 0) so the background keeps one colour
        order = np.argsort(-np.bincount(idx, minlength=k), kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        idx = rank[idx].reshape(h, w)
        ax.imshow(img)
        ax.imshow(
            idx,
            cmap="tab20",
            vmin=0,
            vmax=max(19, k - 1),
            alpha=0.6,
            extent=(0, img.shape[1], img.shape[0], 0),
            interpolation="nearest",
        )
        ax.set_title(f"K = {k} (K/N = {k}/{h * w})", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
