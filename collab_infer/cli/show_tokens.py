"""``collab-infer show-tokens IMAGE --k 4 8 32``: the paper's Fig. 2 for one image.

Panels: the input image, the L2 norm of each visual token on its spatial grid, and for
each K the map of k-means cluster indices (which centroid replaces each token).
"""

from __future__ import annotations

from pathlib import Path

import typer

from collab_infer.cli.app import app

__all__ = ["show_tokens", "token_maps", "plot_token_maps"]


def token_maps(tokens, grid: tuple[int, int], ks: list[int], *, seed: int = 0) -> dict:
    """The maps of one image's tokens ``[N, D]``: ``{"norm": [h, w] float,
    "clusters": {K: [h, w] int64}}`` (k-means with ``collab_infer.kmeans``)."""
    import torch

    from collab_infer import kmeans

    h, w = grid
    n = tokens.shape[0]
    if h * w != n:
        raise ValueError(f"grid {h}x{w} does not hold the {n} tokens")
    clusters = {}
    for k in ks:
        if not 1 <= k <= n:
            raise ValueError(f"--k values must be in 1..N={n}, got {k}")
        clusters[k] = kmeans(tokens.float(), k, seed=seed).indices.reshape(h, w)
    return {
        "norm": torch.linalg.vector_norm(tokens.float(), dim=-1).reshape(h, w),
        "clusters": clusters,
    }


def plot_token_maps(image, maps: dict, out: Path, *, title: str = "") -> Path:
    """Save the panels (image, norm heatmap, one cluster map per K) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = list(maps["clusters"])
    fig, axes = plt.subplots(1, 2 + len(ks), figsize=(3.2 * (2 + len(ks)), 3.4), squeeze=False)
    axes = axes[0]
    axes[0].imshow(image)
    axes[0].set_title("image")
    im = axes[1].imshow(maps["norm"].numpy(), cmap="viridis")
    axes[1].set_title("token L2 norm")
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04)
    for ax, k in zip(axes[2:], ks, strict=True):
        cmap = "tab10" if k <= 10 else "tab20" if k <= 20 else "nipy_spectral"
        ax.imshow(
            maps["clusters"][k].numpy(),
            cmap=cmap,
            vmin=0,
            vmax=max(k - 1, 1),
            interpolation="nearest",
        )
        ax.set_title(f"k-means clusters, K={k}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


@app.command(
    "show-tokens",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": False},
)
def show_tokens(
    ctx: typer.Context,
    image: Path = typer.Argument(..., help="the image file"),
    k: list[int] = typer.Option(
        [4, 8, 32], "--k", "-k", help="cluster counts: --k 4 8 32 (or --k 4 --k 8)"
    ),
    out: Path = typer.Option(Path("tokens.png"), "--out", "-o", help="PNG to write"),
    model: str = typer.Option("default", "--model", "-m", help="model name or checkpoint"),
    split: str = typer.Option("projector", "--split", help="'projector' or 'vision'"),
    seed: int = typer.Option(0, "--seed", help="k-means seed"),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, ... (default: auto)"),
    dtype: str | None = typer.Option(
        None, "--dtype", help="weights dtype: fp32, bf16, fp16 (default: fp32 CPU, bf16 CUDA)"
    ),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: all cores)"),
) -> None:
    """Plot the visual tokens of IMAGE like the paper's Fig. 2: their L2-norm heatmap on
    the token grid and the k-means cluster-index map for each K, saved as a PNG."""
    from rich.console import Console

    from collab_infer.cli.errors import user_errors

    console = Console()
    with user_errors():
        ks = list(k) + [_int_arg(a) for a in ctx.args]
        path, maps = _run(image, ks, out, model, split, seed, device, threads, dtype=dtype)
    norm = maps["norm"]
    console.print(
        f"token L2 norm: min {norm.min():.3g}, mean {norm.mean():.3g}, max {norm.max():.3g}",
        highlight=False,
    )
    for kk, idx in maps["clusters"].items():
        sizes = sorted(idx.flatten().bincount(minlength=kk).tolist(), reverse=True)
        console.print(f"K={kk}: cluster sizes {sizes}", highlight=False)
    console.print(f"wrote {path}", highlight=False, soft_wrap=True)


def _int_arg(a: str) -> int:
    try:
        return int(a)
    except ValueError:
        raise ValueError(f"unexpected argument {a!r}: --k takes integers") from None


def _run(image, ks, out, model, split, seed, device, threads, dtype=None):
    from collab_infer.cli.errors import check_threads
    from collab_infer.datasets.images import open_image
    from collab_infer.models import load
    from collab_infer.runtime import check_device, set_threads

    check_threads(threads)
    if not ks:
        raise ValueError("give at least one --k")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out must be a .png file, got {out}")
    from collab_infer.cli.caption import _quiet_transformers

    if out.is_dir():
        raise ValueError(f"--out {out} is a directory: give the .png file to write")
    img = open_image(image)
    check_device(device)
    set_threads(threads or None)
    _quiet_transformers()
    vlm = load(model, device=device, dtype=dtype, split=split)
    if vlm.grid is None:
        raise ValueError(f"the tokens of {vlm.name} do not lie on a spatial grid")
    tokens = vlm.encode([img])[0]
    maps = token_maps(tokens, vlm.grid, ks, seed=seed)
    title = f"{vlm.name} ({split}): N={vlm.n_tokens} tokens on a {vlm.grid[0]}x{vlm.grid[1]} grid"
    return plot_token_maps(img, maps, out, title=title), maps
