"""Train the default captioner on ``shapes`` (full visual tokens only).

Reproducible from ``TrainConfig.seed`` (model init) and ``data_seed`` (step ``i`` sees train
images ``i*B .. (i+1)*B - 1``, rendered on the fly, never repeated). AdamW; learning rate:
linear warmup, constant, then a cosine decay to ``min_lr_ratio * lr`` over the last
``decay_steps`` steps (``decay_steps=None``: warmup + cosine over the whole run). With a
``time_budget_s`` the decay starts early when the measured step time says the budget would
be exceeded otherwise; the step at which the run ends is logged and stored in the
checkpoint's meta (``schedule_end``), so ``--steps <schedule_end>`` without a budget replays
the same schedule. The loss covers only the caption tokens and eos. Every ``val_every`` steps a
greedy-decoding corpus BLEU-4 on ``val_n`` validation images is printed and logged, and the
best checkpoint so far is saved.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from collab_infer.training.model_config import DEFAULT_ARCH, ArchSpec

__all__ = ["TrainConfig", "TrainResult", "train", "lr_at"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run."""

    steps: int = 3000
    decay_steps: int | None = None
    batch_size: int = 32
    lr: float = 2e-3
    min_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    seed: int = 0
    data_seed: int = 0
    val_every: int = 200
    val_n: int = 100
    threads: int | None = None
    device: str = "auto"
    compile: bool = False
    aux_weight: float = 0.0
    init_from: str | None = None
    data_offset: int = 0
    time_budget_s: float | None = None
    arch: ArchSpec = field(default_factory=lambda: DEFAULT_ARCH)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "val_every", "val_n"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.decay_steps is not None and self.decay_steps < 1:
            raise ValueError(f"decay_steps must be >= 1 or None, got {self.decay_steps}")
        if self.data_offset < 0:
            raise ValueError(f"data_offset must be >= 0, got {self.data_offset}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")


@dataclass(frozen=True)
class TrainResult:
    """What a run produced."""

    out_dir: Path | None
    steps_done: int
    best_val_bleu4: float
    best_step: int
    samples_per_s: float
    train_time_s: float
    final_loss: float
    first_loss: float
    history: list[dict]


def lr_at(step: int, cfg: TrainConfig, end: int | None = None) -> float:
    """Learning rate at optimiser step ``step`` (0-based) of a run ending at ``end``
    (default ``cfg.steps``): linear warmup, constant, cosine decay over the last
    ``cfg.decay_steps`` steps (or over everything after warmup)."""
    end = cfg.steps if end is None else end
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    start = cfg.warmup_steps
    if cfg.decay_steps is not None:
        start = max(start, end - cfg.decay_steps)
    t = (step - start) / max(1, end - start)
    t = min(max(t, 0.0), 1.0)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def _val_bleu(model, tok, layout, images, refs) -> tuple[float, list[str]]:
    from collab_infer.metrics import corpus_bleu
    from collab_infer.training.greedy import caption_uint8

    hyps = caption_uint8(model, tok, layout, images)
    return float(corpus_bleu(hyps, refs)["bleu4"]), hyps


def train(
    cfg: TrainConfig,
    out_dir: str | Path | None = None,
    *,
    log_path: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train, saving the best-validation checkpoint to ``out_dir`` (if given)."""
    import torch

    from collab_infer.datasets.shapes import render
    from collab_infer.runtime import pick_device, set_threads
    from collab_infer.training.batches import CaptionLayout, make_batch
    from collab_infer.training.checkpoint import save_checkpoint
    from collab_infer.training.model_config import build_model
    from collab_infer.training.tokenizer import build_tokenizer

    threads = set_threads(cfg.threads)
    device = pick_device(cfg.device)
    tok = build_tokenizer()
    layout = CaptionLayout.from_tokenizer(tok)
    arch = cfg.arch
    if cfg.init_from is not None:  # continue from a checkpoint (a second training stage)
        from transformers import PaliGemmaForConditionalGeneration

        model = PaliGemmaForConditionalGeneration.from_pretrained(cfg.init_from).to(device)
        model.config._attn_implementation = "sdpa"
    else:
        model = build_model(arch, seed=cfg.seed).to(device)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=cfg.betas,
    )
    fwd = torch.compile(model) if cfg.compile else model
    aux = None
    if cfg.aux_weight > 0:
        from collab_infer.training.aux import AuxHead, cell_token_labels

        aux = AuxHead(model, seed=cfg.seed)
        opt.add_param_group({"params": list(aux.parameters()), "weight_decay": 0.0})

    val = render("val", np.arange(cfg.val_n), seed=cfg.data_seed, size=arch.image_size)
    val_refs = [[c] for c in val.captions()]
    log = open(log_path, "a") if log_path else None  # noqa: SIM115

    def emit(rec: dict) -> None:
        if log:
            log.write(json.dumps(rec) + "\n")
            log.flush()

    emit(
        {
            "event": "start",
            "config": _cfg_dict(cfg),
            "params": n_params,
            "device": device,
            "threads": threads,
        }
    )
    history: list[dict] = []
    best, best_step, loss_ema, samples, t_train = -1.0, -1, float("nan"), 0, 0.0
    first_loss, recent = float("nan"), []
    t_start = time.time()
    bar = _Bar(cfg.steps, progress)
    step = 0
    end = cfg.steps
    step = -1
    try:
        while step + 1 < end:
            step += 1
            t0 = time.time()
            first = cfg.data_offset + step * cfg.batch_size
            idx = np.arange(first, first + cfg.batch_size)
            sb = render("train", idx, seed=cfg.data_seed, size=arch.image_size)
            b = make_batch(sb, layout, arch.n_tokens, with_text=False)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg, end)
            out = fwd(
                input_ids=b.input_ids.to(device),
                pixel_values=b.pixel_values.to(device),
                attention_mask=b.attention_mask.to(device),
                token_type_ids=b.token_type_ids.to(device),
                labels=b.labels.to(device),
            )
            loss = out.loss
            if aux is not None:
                grid = arch.image_size // arch.patch_size
                aux_labels = torch.from_numpy(cell_token_labels(sb, grid))
                loss = loss + cfg.aux_weight * aux.loss(aux_labels)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            lv = float(out.loss.detach())  # the caption loss (without the auxiliary term)
            aux_lv = float(loss.detach()) - lv
            first_loss = lv if step == 0 else first_loss
            recent = [*recent[-9:], lv]
            loss_ema = lv if math.isnan(loss_ema) else 0.95 * loss_ema + 0.05 * lv
            t_train += time.time() - t0
            samples += cfg.batch_size
            sps = samples / max(t_train, 1e-9)
            bar.update(
                step + 1,
                f"loss {loss_ema:.3f} | {sps:.1f} samples/s | best BLEU-4 {max(best, 0):.3f}",
            )
            if (step + 1) % 20 == 0:
                emit(
                    {
                        "event": "train",
                        "step": step + 1,
                        "loss": loss_ema,
                        "aux_loss": aux_lv,
                        "lr": lr_at(step, cfg, end),
                        "samples_per_s": sps,
                        "elapsed_s": time.time() - t_start,
                    }
                )
            elapsed = time.time() - t_start
            decay = cfg.decay_steps if cfg.decay_steps is not None else end - cfg.warmup_steps
            if (
                cfg.time_budget_s is not None
                and step + 1 >= cfg.warmup_steps
                and end - (step + 1) > decay
                and elapsed + decay * elapsed / (step + 1) >= cfg.time_budget_s
            ):
                end = step + 1 + decay  # start the decay now so it ends within the budget
                emit({"event": "decay_start", "step": step + 1, "schedule_end": end})
                bar.print(f"time budget: decay starts at step {step + 1}, run ends at {end}")
            # hard stop 15% past the budget (the decay estimate was too optimistic)
            over_time = cfg.time_budget_s is not None and elapsed > 1.15 * cfg.time_budget_s
            last = step + 1 == end or over_time
            if (step + 1) % cfg.val_every == 0 or last:
                bleu, hyps = _val_bleu(model, tok, layout, val.images, val_refs)
                rec = {
                    "event": "val",
                    "step": step + 1,
                    "loss": loss_ema,
                    "val_bleu4": bleu,
                    "samples_per_s": sps,
                    "elapsed_s": time.time() - t_start,
                    "lr": lr_at(step, cfg, end),
                    "example": hyps[0],
                    "ref": val_refs[0][0],
                }
                history.append(rec)
                emit(rec)
                bar.print(
                    f"step {step + 1}: loss {loss_ema:.3f}  val BLEU-4 {bleu:.3f}  "
                    f"{sps:.1f} samples/s  e.g. {hyps[0]!r}"
                )
                if bleu > best:
                    best, best_step = bleu, step + 1
                    if out_dir is not None:
                        meta = _meta(
                            cfg,
                            n_params,
                            best,
                            best_step,
                            sps,
                            time.time() - t_start,
                            device,
                            threads,
                            end,
                        )
                        save_checkpoint(model, tok, out_dir, meta)
            if over_time:
                emit({"event": "time_budget_reached", "step": step + 1})
                break
    finally:
        bar.close()
        if aux is not None:
            aux.remove()
    total = time.time() - t_start
    emit(
        {
            "event": "end",
            "steps": step + 1,
            "best_val_bleu4": best,
            "best_step": best_step,
            "schedule_end": end,
            "samples_per_s": samples / max(t_train, 1e-9),
            "total_s": total,
        }
    )
    if log:
        log.close()
    return TrainResult(
        Path(out_dir) if out_dir else None,
        step + 1,
        best,
        best_step,
        samples / max(t_train, 1e-9),
        total,
        float(np.mean(recent)) if recent else float("nan"),
        first_loss,
        history,
    )


def _cfg_dict(cfg: TrainConfig) -> dict:
    d = asdict(cfg)
    d["betas"] = list(cfg.betas)
    return d


def _meta(cfg, n_params, best, best_step, sps, elapsed, device, threads, end) -> dict:
    import torch
    import transformers

    return {
        "name": "collab-infer default captioner",
        "dataset": "shapes",
        "n_tokens": cfg.arch.n_tokens,
        "grid": [cfg.arch.image_size // cfg.arch.patch_size] * 2,
        "prompt": "caption en",
        "params": n_params,
        "train_config": _cfg_dict(cfg),
        "best_val_bleu4": best,
        "best_step": best_step,
        "schedule_end": end,
        "train_samples_seen": best_step * cfg.batch_size,
        "train_samples_per_s": sps,
        "train_elapsed_s_at_save": elapsed,
        "train_device": device,
        "train_threads": threads,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


class _Bar:
    """A rich progress bar (or nothing)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._p = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(
                TextColumn("train"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.description}"),
            )
            self._p.start()
            self._task = self._p.add_task("", total=total)

    def update(self, done: int, desc: str) -> None:
        if self._p is not None:
            self._p.update(self._task, completed=done, description=desc)

    def print(self, msg: str) -> None:
        if self._p is not None:
            self._p.console.print(msg)
        else:
            print(msg, flush=True)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
