"""The binary framing a ``connect`` session switches to after its JSON handshake: raw bytes both ways.

Each frame is one kind byte, a 4-byte big-endian length and the payload. The client sends ``i`` (input
bytes for the process's terminal) and ``w`` (window size: columns and rows, two big-endian shorts); the
server sends ``o`` (raw output bytes, escapes untouched) and ``e`` (the session ended: a UTF-8 reason)
before it closes. Framing keeps the window size out of band without escaping every byte of the stream.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct(">cI")
MAX_FRAME = 64 * 1024  # larger input is split by the sender; a bigger header is a protocol error
INPUT = b"i"
WINSIZE = b"w"
OUTPUT = b"o"
END = b"e"
_WINSIZE = struct.Struct(">HH")


class FrameError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    """One frame."""
    return HEADER.pack(kind, len(payload)) + payload


def frames(kind: bytes, payload: bytes) -> bytes:
    """``payload`` as as many frames as it takes to stay within MAX_FRAME each."""
    if not payload:
        return b""
    return b"".join(frame(kind, payload[i : i + MAX_FRAME]) for i in range(0, len(payload), MAX_FRAME))


def winsize(columns: int, rows: int) -> bytes:
    """A window-size frame (clamped to what a pty can hold)."""
    return frame(WINSIZE, _WINSIZE.pack(max(1, min(columns, 0xFFFF)), max(1, min(rows, 0xFFFF))))


def parse_winsize(payload: bytes) -> tuple[int, int]:
    """Columns and rows from a window-size payload."""
    if len(payload) != _WINSIZE.size:
        raise FrameError("window size frame must hold two 16-bit numbers")
    columns, rows = _WINSIZE.unpack(payload)
    if not columns or not rows:
        raise FrameError("window size must be at least 1x1")
    return columns, rows


class FrameReader:
    """Cut a byte stream into frames, however it was split in transit; bounded by MAX_FRAME."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Take received bytes; return the complete frames they finish, in order."""
        self._buffer += data
        out: list[tuple[bytes, bytes]] = []
        while len(self._buffer) >= HEADER.size:
            kind, length = HEADER.unpack_from(self._buffer)
            if length > MAX_FRAME:
                raise FrameError(f"frame of {length} bytes (at most {MAX_FRAME})")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            out.append((kind, bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return out
