"""Shared tiny architecture for the training tests (builds and steps in milliseconds)."""

import pytest

from collab_infer.training.model_config import ArchSpec

TINY = ArchSpec(
    image_size=32,
    patch_size=8,
    vision_hidden=32,
    vision_layers=1,
    vision_heads=2,
    vision_intermediate=64,
    text_hidden=32,
    text_layers=2,
    text_heads=2,
    text_kv_heads=1,
    text_head_dim=16,
    text_intermediate=64,
)


@pytest.fixture
def tiny_arch() -> ArchSpec:
    return TINY
