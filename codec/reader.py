"""A bounded cursor over bytes: every read is checked against the bytes left.

Decoders read through :class:`ByteReader` so that no size field from the wire is
trusted before it has been compared with the remaining bytes; a short read raises
:class:`~codec.errors.PayloadError`, never :class:`IndexError`.
"""

from __future__ import annotations

from codec.errors import PayloadError

__all__ = ["ByteReader", "write_varint", "varint_len", "MAX_VARINT"]

#: Largest value a varint field may hold (fits 5 LEB128 bytes; 32 bits).
MAX_VARINT = 2**32 - 1


def write_varint(value: int) -> bytes:
    """Unsigned LEB128 encoding of ``0 <= value <= MAX_VARINT`` (1-5 bytes)."""
    value = int(value)
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"varint value must lie in [0, {MAX_VARINT}], got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint_len(value: int) -> int:
    """Number of bytes :func:`write_varint` uses for ``value``."""
    return max(1, (int(value).bit_length() + 6) // 7)


class ByteReader:
    """Sequential reader of ``data[start:end]`` that raises :class:`PayloadError`
    (naming ``what``) on any read past the end.

    :param data: the bytes to read
    :param what: a name for error messages ("payload", "packet")
    """

    __slots__ = ("data", "pos", "end", "what")

    def __init__(self, data: bytes | memoryview, what: str = "payload", *, end: int | None = None):
        self.data = data
        self.pos = 0
        self.end = len(data) if end is None else end
        self.what = what

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def need(self, n: int, field: str) -> None:
        """Raise :class:`PayloadError` unless ``n`` more bytes are available."""
        if n < 0 or n > self.remaining:
            raise PayloadError(
                f"{self.what} truncated or inconsistent: {field} needs {n} bytes, "
                f"{self.remaining} left"
            )

    def take(self, n: int, field: str) -> bytes | memoryview:
        """The next ``n`` bytes (checked first; a view, not a copy, when ``data`` is one)."""
        self.need(n, field)
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self, field: str) -> int:
        self.need(1, field)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self, field: str) -> int:
        """An unsigned LEB128 value of at most 5 bytes and at most ``MAX_VARINT``."""
        value = 0
        for shift in range(0, 35, 7):
            byte = self.u8(field)
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if value > MAX_VARINT:
                    break
                if byte == 0 and shift:
                    raise PayloadError(f"{self.what}: {field} is a non-minimal varint")
                return value
        raise PayloadError(f"{self.what}: {field} is not a valid varint (more than 32 bits)")

    def expect_end(self) -> None:
        """Raise :class:`PayloadError` if bytes are left over."""
        if self.remaining:
            raise PayloadError(f"{self.what} has {self.remaining} unexpected trailing bytes")
