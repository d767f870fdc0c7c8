import pytest
import torch

from codec import FullPayload, SubsetPayload, VQPayload, payload_kind


class TestPayloadTypes:
    def test_vq_properties(self):
        p = VQPayload(torch.randn(4, 8), torch.tensor([0, 3, 2, 1, 1]))
        assert (p.k, p.dim, p.n_tokens) == (4, 8, 5)
        assert payload_kind(p) == "vq"

    def test_vq_rejects_out_of_range_index(self):
        with pytest.raises(ValueError, match=r"indices must lie in \[0, K=4\)"):
            VQPayload(torch.randn(4, 8), torch.tensor([0, 4]))

    def test_subset_rejects_unsorted_positions(self):
        with pytest.raises(ValueError, match="strictly increasing"):
            SubsetPayload(torch.randn(2, 8), torch.tensor([3, 1]), n_tokens=5)

    def test_subset_rejects_length_mismatch(self):
        with pytest.raises(ValueError, match="same length"):
            SubsetPayload(torch.randn(3, 8), torch.tensor([0, 1]), n_tokens=5)

    def test_full(self):
        p = FullPayload(torch.randn(6, 3))
        assert (p.n_tokens, p.dim, p.k) == (6, 3, 6)
        assert payload_kind(p) == "full"

    def test_rejects_integer_vectors(self):
        with pytest.raises(ValueError, match="floating-point"):
            FullPayload(torch.zeros(2, 2, dtype=torch.int64))
