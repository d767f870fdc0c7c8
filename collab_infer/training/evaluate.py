"""Quality of a default-captioner checkpoint: full tokens, k-means VQ and random selection.

For each image the projected visual tokens ``[N, D]`` (``model.model.get_image_features``)
are replaced before the decoder sees them (a forward hook on
``model.model.multi_modal_projector`` returns the replacement), then captions are decoded
greedily and scored with COCO-style corpus BLEU (:func:`collab_infer.metrics.corpus_bleu`).

- ``kmeans`` K: per-image k-means (:func:`collab_infer.kmeans`, k-means++ seeding, seeded)
  with K centroids; each token becomes its centroid (N tokens kept, K distinct vectors).
- ``random`` K: K random token positions kept per image (seeded); every dropped position
  is filled with the mean of the kept tokens (positions kept).
- ``full``: the tokens unchanged.

Run ``python -m collab_infer.training.evaluate --ckpt collab_infer/models/default_model``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["EvalRow", "evaluate", "kmeans_replace", "random_replace", "main"]


@dataclass(frozen=True)
class EvalRow:
    """One (split, method, K) result. ``k`` = N for ``full``; ``ratio`` = K / N."""

    split: str
    method: str
    k: int
    ratio: float
    n_images: int
    bleu1: float
    bleu4: float
    example: str


def kmeans_replace(tokens, k: int, *, seed: int):
    """[B, N, D] -> [B, N, D]: every token replaced by its k-means centroid (per image)."""
    import torch

    from collab_infer import kmeans

    res = kmeans(tokens.float(), k, seed=seed)
    idx = res.indices.unsqueeze(-1).expand(-1, -1, tokens.shape[-1])
    return torch.gather(res.centroids, 1, idx).to(tokens.dtype)


def random_replace(tokens, k: int, *, seed: int):
    """[B, N, D] -> [B, N, D]: ``k`` random positions kept per image, the others set to the
    mean of the kept tokens."""
    import torch

    b, n, _ = tokens.shape
    g = torch.Generator().manual_seed(seed)
    order = torch.rand(b, n, generator=g).argsort(dim=1)
    keep = torch.zeros(b, n, dtype=torch.bool)
    keep.scatter_(1, order[:, :k], True)
    keep = keep.to(tokens.device).unsqueeze(-1)
    mean = (tokens * keep).sum(1, keepdim=True) / k
    return torch.where(keep, tokens, mean)


def _features(model, images: np.ndarray, batch_size: int = 100):
    import torch

    from collab_infer.training.batches import pixels_from_uint8

    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for s in range(0, len(images), batch_size):
            pix = pixels_from_uint8(images[s : s + batch_size]).to(device)
            out.append(model.model.get_image_features(pixel_values=pix).pooler_output.cpu())
    return torch.cat(out)


def evaluate(
    ckpt: str | Path,
    *,
    n: int = 500,
    data_seed: int = 0,
    seed: int = 0,
    ks: tuple[int, ...] | None = None,
    splits: tuple[str, ...] = ("test", "test_heldout"),
    heldout_methods: tuple[str, ...] = ("full",),
    device: str = "auto",
    progress: bool = True,
) -> list[EvalRow]:
    """Evaluate ``ckpt`` on ``n`` images per split; ``ks`` defaults to N/2^j for K/N in
    {1/N .. 1/4}. On ``test_heldout`` only ``heldout_methods`` run."""
    from collab_infer.datasets.shapes import render
    from collab_infer.metrics import corpus_bleu
    from collab_infer.runtime import pick_device
    from collab_infer.training.batches import CaptionLayout
    from collab_infer.training.checkpoint import load_checkpoint
    from collab_infer.training.greedy import caption_uint8

    model, tok = load_checkpoint(ckpt, device=pick_device(device))
    layout = CaptionLayout.from_tokenizer(tok)
    n_tok = model.config.text_config.num_image_tokens
    size = model.config.vision_config.image_size
    if ks is None:
        ks = tuple(2**j for j in range(int(np.log2(n_tok)) - 1) if 2**j <= n_tok // 4)
    rows: list[EvalRow] = []
    for split in splits:
        batch = render(split, np.arange(n), seed=data_seed, size=size)
        refs = [[c] for c in batch.captions()]
        feats = _features(model, batch.images)
        plan = [("full", n_tok)]
        methods = ("kmeans", "random") if split != "test_heldout" else heldout_methods
        plan += [(m, k) for m in methods if m != "full" for k in ks]
        if split == "test_heldout" and "full" not in heldout_methods:
            plan = plan[1:]
        for method, k in plan:
            t0 = time.time()
            if method == "full":
                repl = feats
            elif method == "kmeans":
                repl = kmeans_replace(feats, k, seed=seed)
            elif method == "random":
                repl = random_replace(feats, k, seed=seed)
            else:
                raise ValueError(f"method must be 'full', 'kmeans' or 'random', got {method!r}")

            def hook(_out, sl, repl=repl):
                return repl[sl].to(_out.device)

            hyps = caption_uint8(model, tok, layout, batch.images, image_hook=hook)
            sc = corpus_bleu(hyps, refs)
            row = EvalRow(
                split, method, k, k / n_tok, n, float(sc["bleu1"]), float(sc["bleu4"]), hyps[0]
            )
            rows.append(row)
            if progress:
                print(
                    f"{split:13s} {method:7s} K={k:3d} (K/N={k}/{n_tok}) BLEU-4 {row.bleu4:.3f} "
                    f"BLEU-1 {row.bleu1:.3f}  [{time.time() - t0:.0f}s] e.g. {hyps[0]!r}",
                    flush=True,
                )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line: print the table, optionally write JSON and update the checkpoint's meta."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", default=str(Path(__file__).parents[1] / "models" / "default_model"))
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--heldout-methods", default="full,kmeans,random")
    p.add_argument("--json", default=None, help="write the rows here")
    p.add_argument("--write-meta", action="store_true", help="store the rows in ckpt/meta.json")
    a = p.parse_args(argv)
    from collab_infer.runtime import set_threads

    set_threads(a.threads)
    t0 = time.time()
    rows = evaluate(a.ckpt, n=a.n, heldout_methods=tuple(a.heldout_methods.split(",")))
    result = {
        "rows": [asdict(r) for r in rows],
        "n_images": a.n,
        "eval_s": time.time() - t0,
        "command": "python -m collab_infer.training.evaluate "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
    if a.write_meta:
        mp = Path(a.ckpt) / "meta.json"
        meta = json.loads(mp.read_text()) if mp.exists() else {}
        meta["quality"] = result
        mp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
