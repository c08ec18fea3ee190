"""Colours a child leaves switched on across line ends, tracked so lazily parsed lines still show them."""

from __future__ import annotations

import re
from collections.abc import Callable

SGR = re.compile(r"\x1b\[([0-9;:]*)m")

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


class ColorCarry:
    """Works out, lazily and only for lines about to be drawn, which colours earlier lines left switched on.

    A child that turns red on one line and resets three lines later colours all of them on a terminal;
    lines are parsed one by one here, so each line inside such a run gets the open escapes as a prefix.
    The walk back stops at the nearest line that ends with a full reset, at a remembered line, or after
    LOOKBACK lines, so ingesting lines costs nothing and drawing a screen costs a few hundred steps at most.
    """

    LOOKBACK = 500
    MEMO = 8192

    def __init__(self) -> None:
        self._ends: dict[int, str] = {}  # seq -> escape still open at the end of that line

    def prefix(self, lines: Callable[[int, int], list[str]], first: int, seq: int) -> str:
        """The escape open at the start of line ``seq``; ``lines(a, b)`` gives lines a..b-1, oldest is ``first``."""
        ends = self._ends
        if seq - 1 in ends:
            return ends[seq - 1]
        floor = max(first, seq - self.LOOKBACK)
        window = lines(floor, seq)
        floor = seq - len(window)
        opening = ""
        pending: list[str] = []
        for offset in range(len(window) - 1, -1, -1):
            known = ends.get(floor + offset)
            if known is not None:
                opening = known
                break
            line = window[offset]
            if "\x1b" not in line:
                continue
            if _ends_reset(line):
                break
            pending.append(line)
        if pending:
            state: dict[str, str] = {}
            for line in [opening, *reversed(pending)]:
                for match in SGR.finditer(line):
                    apply_sgr(state, match.group(1))
            opening = escape_for(state)
        if len(ends) >= self.MEMO:
            ends.clear()
        ends[seq - 1] = opening
        return opening

    def reset(self) -> None:
        """Forget everything (a new source)."""
        self._ends.clear()


def _ends_reset(line: str) -> bool:
    """Whether the last SGR escape of a line is a full reset (so nothing stays open after it)."""
    tail = line[line.rfind("\x1b") :]
    return tail.startswith(("\x1b[0m", "\x1b[m"))


def escape_for(state: dict[str, str]) -> str:
    """One SGR escape that recreates ``state`` from the default ("" for the default itself)."""
    return f"\x1b[{';'.join(state.values())}m" if state else ""
