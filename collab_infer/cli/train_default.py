"""``collab-infer train-default``: reproduce the built-in default captioner's weights."""

from __future__ import annotations

from pathlib import Path

import typer

from collab_infer.cli.app import app

__all__ = ["train_default"]

_DEFAULT_OUT = Path("runs/default_model")
#: schedule end of the shipped run (its time budget started the decay there)
_SHIPPED_STEPS = 4000


@app.command("train-default")
def train_default(
    out: Path = typer.Option(_DEFAULT_OUT, "--out", help="Checkpoint directory to write."),
    steps: int = typer.Option(
        _SHIPPED_STEPS, "--steps", min=1, help="Optimiser steps (the schedule's end)."
    ),
    decay_steps: int | None = typer.Option(
        500, "--decay-steps", min=1, help="Cosine decay over the last N steps."
    ),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Images per step."),
    lr: float = typer.Option(2e-3, "--lr", help="Peak learning rate (AdamW)."),
    warmup_steps: int = typer.Option(50, "--warmup-steps", min=0, help="Linear warmup steps."),
    seed: int = typer.Option(0, "--seed", help="Model-initialisation seed."),
    data_seed: int = typer.Option(0, "--data-seed", help="shapes dataset seed."),
    val_every: int = typer.Option(250, "--val-every", min=1, help="Validate every N steps."),
    val_n: int = typer.Option(64, "--val-n", min=1, help="Validation images (greedy BLEU-4)."),
    threads: int = typer.Option(1, "--threads", min=1, help="torch intra-op threads."),
    device: str = typer.Option(
        "auto", "--device", help="'auto' (cuda if available), 'cpu', 'cuda', ..."
    ),
    compile_model: bool = typer.Option(
        False, "--compile/--no-compile", help="torch.compile the model."
    ),
    aux_weight: float = typer.Option(
        1.0,
        "--aux-weight",
        min=0.0,
        help="Weight of the vision tower's auxiliary cell-attribute loss.",
    ),
    time_budget_s: float | None = typer.Option(
        None,
        "--time-budget-s",
        help="Start the decay early so training ends within this many seconds "
        "(hard stop at +15%); the log records the step the schedule ended at.",
    ),
    init_from: Path | None = typer.Option(
        None, "--init-from", help="Start from this checkpoint instead of a random init."
    ),
    data_offset: int = typer.Option(
        0, "--data-offset", min=0, help="First train image index (step i uses offset + 16i...)."
    ),
    log: Path | None = typer.Option(None, "--log", help="Append JSON-lines progress records here."),
) -> None:
    """Train the default captioner (small PaliGemma) on the shapes dataset from a fixed seed.

    The shipped weights in collab_infer/models/default_model/ came from two runs of this
    command on one CPU thread: stage 1 with its defaults, then stage 2 with
    --init-from <stage 1> --data-offset 64000 --steps 1423 --batch-size 32 --lr 1e-3
    (README.md and meta.json there list the exact commands, times and quality).
    """
    from collab_infer.training.train import TrainConfig, train

    cfg = TrainConfig(
        steps=steps,
        decay_steps=decay_steps,
        batch_size=batch_size,
        lr=lr,
        warmup_steps=warmup_steps,
        seed=seed,
        data_seed=data_seed,
        val_every=val_every,
        val_n=val_n,
        threads=threads,
        device=device,
        compile=compile_model,
        aux_weight=aux_weight,
        init_from=str(init_from) if init_from is not None else None,
        data_offset=data_offset,
        time_budget_s=time_budget_s,
    )
    res = train(cfg, out, log_path=log)
    typer.echo(
        f"done: {res.steps_done} steps, best val BLEU-4 {res.best_val_bleu4:.3f} "
        f"at step {res.best_step}, "
        f"{res.samples_per_s:.1f} samples/s, {res.train_time_s / 60:.1f} min; checkpoint in {out}"
    )
