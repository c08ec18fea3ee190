"""One stored log line made fit for the screen: cleaning, colours, tabs, cell widths and wrap points."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from rich.cells import cell_len, split_graphemes

from procdash.core.lines import sanitize, strip_sgr

TAB_SIZE = 8

# Characters that are not escapes but would still move the cursor or reorder the row on a terminal:
# CR/LF (only if a caller bypassed the line assembler), line/paragraph separators and bidi controls.
# The zero-width joiner, the emoji presentation selector and the skin-tone modifiers are dropped:
# terminals disagree on how wide the sequences they build are (a modifier after an emoji is 0 cells
# where the terminal joins them and 2 where it does not), while the pieces alone have one agreed width,
# so a row never shifts. Hangul fillers are blank yet 2 cells to the C library and 0 to the renderer.
_UNSAFE = re.compile("[\r\n\u2028\u2029\u202a-\u202e\u2066-\u2069\u200d\ufe0f\U0001f3fb-\U0001f3ff\u3164\uffa0]")
_UNSAFE_NAMES = {"\r": "\u240d", "\n": "\u240a", "\u200d": "", "\ufe0f": ""}
_PRINTABLE_CHANGED = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff\u3164\uffa0]")
_UNSAFE_NAMES.update(dict.fromkeys(map(chr, range(0x1F3FB, 0x1F400)), ""))
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def _name_unsafe(match: re.Match[str]) -> str:
    """The visible stand-in for one unsafe character."""
    return _UNSAFE_NAMES.get(match.group(0), "\ufffd")


def clean(raw: str) -> str:
    """The line with every escape but SGR removed and cursor-moving characters made visible."""
    text = sanitize(raw)
    if _UNSAFE.search(text) is not None:
        text = _UNSAFE.sub(_name_unsafe, text)
    if not text.isprintable():
        text = _unassigned_visible(text)
    return text


def _unassigned_visible(text: str) -> str:
    """Code points with no character yet (category Cn) as U+FFFD: terminals give them 0, 1 or 2 cells."""
    return "".join("\ufffd" if unicodedata.category(ch) == "Cn" else ch for ch in text)


def expand_tabs(text: str, column: int = 0) -> str:
    """Replace tabs by spaces up to the next multiple of 8 cells (``text`` starts at ``column``)."""
    if "\t" not in text:
        return text
    if text.isascii() and column == 0:
        return text.expandtabs(TAB_SIZE)
    parts = text.split("\t")
    out: list[str] = []
    for part in parts[:-1]:
        column += cells(part) + 1
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


def plain_lines(lines: Sequence[str]) -> tuple[list[str], bool]:
    """``plain_line`` for a batch, and whether every result is ASCII; C-speed unless a line needs care.

    Only lines that still hold something unprintable after dropping colours and expanding tabs (other
    escapes, controls, odd separators) go through the careful per-line path.
    """
    if not lines:
        return [], True
    blob = "\n".join(lines)
    ascii_only = blob.isascii()
    if "\x1b" in blob:
        stripped = _strip_sgr_batch(blob)
        plains = stripped.split("\n")
        if len(plains) != len(lines):
            return [plain_line(line) for line in lines], all(map(str.isascii, lines))
    else:
        stripped = blob
        plains = list(lines)
    if "\t" in stripped:
        plains = [expand_tabs(p) if "\t" in p else p for p in plains]
    # The emoji selector, skin-tone modifiers and Hangul fillers are printable but changed by clean(), so
    # lines with them take the careful path too.
    odd = not ascii_only and _PRINTABLE_CHANGED.search(blob) is not None
    if odd or not all(map(str.isprintable, plains)):
        plains = [
            p if p.isprintable() and not (odd and _PRINTABLE_CHANGED.search(p)) else plain_line(raw)
            for p, raw in zip(plains, lines, strict=True)
        ]
        ascii_only = ascii_only and all(map(str.isascii, plains))
    return plains, ascii_only


def wide_candidates(lines: Sequence[str], limit: int) -> list[int]:
    """Indices of the lines that might take more than ``limit`` cells; every other line surely fits.

    Raw length bounds the width of an ASCII line without tabs (escapes only shorten it), and twice the
    length bounds any line without tabs, so most batches are settled without looking at a single line.
    """
    lengths = list(map(len, lines))
    if not lengths:
        return []
    blob = "\n".join(lines)
    if "\t" not in blob:
        longest = max(lengths)
        if 2 * longest <= limit:
            return []
        if blob.isascii():
            return [i for i, n in enumerate(lengths) if n > limit] if longest > limit else []
    return [
        i
        for i, (n, line) in enumerate(zip(lengths, lines, strict=True))
        if n > limit or "\t" in line or (2 * n > limit and not line.isascii())
    ]


def _strip_sgr_batch(blob: str) -> str:
    """Remove SGR escapes from many lines at once: the few escapes a program repeats go by str.replace."""
    common = Counter(_SGR.findall(blob, 0, 16_384)).most_common(8)
    for escape, _count in common:
        blob = blob.replace(escape, "")
    return _SGR.sub("", blob) if "\x1b" in blob else blob


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


def row_counts(plains: Sequence[str], width: int, ascii_only: bool = False) -> list[int]:
    """``row_count`` for a batch; pass ``ascii_only`` when the caller knows, to skip per-line checks."""
    if width <= 0:
        return [1] * len(plains)
    if ascii_only:
        return [(len(p) - 1) // width + 1 if p else 1 for p in plains]
    return [row_count(p, width) for p in plains]
