"""Dropped subsets keep their grid positions end to end: ``Server.caption`` and the sweep
runner pass a drop-mode subset's kept positions to ``VLM.generate(..., positions=)``, on
the tiny Qwen2.5-VL (M-RoPE: a kept token keeps its own grid cell's position ids)."""

import pytest
import torch

import channel
from collab_infer.edge import Edge
from collab_infer.models import load
from collab_infer.server import Server

MAX_NEW = 5
SIZE = (32, 48)  # a 4 x 6 grid of N = 24 tokens


@pytest.fixture(scope="module")
def vlm(tiny_qwen2_5_vl_dir):
    # float64: batched and single-sample generation cannot flip a greedy choice
    return load(
        f"qwen2_5_vl:{tiny_qwen2_5_vl_dir}", device="cpu", dtype=torch.float64, image_size=SIZE
    )


class _Spy:
    """Records the ``positions=`` of every ``generate`` call of the wrapped model."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def generate(self, tokens, prompt=None, **kw):
        self.calls.append(kw.get("positions"))
        return self.model.generate(tokens, prompt, **kw)


def _payloads(vlm, images, k=6):
    server = Server(vlm, subset_mode="drop", max_new_tokens=MAX_NEW)
    txs = Edge(vlm, "topk_norm", k=k, number_format="fp32")(images, seed=0)
    ideal = channel.make("ideal")
    return server, [server.receive(ideal.transmit(tx.packets, seed=0).packets) for tx in txs]


class TestServerDrop:
    def test_caption_passes_the_kept_positions(self, vlm, images):
        server, payloads = _payloads(vlm, images)
        spy = _Spy(vlm)
        server.model = spy
        captions = server.caption(payloads)
        (positions,) = spy.calls
        assert [p.tolist() for p in positions] == [p.positions.tolist() for p in payloads]
        assert all(p.dtype == torch.int64 for p in positions)
        # the same as generating from the kept tokens at their own grid cells
        tokens = [p.vectors for p in payloads]
        expected = vlm.generate(tokens, max_new_tokens=MAX_NEW, positions=positions)
        assert captions == expected

    def test_without_positions_qwen_refuses_a_shorter_sequence(self, vlm, images):
        _, payloads = _payloads(vlm, images[:1])
        with pytest.raises(ValueError, match=r"pass positions\[0\]"):
            vlm.generate([payloads[0].vectors], max_new_tokens=MAX_NEW)

    def test_kept_positions_change_the_model_input(self, vlm, images):
        """The server's positions are the ones the model uses: the same kept tokens laid out
        on the first k cells (what dropping without positions would mean) give other
        M-RoPE position ids."""
        server, payloads = _payloads(vlm, images[:1])
        kept = server.positions(payloads)[0]
        assert not torch.equal(kept, torch.arange(kept.numel()))  # top-k is not a prefix
        ids = torch.tensor([vlm._prompt_ids(kept.numel(), vlm.prompt)])
        mask = torch.ones_like(ids)
        ours = vlm._extra_generate_kwargs(ids, mask, [kept.numel()], [kept])["position_ids"]
        prefix = vlm._extra_generate_kwargs(
            ids, mask, [kept.numel()], [torch.arange(kept.numel())]
        )["position_ids"]
        assert not torch.equal(ours, prefix)

    def test_fill_mode_passes_no_positions(self, vlm, images):
        _, payloads = _payloads(vlm, images[:1])
        spy = _Spy(vlm)
        server = Server(spy, subset_mode="fill", max_new_tokens=MAX_NEW)
        assert server.positions(payloads) == [None]
        server.caption(payloads)
        assert spy.calls == [None]  # the keyword is not passed at all


class TestSweepDrop:
    def test_drop_mode_sweep_on_qwen(self, vlm, images, tmp_path):
        from collab_infer.datasets.sample import Sample
        from experiments.config import load_config
        from experiments.rows import ResultsStore
        from experiments.runner import ImageSet, run_sweep

        samples = [
            Sample(id=f"i{i}", image=im, references=["a picture"]) for i, im in enumerate(images)
        ]
        cfg = load_config(
            {
                "name": "drop",
                "dataset": {"n": 3},
                "generation": {"batch_size": 8, "max_new_tokens": MAX_NEW},
                "schemes": [
                    {
                        "label": "topk",
                        "reducer": "topk_norm",
                        "budgets": {"k": [6]},
                        "number_formats": ["fp32"],
                        "subset_mode": "drop",
                    }
                ],
                "channels": [{"name": "ideal"}],
                "metrics": {"n_boot": 10},
            }
        )
        spy = _Spy(vlm)
        s = run_sweep(
            cfg, tmp_path, model=spy, images=ImageSet.from_samples(samples), progress=False
        )
        assert s.rows_run == 1
        (positions,) = spy.calls
        assert all(p is not None and p.numel() == 6 for p in positions)
        _, payloads = _payloads(vlm, images)
        expected = vlm.generate(
            [p.vectors for p in payloads],
            max_new_tokens=MAX_NEW,
            positions=[p.positions for p in payloads],
        )
        caps = ResultsStore(tmp_path).captions()
        assert sorted(caps["caption"].tolist()) == sorted(expected)
