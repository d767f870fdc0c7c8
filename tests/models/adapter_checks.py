"""Checks every recent VLM adapter's tests share, on its tiny float64 checkpoint.

Each takes the adapter's ``vlm`` (the ``"projector"`` split), its encoded ``tokens``
``[3, N, D]`` and, where needed, a ``reference(vlm, image, num_beams)`` that runs HF's own
pixel-values path; each asserts exactly what the per-adapter copies asserted.
"""

from __future__ import annotations

import torch

from collab_infer.models import load

__all__ = [
    "MAX_NEW",
    "load_tiny",
    "prompt_tensor",
    "hf_generate",
    "check_reproduces_pixel_values_path",
    "check_replaced_tokens_change_the_output",
    "check_batched_equals_single",
    "check_vision_split",
]

#: new tokens per caption in every check
MAX_NEW = 6


def load_tiny(adapter: str, directory, **options):
    """``load(f"{adapter}:{directory}")`` on the CPU in float64 (so batched, padded runs and
    single-sample runs cannot flip a greedy choice)."""
    return load(f"{adapter}:{directory}", device="cpu", dtype=torch.float64, **options)


def prompt_tensor(vlm, n_tokens: int) -> torch.Tensor:
    """The adapter's prompt ids for ``n_tokens`` image tokens and its default prompt, ``[1, L]``."""
    return torch.tensor([vlm._prompt_ids(n_tokens, vlm.prompt)])


def hf_generate(vlm, ids: torch.Tensor, num_beams: int, **inputs) -> str:
    """HF ``generate`` on prompt ``ids`` plus the model's image ``inputs`` (greedy or beam,
    :data:`MAX_NEW` tokens), decoded with white space folded."""
    out = vlm.model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        **inputs,
        max_new_tokens=MAX_NEW,
        num_beams=num_beams,
        do_sample=False,
    )
    return " ".join(vlm.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).split())


def check_reproduces_pixel_values_path(vlm, images, tokens, reference, num_beams: int) -> None:
    """Captions from the unmodified tokens equal HF's pixel-values captions, and differ
    between the images."""
    captions = vlm.generate(list(tokens), max_new_tokens=MAX_NEW, num_beams=num_beams)
    assert captions == [reference(vlm, im, num_beams) for im in images]
    assert len(set(captions)) >= 2


def check_replaced_tokens_change_the_output(vlm, tokens) -> None:
    """Zeroed tokens change the captions; tokens rolled across images roll the captions."""
    base = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
    zeros = vlm.generate([torch.zeros_like(t) for t in tokens], max_new_tokens=MAX_NEW)
    swapped = vlm.generate(list(tokens.roll(1, dims=0)), max_new_tokens=MAX_NEW)
    assert zeros != base
    assert swapped == base[-1:] + base[:-1]


def check_batched_equals_single(vlm, seqs, num_beams: int, positions=None) -> None:
    """A batch of token sequences of different lengths (with their ``positions`` if given)
    gives the captions each gives alone, and not all the same."""
    kw = {"max_new_tokens": MAX_NEW, "num_beams": num_beams}
    if positions is None:
        batched = vlm.generate(seqs, **kw)
        assert batched == [vlm.generate([s], **kw)[0] for s in seqs]
    else:
        batched = vlm.generate(seqs, positions=positions, **kw)
        single = [
            vlm.generate([s], positions=[p], **kw)[0] for s, p in zip(seqs, positions, strict=True)
        ]
        assert batched == single
    assert len(set(batched)) >= 2


def check_vision_split(vis, vlm, raw, tokens) -> None:
    """The ``"vision"`` split's ``raw`` features, projected on the server, are the
    ``"projector"`` split's ``tokens`` and caption the same."""
    torch.testing.assert_close(vis.project(raw), tokens, rtol=1e-6, atol=1e-6)
    assert vis.generate(list(raw), max_new_tokens=MAX_NEW) == vlm.generate(
        list(tokens), max_new_tokens=MAX_NEW
    )
