"""Colours a child leaves switched on across line ends, tracked so lazily parsed lines still show them."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence

SGR = re.compile(r"\x1b\[([0-9;:]*)m")
# A line whose last SGR turns something on (not a reset or an attribute-off code) may leave it open.
_OPEN_AT_END = re.compile(r"\x1b\[(?!(?:0*|39|49|59|2[2-9]|55)m)[0-9;:]*m[^\x1b\n]*(?:\n|\Z)")

_ON = {1: "bold", 2: "dim", 3: "italic", 4: "underline", 5: "blink", 6: "blink", 7: "reverse", 8: "conceal"}
_ON.update({9: "strike", 21: "underline", 53: "overline"})
_OFF = {22: ("bold", "dim"), 23: ("italic",), 24: ("underline",), 25: ("blink",), 27: ("reverse",)}
_OFF.update({28: ("conceal",), 29: ("strike",), 39: ("fg",), 49: ("bg",), 55: ("overline",), 59: ("ul",)})
_EXTENDED = {38: "fg", 48: "bg", 58: "ul"}


def apply_sgr(state: dict[str, str], params: str) -> None:
    """Update ``state`` (attribute slot -> SGR parameters that set it) with one escape's parameters."""
    tokens = params.split(";")
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if ":" in token:
            # ITU form such as 38:2::255:0:0 carries a whole colour in one token.
            head = token.split(":", 1)[0]
            if head.isdigit() and int(head) in _EXTENDED:
                state[_EXTENDED[int(head)]] = token
            continue
        code = int(token) if token.isdigit() else 0
        if code == 0:
            state.clear()
        elif code in _ON:
            state[_ON[code]] = str(code)
        elif code in _OFF:
            for slot in _OFF[code]:
                state.pop(slot, None)
        elif 30 <= code <= 37 or 90 <= code <= 97:
            state["fg"] = str(code)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            state["bg"] = str(code)
        elif code in _EXTENDED and index < len(tokens):
            kind = tokens[index]
            size = 2 if kind == "5" else 4 if kind == "2" else 1
            state[_EXTENDED[code]] = ";".join([str(code), *tokens[index : index + size]])
            index += size


def leaves_open(blob: str) -> bool:
    """Whether some line of a newline-joined batch may end with a colour still switched on."""
    return "\x1b" in blob and _OPEN_AT_END.search(blob) is not None


class ColorCarry:
    """SGR state carried from line to line, as a terminal keeps it, and the prefix each line inherits.

    A child that turns red on one line and resets three lines later colours all of them on a terminal;
    lines are parsed one by one here, so each line inside such a run gets the open escapes as a prefix.
    """

    def __init__(self) -> None:
        self._state: dict[str, str] = {}
        self._prefixes: dict[int, str] = {}  # seq -> escape open when the line starts
        self._order: deque[int] = deque()  # keys of _prefixes, oldest first

    def prefix(self, seq: int) -> str:
        """The escape to put before line ``seq`` ("" almost always)."""
        return self._prefixes.get(seq, "") if self._prefixes else ""

    def feed(self, start: int, lines: Sequence[str], blob: str) -> None:
        """Account for lines ``start``, ``start + 1``, ... (``blob`` is them joined with newlines)."""
        if not self._state and not leaves_open(blob):
            return
        state = self._state
        prefix = _escape(state)
        for offset, line in enumerate(lines):
            if prefix:
                self._prefixes[start + offset] = prefix
                self._order.append(start + offset)
            if "\x1b" in line:
                for match in SGR.finditer(line):
                    apply_sgr(state, match.group(1))
                prefix = _escape(state)

    def forget_before(self, seq: int) -> None:
        """Drop prefixes of lines older than ``seq`` (they left the buffer)."""
        order = self._order
        while order and order[0] < seq:
            del self._prefixes[order.popleft()]

    def reset(self) -> None:
        """Forget everything (a new source)."""
        self._state.clear()
        self._prefixes.clear()
        self._order.clear()


def _escape(state: dict[str, str]) -> str:
    """One SGR escape that recreates ``state`` from the default."""
    return f"\x1b[{';'.join(state.values())}m" if state else ""
