"""Batched greedy captioning of rendered ``shapes`` images (training-time validation)."""

from __future__ import annotations

import numpy as np

__all__ = ["caption_uint8"]


def caption_uint8(
    model,
    tokenizer,
    layout,
    images: np.ndarray,
    *,
    batch_size: int = 100,
    max_new_tokens: int = 20,
    image_hook=None,
) -> list[str]:
    """Captions for ``images`` [B,H,W,3] uint8 with greedy decoding.

    ``image_hook`` (optional) maps the projected image tokens [b, N, D] to replacements
    (installed as a forward hook on ``model.model.multi_modal_projector``); it receives the
    index slice of the current batch as its second argument.
    """
    import torch

    from collab_infer.training.batches import pixels_from_uint8, prefix_ids

    n_tokens = model.config.text_config.num_image_tokens
    device = next(model.parameters()).device
    out: list[str] = []
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            pix = pixels_from_uint8(chunk).to(device)
            ids = prefix_ids(layout, n_tokens, len(chunk)).to(device)
            handle = None
            if image_hook is not None:
                sl = slice(start, start + len(chunk))

                def _hook(_mod, _inp, output, sl=sl):
                    return image_hook(output, sl)

                handle = model.model.multi_modal_projector.register_forward_hook(_hook)
            try:
                with torch.no_grad():
                    gen = model.generate(
                        input_ids=ids,
                        pixel_values=pix,
                        attention_mask=torch.ones_like(ids),
                        token_type_ids=torch.zeros_like(ids),
                        max_new_tokens=max_new_tokens,
                        do_sample=False,
                        num_beams=1,
                        pad_token_id=layout.pad_id,
                        eos_token_id=layout.eos_id,
                    )
            finally:
                if handle is not None:
                    handle.remove()
            out += tokenizer.batch_decode(gen[:, ids.shape[1] :], skip_special_tokens=True)
    finally:
        model.train(was_training)
    return [" ".join(s.split()) for s in out]
