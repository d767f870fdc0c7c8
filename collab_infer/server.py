"""The server role: packets -> payload (reassembled, concealed) -> tokens -> caption.

``Server`` = ``codec.reassemble`` + ``codec.conceal`` + ``reconstruct`` + ``model.generate``.
Damaged or missing packets are concealed, never a crash: when nothing arrived the server
captions an all-zero token sequence of its model's N x D.

Receive-path budget: the server knows its model's N, D and the number formats it
accepts (:attr:`Server.expect`, a :class:`codec.Expected`) and hands that to
``codec.reassemble``, ``codec.conceal`` and ``reconstruct``, which refuse any header or
payload that disagrees before allocating; so whatever arrives, the server never
allocates more than about its model's own N x D tokens, and every refusal is a
:class:`codec.PayloadError` (a refused packet counts as corrupted, i.e. lost).

>>> server = Server(load("default"))                                  # doctest: +SKIP
>>> payload = server.receive(delivery.packets)                        # doctest: +SKIP
>>> server.caption([payload])                                         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from codec.payload import Payload
    from collab_infer.models.base import VLM

__all__ = ["Server"]


class Server:
    """The server: payload concealment + token reconstruction + the VLM's decoder half.

    :param model: the VLM (its ``generate`` half runs here); it must be cut at the same
        split point as the edge's.
    :param subset_mode: subset payloads: ``"fill"`` (N tokens, gaps filled) or ``"drop"``
        (only the kept tokens, original order).
    :param fill: ``"mean"`` or ``"zeros"`` for the gaps of ``subset_mode="fill"``.
    :param vector_fill: concealment of lost vectors (``"mean"`` or ``"zeros"``).
    :param index_fill: concealment of lost VQ indices (``"mode"`` or ``"neighbor"``).
    :param subset_lost: lost kept vectors of a subset: ``"drop"`` or ``"fill"``.
    :param prompt: the prompt (default: the model's).
    :param max_new_tokens: the most tokens per caption.
    :param num_beams: 1 for greedy decoding, more for beam search.
    :param number_formats: number formats the server accepts (default: every format of
        ``codec.NUMBER_FORMATS``); packets in another format are refused.

    :attr expect: the :class:`codec.Expected` built from the model (N, D) and
        ``number_formats``.
    """

    def __init__(
        self,
        model: VLM,
        *,
        subset_mode: str = "fill",
        fill: str = "mean",
        vector_fill: str = "mean",
        index_fill: str = "mode",
        subset_lost: str = "drop",
        prompt: str | None = None,
        max_new_tokens: int = 32,
        num_beams: int = 1,
        number_formats: Sequence[str] | None = None,
    ) -> None:
        import codec
        from collab_infer.reconstruct import FILLS, SUBSET_MODES

        for name, value, valid in (
            ("subset_mode", subset_mode, SUBSET_MODES),
            ("fill", fill, FILLS),
            ("vector_fill", vector_fill, codec.VECTOR_FILLS),
            ("index_fill", index_fill, codec.INDEX_FILLS),
            ("subset_lost", subset_lost, codec.SUBSET_LOST),
        ):
            if value not in valid:
                raise ValueError(f"{name} must be one of {valid}, got {value!r}")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {num_beams}")
        self.expect = codec.Expected(
            n_tokens=model.n_tokens,
            dim=model.dim,
            number_formats=codec.NUMBER_FORMATS if number_formats is None else number_formats,
        )
        self.model = model
        self.subset_mode, self.fill = subset_mode, fill
        self.vector_fill, self.index_fill, self.subset_lost = vector_fill, index_fill, subset_lost
        self.prompt = prompt
        self.max_new_tokens, self.num_beams = max_new_tokens, num_beams

    def receive(self, packets: Sequence[bytes | None]) -> Payload:
        """Reassemble the packets of one image (``None`` = lost) and conceal what is
        missing; never raises for damaged input (packets that do not match
        :attr:`expect` count as corrupted, and when none is left the result is the
        all-zero N x D payload)."""
        import codec

        reassembled = codec.reassemble(list(packets), expect=self.expect)
        return codec.conceal(
            reassembled, self.vector_fill, self.index_fill, self.subset_lost, expect=self.expect
        )

    def rebuild(self, payloads: Sequence[Payload]) -> list[torch.Tensor]:
        """Token sequences ``[N'_i, D]`` from payloads (VQ: each token its centroid).

        :raises ValueError: a payload's D is not the model's (edge and server cut the
            model at different splits)
        :raises PayloadError: a payload's N or row count is not what :attr:`expect`
            allows (checked before anything is rebuilt)
        """
        from collab_infer.reconstruct import reconstruct_batch

        for i, p in enumerate(payloads):
            if p.dim != self.model.dim:
                raise ValueError(
                    f"payloads[{i}] has D={p.dim} but the model takes D={self.model.dim} at "
                    f"split {self.model.split!r}: edge and server must use the same split"
                )
        return reconstruct_batch(
            list(payloads), subset_mode=self.subset_mode, fill=self.fill, expect=self.expect
        )

    def positions(self, payloads: Sequence[Payload]) -> list[torch.Tensor | None]:
        """Per payload the grid positions of :meth:`rebuild`'s tokens: a dropped subset's
        kept positions (``[k]`` int64, 0..N-1) with ``subset_mode="drop"``, else ``None``."""
        from collab_infer.reconstruct import token_positions_batch

        return token_positions_batch(list(payloads), subset_mode=self.subset_mode)

    def caption(self, payloads: Sequence[Payload]) -> list[str]:
        """Captions for received payloads, batched.

        With ``subset_mode="drop"`` each dropped subset's kept positions go to
        ``model.generate(..., positions=)`` (so models with 2-D positions, e.g.
        Qwen2.5-VL, place each kept token on its own grid cell); with nothing to place
        (fill mode, VQ, full payloads) ``positions`` is not passed."""
        tokens = self.rebuild(payloads)
        positions = self.positions(payloads)
        extra = {"positions": positions} if any(p is not None for p in positions) else {}
        return self.model.generate(
            tokens,
            self.prompt,
            max_new_tokens=self.max_new_tokens,
            num_beams=self.num_beams,
            **extra,
        )

    def __call__(self, received: Sequence[Sequence[bytes | None]]) -> list[str]:
        """Captions from the received packets of each image."""
        return self.caption([self.receive(p) for p in received])

    def describe(self) -> dict:
        return {
            "model": self.model.name,
            "subset_mode": self.subset_mode,
            "fill": self.fill,
            "vector_fill": self.vector_fill,
            "index_fill": self.index_fill,
            "subset_lost": self.subset_lost,
            "prompt": self.prompt if self.prompt is not None else self.model.prompt,
            "max_new_tokens": self.max_new_tokens,
            "num_beams": self.num_beams,
            "number_formats": list(self.expect.number_formats),
        }
