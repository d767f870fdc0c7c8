"""The runner carries a dropped subset's kept positions to ``generate(..., positions=)``,
and its caption cache (``_token_digest``) tells equal tokens at other positions apart."""

import torch

from experiments.config import load_config
from experiments.runner import ImageSet, _Components, _Item, _RunContext, _token_digest, run_sweep


def _cfg(subset_mode):
    return load_config(
        {
            "name": "pos",
            "dataset": {"n": 4},
            "generation": {"batch_size": 8, "max_new_tokens": 8},
            "schemes": [
                {
                    "label": "topk",
                    "reducer": "topk_norm",
                    "budgets": {"k": [5]},
                    "subset_mode": subset_mode,
                }
            ],
            "channels": [{"name": "ideal"}, {"name": "erasure", "sweep": {"loss": [1.0]}}],
            "metrics": {"n_boot": 10},
        }
    )


class PositionsSpy:
    """The fake VLM, recording each ``generate`` call's ``positions`` (or "absent")."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def generate(self, tokens, prompt=None, *, positions="absent", **kw):
        self.calls.append(positions)
        return self.model.generate(tokens, prompt, **kw)


class TestTokenDigest:
    def test_positions_enter_the_digest(self):
        t = torch.arange(12.0).reshape(3, 4)
        a, b = torch.tensor([0, 1, 2]), torch.tensor([0, 5, 9])
        assert _token_digest(t, a) != _token_digest(t, b)
        assert _token_digest(t, a) != _token_digest(t)
        assert _token_digest(t, a) == _token_digest(t.clone(), a.clone().int())
        assert _token_digest(t, None) == _token_digest(t)

    def test_equal_tokens_at_other_positions_are_captioned_apart(self, fake_vlm, fake_samples):
        spy = PositionsSpy(fake_vlm)
        images = ImageSet.from_samples(fake_samples)
        ctx = _RunContext(_cfg("drop"), spy, images, _Components())
        t = torch.ones(5, fake_vlm.dim)
        items = [
            _Item(0, 0, t, positions=torch.tensor([0, 1, 2, 3, 4])),
            _Item(0, 1, t.clone(), positions=torch.tensor([3, 6, 9, 12, 15])),
            _Item(0, 2, t.clone(), positions=torch.tensor([0, 1, 2, 3, 4])),
        ]
        ctx._caption(items, lambda n: None)
        (positions,) = spy.calls
        assert [p.tolist() for p in positions] == [[0, 1, 2, 3, 4], [3, 6, 9, 12, 15]]
        assert fake_vlm.generated == 2  # the third item reuses the first one's caption


class TestSweepPositions:
    def test_drop_rows_pass_the_kept_positions(self, tmp_path, fake_vlm, fake_samples):
        from collab_infer import reducers
        from experiments.runner import derive_seed

        spy = PositionsSpy(fake_vlm)
        images = ImageSet.from_samples(fake_samples)
        s = run_sweep(_cfg("drop"), tmp_path, model=spy, images=images, progress=False)
        assert s.rows_run == 2
        (positions,) = spy.calls  # the erasure row lost every image: one call
        tokens = fake_vlm.encode(images.images)
        payloads = reducers.get("topk_norm")()(
            tokens, 5, seed=derive_seed(0, 0xC0FFEE), grid=fake_vlm.grid
        )
        assert sorted(p.tolist() for p in positions) == sorted(
            p.positions.tolist() for p in payloads
        )

    def test_fill_rows_pass_no_positions(self, tmp_path, fake_vlm, fake_samples):
        spy = PositionsSpy(fake_vlm)
        images = ImageSet.from_samples(fake_samples)
        run_sweep(_cfg("fill"), tmp_path, model=spy, images=images, progress=False)
        assert spy.calls == ["absent"]
