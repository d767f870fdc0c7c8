"""The prefill helpers on a plain gated MLP stack (no checkpoint needed)."""

import torch
from torch import nn

from collab_infer.models.prefill import chunked_mlps, last_position_only


class GatedMLP(nn.Module):
    def __init__(self, d=6, h=10):
        super().__init__()
        self.gate_proj, self.up_proj = nn.Linear(d, h), nn.Linear(d, h)
        self.down_proj = nn.Linear(h, d)

    def forward(self, x):
        return self.down_proj(torch.tanh(self.gate_proj(x)) * self.up_proj(x))


class Attn(nn.Module):
    def __init__(self, d=6):
        super().__init__()
        self.o_proj = nn.Linear(d, d)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn, self.mlp = Attn(), GatedMLP()


class LM(nn.Module):
    def __init__(self, n=2):
        super().__init__()
        self.layers = nn.ModuleList(Layer() for _ in range(n))


def test_chunked_mlps_same_output_and_restored(monkeypatch):
    from collab_infer.models import prefill

    torch.manual_seed(0)
    lm = LM().double()
    x = torch.randn(3, 7, 6, dtype=torch.float64)
    whole = lm.layers[0].mlp(x)
    monkeypatch.setattr(prefill, "MLP_CHUNK_VALUES", 1)
    monkeypatch.setattr(prefill, "_MIN_CHUNK_POSITIONS", 4)  # 21 positions -> 6 pieces
    with chunked_mlps(lm):
        assert "forward" in vars(lm.layers[1].mlp)
        torch.testing.assert_close(lm.layers[0].mlp(x), whole, rtol=0, atol=1e-12)
    assert all("forward" not in vars(layer.mlp) for layer in lm.layers)
    with chunked_mlps(lm, enabled=False):
        assert "forward" not in vars(lm.layers[0].mlp)


def test_last_position_only_slices_prefill_not_decoding():
    lm = LM()
    seen = []
    mlp = lm.layers[-1].mlp
    handles = last_position_only(lm)
    probe = mlp.register_forward_pre_hook(lambda m, a: seen.append(tuple(a[0].shape)))
    try:
        mlp(torch.zeros(2, 5, 6))
        mlp(torch.zeros(2, 1, 6))
    finally:
        for h in [*handles, probe]:
            h.remove()
    assert seen == [(2, 1, 6), (2, 1, 6)]
    assert last_position_only(nn.Module()) == []
