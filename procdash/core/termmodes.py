"""The terminal modes a child sets that change what its keys must look like: DECCKM and bracketed paste."""

from __future__ import annotations

import re

# CSI ? Pm h / l: private modes set or reset; 1 is application cursor keys, 2004 bracketed paste.
_PRIVATE_MODE = re.compile(rb"\x1b\[\?([0-9;]{1,40})([hl])")
_CARRY = 48  # bytes kept from a chunk's end, where a sequence may be cut in two
_UNFINISHED = re.compile(rb"\x1b(?:\[(?:\?[0-9;]*)?)?")


class TerminalModes:
    """Follows a child's output for the modes its input encoding depends on; bounded memory."""

    def __init__(self) -> None:
        self.app_cursor = False
        self.bracketed_paste = False
        self._carry = b""

    def feed(self, data: bytes) -> None:
        """Look at one chunk of raw output."""
        if b"\x1b[?" not in data and not self._carry:
            return
        text = self._carry + data
        for match in _PRIVATE_MODE.finditer(text):
            on = match.group(2) == b"h"
            for mode in match.group(1).split(b";"):
                if mode == b"1":
                    self.app_cursor = on
                elif mode == b"2004":
                    self.bracketed_paste = on
        last = text.rfind(b"\x1b", max(0, len(text) - _CARRY))
        # Keep the start of a mode sequence cut off at the chunk's end for the next chunk.
        tail = text[last:] if last >= 0 else b""
        self._carry = tail if tail and _UNFINISHED.fullmatch(tail) else b""

    def reset(self) -> None:
        """A new run of the process starts with a fresh terminal state."""
        self.app_cursor = False
        self.bracketed_paste = False
        self._carry = b""
