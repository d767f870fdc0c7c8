"""A few steps of training on a tiny configuration: loss falls, checkpoints load back."""

import json

import pytest
import torch
from transformers import PaliGemmaForConditionalGeneration, PreTrainedTokenizerFast

from collab_infer.training.checkpoint import load_checkpoint
from collab_infer.training.train import TrainConfig, lr_at, train


def test_lr_schedule():
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1e-3, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(99, cfg) == pytest.approx(1e-4, rel=1e-2)
    lrs = [lr_at(s, cfg) for s in range(10, 100)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"steps": 0}, "steps must be >= 1"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"warmup_steps": -1}, "warmup_steps must be >= 0"),
    ],
)
def test_config_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


def test_tiny_run_reduces_loss_and_saves_loadable_checkpoint(tmp_path, tiny_arch):
    cfg = TrainConfig(
        steps=40,
        batch_size=8,
        lr=3e-3,
        warmup_steps=4,
        val_every=40,
        val_n=4,
        threads=1,
        device="cpu",
        arch=tiny_arch,
    )
    log = tmp_path / "log.jsonl"
    res = train(cfg, tmp_path / "ck", log_path=log, progress=False)
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert recs[0]["event"] == "start" and recs[-1]["event"] == "end"
    assert res.steps_done == 40 and res.samples_per_s > 0
    # the first step's loss is about ln(vocab); the last 10 steps' mean is far lower
    assert res.first_loss == pytest.approx(torch.log(torch.tensor(24.0)).item(), rel=0.25)
    assert res.final_loss < 0.75 * res.first_loss
    ck = tmp_path / "ck"
    for f in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
        "meta.json",
    ):
        assert (ck / f).is_file(), f
    m = PaliGemmaForConditionalGeneration.from_pretrained(ck)
    tok = PreTrainedTokenizerFast.from_pretrained(ck)
    assert tok.bos_token_id == 2 and m.config.text_config.num_image_tokens == tiny_arch.n_tokens
    pre = json.loads((ck / "preprocessor_config.json").read_text())
    assert pre["image_size"] == 32 and pre["image_mean"] == [0.5, 0.5, 0.5]
    meta = json.loads((ck / "meta.json").read_text())
    assert meta["n_tokens"] == tiny_arch.n_tokens and meta["train_config"]["steps"] == 40


def test_same_seed_same_weights(tmp_path, tiny_arch):
    cfg = TrainConfig(
        steps=3,
        batch_size=4,
        warmup_steps=1,
        val_every=3,
        val_n=2,
        threads=1,
        device="cpu",
        arch=tiny_arch,
    )
    a = train(cfg, tmp_path / "a", progress=False)
    b = train(cfg, tmp_path / "b", progress=False)
    assert a.final_loss == b.final_loss
    ma, _ = load_checkpoint(tmp_path / "a")
    mb, _ = load_checkpoint(tmp_path / "b")
    for (na, pa), (_, pb) in zip(ma.state_dict().items(), mb.state_dict().items(), strict=True):
        assert torch.equal(pa, pb), na


def test_load_checkpoint_error(tmp_path):
    with pytest.raises(ValueError, match="not a checkpoint directory"):
        load_checkpoint(tmp_path)


def test_warmup_stable_decay_schedule():
    cfg = TrainConfig(steps=100, decay_steps=20, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert [lr_at(s, cfg) for s in (9, 10, 50, 80)] == [1.0, 1.0, 1.0, 1.0]
    assert lr_at(90, cfg) == pytest.approx(0.55)
    assert lr_at(99, cfg) < 0.11
    # a run shortened to end at step 60 decays over steps 40..59 instead
    assert lr_at(39, cfg, 60) == 1.0 and lr_at(50, cfg, 60) == pytest.approx(0.55)


def test_time_budget_starts_the_decay_and_stops(tmp_path, tiny_arch):
    cfg = TrainConfig(
        steps=1000,
        decay_steps=2,
        batch_size=2,
        warmup_steps=1,
        val_every=1000,
        val_n=2,
        threads=1,
        device="cpu",
        arch=tiny_arch,
        time_budget_s=1e-3,
    )
    log = tmp_path / "log.jsonl"
    res = train(cfg, None, log_path=log, progress=False)
    events = [json.loads(x) for x in log.read_text().splitlines()]
    starts = [e for e in events if e["event"] == "decay_start"]
    assert starts and starts[0]["schedule_end"] == starts[0]["step"] + 2
    assert res.steps_done < 1000 and events[-1]["event"] == "end"
