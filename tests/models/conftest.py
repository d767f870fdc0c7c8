"""Tiny offline checkpoints (built once per test session) and test images."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def tiny_paligemma_dir(tmp_path_factory):
    from collab_infer.models.tiny import build_tiny_paligemma

    return build_tiny_paligemma(tmp_path_factory.mktemp("tiny_paligemma"))


@pytest.fixture(scope="session")
def tiny_llava_dir(tmp_path_factory):
    from collab_infer.models.tiny import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("tiny_llava"))


@pytest.fixture(scope="session")
def images():
    """Three random RGB images of different sizes (the preprocessor resizes them)."""
    rng = np.random.default_rng(0)
    sizes = [(40, 50), (32, 32), (60, 28)]
    return [Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)) for h, w in sizes]


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl_dir(tmp_path_factory):
    from collab_infer.models.tiny_recent import build_tiny_qwen2_5_vl

    return build_tiny_qwen2_5_vl(tmp_path_factory.mktemp("tiny_qwen2_5_vl"))


@pytest.fixture(scope="session")
def tiny_gemma3_dir(tmp_path_factory):
    from collab_infer.models.tiny_recent import build_tiny_gemma3

    return build_tiny_gemma3(tmp_path_factory.mktemp("tiny_gemma3"))


@pytest.fixture(scope="session")
def tiny_smolvlm_dir(tmp_path_factory):
    from collab_infer.models.tiny_recent import build_tiny_smolvlm

    return build_tiny_smolvlm(tmp_path_factory.mktemp("tiny_smolvlm"))


@pytest.fixture(scope="session")
def tiny_internvl_dir(tmp_path_factory):
    from collab_infer.models.tiny_recent import build_tiny_internvl

    return build_tiny_internvl(tmp_path_factory.mktemp("tiny_internvl"))


@pytest.fixture(scope="session")
def tiny_llava_onevision_dir(tmp_path_factory):
    from collab_infer.models.tiny_recent import build_tiny_llava_onevision

    return build_tiny_llava_onevision(tmp_path_factory.mktemp("tiny_llava_onevision"))


@pytest.fixture(scope="session")
def tiny_qwen2_vl_dir(tmp_path_factory):
    from collab_infer.models.tiny_recent import build_tiny_qwen2_5_vl

    return build_tiny_qwen2_5_vl(tmp_path_factory.mktemp("tiny_qwen2_vl"), family="qwen2_vl")


@pytest.fixture(scope="module")
def tokens(vlm, images):
    """The requesting module's ``vlm`` encoding of :func:`images`: ``[3, N, D]``."""
    return vlm.encode(images)
