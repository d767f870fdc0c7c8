"""The edge role: image -> visual tokens -> reduced payload -> bytes -> packets.

``Edge`` = ``model.encode`` + a reducer + ``codec.encode`` + ``codec.packetize``. It meets
the link and the server only through the shared data types (:class:`Transmission`: a codec
payload, its bytes, its packets). Bit counts are ``len(bytes) * 8`` of what the codec
really produced.

>>> edge = Edge(load("default"), "kmeans", k=8)                  # doctest: +SKIP
>>> tx = edge([image], seed=0)[0]                                 # doctest: +SKIP
>>> tx.payload_bits, len(tx.packets)                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from codec.payload import Payload
    from collab_infer.models.base import VLM

__all__ = ["Edge", "Transmission"]


@dataclass(frozen=True)
class Transmission:
    """What the edge sends for one image.

    :param payload: the reduced payload (values before number-format quantization; the
        analog link sends these values).
    :param data: ``codec.encode(payload, ...)``: the digital payload.
    :param packets: ``codec.packetize(data, mtu)``.
    :param n_tokens: N, tokens per image at the split point.
    """

    payload: Payload
    data: bytes
    packets: list[bytes]
    n_tokens: int

    @property
    def payload_bytes(self) -> int:
        return len(self.data)

    @property
    def payload_bits(self) -> int:
        """Bits of the encoded payload (header and CRC included)."""
        return 8 * len(self.data)

    @property
    def packet_bits(self) -> int:
        """Bits of all packets (payload plus per-packet headers)."""
        return 8 * sum(len(p) for p in self.packets)

    @property
    def vectors_sent(self) -> int:
        """K: centroids (VQ), kept vectors (subset) or all N vectors (full)."""
        return int(self.payload.k)


class Edge:
    """The edge device: vision encoder + token reducer + payload codec.

    :param model: the VLM (its ``encode`` half runs here).
    :param reducer: a reducer name (``"kmeans"``, ``"random"``, ...) or reducer object.
    :param k: centroids / tokens kept per image (ignored by ``"full"``).
    :param number_format: the codec's number format for vector values (``"fp16"``, ...).
    :param index_coding: ``"auto"``, ``"packed"`` or ``"entropy"``.
    :param mtu: largest packet in bytes.
    :param reducer_params: parameters of a reducer given by name.
    """

    def __init__(
        self,
        model: VLM,
        reducer: Any,
        k: int | None,
        *,
        number_format: str = "fp16",
        index_coding: str = "auto",
        mtu: int = 1400,
        reducer_params: dict | None = None,
    ) -> None:
        import codec
        from collab_infer import reducers

        if number_format not in codec.NUMBER_FORMATS:
            raise ValueError(
                f"number_format must be one of {codec.NUMBER_FORMATS}, got {number_format!r}"
            )
        if index_coding not in codec.INDEX_CODINGS:
            raise ValueError(
                f"index_coding must be one of {codec.INDEX_CODINGS}, got {index_coding!r}"
            )
        if isinstance(reducer, str):
            reducer = reducers.make(reducer, **(reducer_params or {}))
        elif reducer_params:
            raise ValueError("reducer_params applies only to a reducer given by name")
        self.model = model
        self.reducer = reducer
        self.k = k
        self.number_format = number_format
        self.index_coding = index_coding
        self.mtu = mtu

    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Visual tokens ``[B, N, D]`` (the model's split point)."""
        return self.model.encode(list(images))

    def reduce(self, tokens: torch.Tensor, *, seed: int) -> list[Payload]:
        """One payload per image from tokens ``[B, N, D]``."""
        return self.reducer(tokens, self.k, seed=seed, grid=self.model.grid)

    def pack(self, payload: Payload) -> Transmission:
        """Encode and packetize one payload."""
        import codec

        data = codec.encode(payload, self.number_format, self.index_coding)
        packets = codec.packetize(data, self.mtu)
        return Transmission(payload=payload, data=data, packets=packets, n_tokens=payload.n_tokens)

    def send_tokens(self, tokens: torch.Tensor, *, seed: int) -> list[Transmission]:
        """Reduce, encode and packetize precomputed tokens ``[B, N, D]`` (a sweep encodes
        each image once and reuses its tokens)."""
        return [self.pack(p) for p in self.reduce(tokens, seed=seed)]

    def __call__(self, images: Sequence[Image.Image], *, seed: int) -> list[Transmission]:
        """Images -> one :class:`Transmission` each."""
        return self.send_tokens(self.encode(images), seed=seed)

    def describe(self) -> dict:
        reducer = self.reducer.describe() if hasattr(self.reducer, "describe") else {}
        return {
            "model": self.model.name,
            "split": self.model.split,
            "reducer": reducer,
            "k": self.k,
            "number_format": self.number_format,
            "index_coding": self.index_coding,
            "mtu": self.mtu,
        }
