"""Framing for ASCII line protocols: a start character, a body, CR/LF; resync after garbage."""

from __future__ import annotations

from drivers.base import DecodeError


class LineFramer:
    """Yields lines that begin with *start*, without their line ending.

    Bytes before a start character are garbage and counted; a second start character before
    the line ends means the first line was cut short, so it is dropped and framing restarts
    there; a line longer than *max_len* is dropped whole.
    """

    def __init__(self, start: bytes, max_len: int) -> None:
        if len(start) != 1:
            raise ValueError("start must be one byte")
        self._start = start
        self._max_len = max_len
        self._buf = bytearray()
        self._discarded = 0
        self._corrupted = 0

    @property
    def discarded_bytes(self) -> int:
        return self._discarded

    @property
    def corrupted_frames(self) -> int:
        """Lines dropped for running past the maximum length."""
        return self._corrupted

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        buf = self._buf
        out: list[bytes] = []
        while buf:
            begin = buf.find(self._start)
            if begin < 0:
                self._discarded += len(buf)
                buf.clear()
                break
            if begin:
                self._discarded += begin
                del buf[:begin]
            end = buf.find(b"\n")
            restart = buf.find(self._start, 1, end if end >= 0 else len(buf))
            if restart > 0:
                self._discarded += restart
                del buf[:restart]
                continue
            if end < 0:
                if len(buf) > self._max_len:
                    self._discarded += len(buf)
                    self._corrupted += 1
                    buf.clear()
                break
            line = bytes(buf[:end]).rstrip(b"\r")
            del buf[: end + 1]
            if len(line) > self._max_len:
                self._discarded += len(line)
                self._corrupted += 1
                continue
            out.append(line)
        return out


def ascii_fields(line: bytes, what: str) -> str:
    """The line as text; DecodeError when it is not printable ASCII."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise DecodeError(f"{what}: line is not ASCII") from None
    if not text.isprintable():
        raise DecodeError(f"{what}: line holds control characters")
    return text
