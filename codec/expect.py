"""The receive-path budget: what a receiver expects before it allocates anything.

A receiver knows its model: N tokens of width D, and which number formats it accepts.
:class:`Expected` holds that, and every decoder that takes ``expect=``
(:func:`codec.decode`, :func:`codec.parse`, :func:`codec.decode_side_info`,
:func:`codec.parse_packet`, :func:`codec.reassemble`, :func:`codec.conceal`,
``collab_infer.reconstruct``) compares each header with it right after reading the
header fields, *before* allocating anything sized by them, and raises
:class:`~codec.errors.PayloadError` (or, in :func:`codec.reassemble`, refuses the
packet) on any disagreement. With it, nothing on the receive path allocates more
than about ``N x D`` float32 values, whatever arrives.

>>> e = Expected(n_tokens=256, dim=2048, number_formats=("fp16", "int8"))
>>> e.max_rows, e.number_formats
(256, ('fp16', 'int8'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from codec.errors import PayloadError
from codec.formats import NUMBER_FORMATS
from codec.header import KINDS, MAX_DIM, MAX_TOKENS, Header
from codec.payload import Payload, VQPayload, payload_kind

__all__ = ["Expected"]


def _check_size(name: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value.__index__())  # type: ignore[attr-defined]
    if not 1 <= value <= limit:
        raise ValueError(f"{name} must lie in [1, {limit}], got {value}")
    return value


def _check_names(name: str, values: object, valid: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a tuple of names from {valid}, got {values!r}")
    out = tuple(values)  # type: ignore[arg-type]
    bad = [v for v in out if v not in valid]
    if bad or not out:
        raise ValueError(f"{name} must be a non-empty subset of {valid}; got {out!r}")
    return out


@dataclass(frozen=True)
class Expected:
    """What a receiver accepts.

    :param n_tokens: N, the model's visual tokens per image (every payload kind
        declares it: VQ indices, subset positions' range, full vectors)
    :param dim: D, the token width at the model's split
    :param number_formats: accepted number formats (default: every one this codec has)
    :param kinds: accepted payload kinds (default ``("vq", "subset", "full")``)
    :param max_rows: most vectors a payload may carry (K centroids / k kept vectors);
        default N. A full payload always carries exactly N.
    :raises ValueError, TypeError: a field out of range or of the wrong type
    """

    n_tokens: int
    dim: int
    number_formats: tuple[str, ...] = NUMBER_FORMATS
    kinds: tuple[str, ...] = KINDS
    max_rows: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "n_tokens", _check_size("n_tokens", self.n_tokens, MAX_TOKENS))
        set_(self, "dim", _check_size("dim", self.dim, MAX_DIM))
        set_(
            self,
            "number_formats",
            _check_names("number_formats", self.number_formats, NUMBER_FORMATS),
        )
        set_(self, "kinds", _check_names("kinds", self.kinds, KINDS))
        rows = self.n_tokens if self.max_rows is None else self.max_rows
        set_(self, "max_rows", _check_size("max_rows", rows, MAX_TOKENS))

    def _problems(self, kind: str, n: int, d: int, rows: int, fmt: str | None) -> list[str]:
        """What disagrees, one phrase each (``fmt`` None: not compared)."""
        problems = []
        if kind not in self.kinds:
            problems.append(f"kind {kind!r} (accepted: {', '.join(self.kinds)})")
        if n != self.n_tokens:
            problems.append(f"N={n} (expected {self.n_tokens})")
        if d != self.dim:
            problems.append(f"D={d} (expected {self.dim})")
        if fmt is not None and fmt not in self.number_formats:
            accepted = ", ".join(self.number_formats)
            problems.append(f"number format {fmt} (accepted: {accepted})")
        if rows > cast(int, self.max_rows):
            problems.append(f"rows={rows} (at most {self.max_rows})")
        return problems

    def check_header(self, h: Header, what: str = "payload") -> None:
        """:class:`PayloadError` unless the header fields ``h`` are what this receiver
        accepts (compares numbers only; allocates nothing). Side info carries no
        values, so its number format field is not compared."""
        fmt = None if h.side_info else h.number_format.name
        problems = self._problems(h.kind, h.n_tokens, h.dim, h.rows, fmt)
        if problems:
            raise PayloadError(f"{what}: header does not match the receiver: {'; '.join(problems)}")

    def check_payload(self, payload: Payload, what: str = "payload") -> None:
        """:class:`PayloadError` unless a decoded payload has this receiver's N and D and
        at most ``max_rows`` vectors (reads shapes only)."""
        kind = payload_kind(payload)
        rows = payload.centroids if isinstance(payload, VQPayload) else payload.vectors
        problems = self._problems(
            kind, int(payload.n_tokens), int(rows.shape[1]), int(rows.shape[0]), None
        )
        if problems:
            raise PayloadError(f"{what} does not match the receiver: {'; '.join(problems)}")
