"""One stored log line made fit for the screen: cleaning, colours, tabs, cell widths and wrap points."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.ansi import AnsiDecoder
from rich.cells import cell_len, split_graphemes
from rich.text import Text

from procdash.core.lines import sanitize, strip_sgr

TAB_SIZE = 8

# Characters that are not escapes but would still move the cursor or reorder the row on a terminal:
# CR/LF (only if a caller bypassed the line assembler), line/paragraph separators and bidi controls.
_UNSAFE = re.compile("[\r\n\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_NAMES = {"\r": "\u240d", "\n": "\u240a"}
# In an ASCII batch anything here (a control other than LF and ESC, or a tab) needs the careful path.
_SLOW_ASCII = re.compile(r"[\x00-\x09\x0b-\x1a\x1c-\x1f\x7f]")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def _name_unsafe(match: re.Match[str]) -> str:
    """The visible stand-in for one unsafe character."""
    return _UNSAFE_NAMES.get(match.group(0), "\ufffd")


def clean(raw: str) -> str:
    """The line with every escape but SGR removed and cursor-moving characters made visible."""
    text = sanitize(raw)
    if _UNSAFE.search(text) is not None:
        text = _UNSAFE.sub(_name_unsafe, text)
    return text


def expand_tabs(text: str) -> str:
    """Replace tabs by spaces up to the next multiple of 8 cells, counting wide characters as two."""
    if "\t" not in text:
        return text
    parts = text.split("\t")
    out: list[str] = []
    column = 0
    for part in parts[:-1]:
        column += cell_len(part) + 1
        pad = -column % TAB_SIZE
        column += pad
        out.append(part + " " * (1 + pad))
    out.append(parts[-1])
    return "".join(out)


def plain_line(raw: str) -> str:
    """The characters a line shows, without colours and with tabs expanded (what search and wrap see)."""
    text = clean(raw)
    if "\x1b" in text:
        text = strip_sgr(text)
    return expand_tabs(text)


def plain_lines(lines: Sequence[str], blob: str) -> list[str]:
    """``plain_line`` for a batch (``blob`` is it joined with newlines), in C-speed passes when it is ASCII."""
    if not lines:
        return []
    if blob.isascii() and _SLOW_ASCII.search(blob) is None and blob.count("\n") == len(lines) - 1:
        if "\x1b" not in blob:
            return list(lines)
        stripped = _SGR.sub("", blob)
        if "\x1b" not in stripped:
            return stripped.split("\n")
    return [plain_line(line) for line in lines]


def cells(plain: str) -> int:
    """Terminal cells a plain line takes."""
    return len(plain) if plain.isascii() else cell_len(plain)


def wrap_starts(plain: str, width: int) -> list[int]:
    """Character offsets where each row of the line starts when wrapped at ``width`` cells (first is 0)."""
    if width <= 0 or not plain:
        return [0]
    if plain.isascii():
        return list(range(0, len(plain), width))
    spans, total = split_graphemes(plain)
    if total <= width:
        return [0]
    starts = [0]
    used = 0
    for start, _end, size in spans:
        # A wide character that does not fit moves to the next row whole, as on a terminal.
        if used + size > width and used > 0:
            starts.append(start)
            used = 0
        used += size
    return starts


def row_count(plain: str, width: int) -> int:
    """Rows a line takes when wrapped at ``width`` cells (at least one)."""
    if width <= 0:
        return 1
    if plain.isascii():
        return max(1, -(-len(plain) // width))
    return len(wrap_starts(plain, width))


def row_counts(plains: Sequence[str], width: int) -> list[int]:
    """``row_count`` for a batch, cheap for the common all-ASCII case."""
    if width <= 0:
        return [1] * len(plains)
    if all(p.isascii() for p in plains):
        return [(len(p) - 1) // width + 1 if p else 1 for p in plains]
    return [row_count(p, width) for p in plains]


def to_text(raw: str, prefix: str = "") -> Text:
    """Parse a line's SGR colours (after ``prefix``, the colours still open from earlier lines) into Text.

    The result's ``plain`` equals ``plain_line(raw)``, so wrap points and search offsets line up with it.
    """
    text = clean(raw)
    if "\x1b" in text or prefix:
        result = AnsiDecoder().decode_line(prefix + text)
    else:
        result = Text(text)
    if "\t" in text:
        result.expand_tabs(TAB_SIZE)
    result.no_wrap = True
    result.end = ""
    return result


