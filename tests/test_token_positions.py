"""``reconstruct.token_positions``: the grid positions that go with a rebuilt sequence."""

import pytest
import torch

from codec.payload import FullPayload, SubsetPayload, VQPayload
from collab_infer.reconstruct import reconstruct, token_positions, token_positions_batch

SUBSET = SubsetPayload(torch.ones(3, 2), torch.tensor([1, 4, 6], dtype=torch.int32), n_tokens=8)


class TestTokenPositions:
    def test_dropped_subset_gives_its_kept_positions(self):
        pos = token_positions(SUBSET, subset_mode="drop")
        assert pos.tolist() == [1, 4, 6] and pos.dtype == torch.int64
        assert pos.shape[0] == reconstruct(SUBSET, subset_mode="drop").shape[0]

    def test_full_length_sequences_give_none(self):
        assert token_positions(SUBSET, subset_mode="fill") is None
        assert token_positions(FullPayload(torch.ones(4, 2)), subset_mode="drop") is None
        vq = VQPayload(torch.ones(2, 2), torch.tensor([0, 1, 1]))
        assert token_positions(vq, subset_mode="drop") is None

    def test_batch_and_bad_mode(self):
        out = token_positions_batch([SUBSET, FullPayload(torch.ones(8, 2))], subset_mode="drop")
        assert out[0].tolist() == [1, 4, 6] and out[1] is None
        with pytest.raises(ValueError, match="subset_mode must be one of"):
            token_positions(SUBSET, subset_mode="keep")
