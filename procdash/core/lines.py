"""Bytes to display-safe lines: CRLF, carriage-return rewrites, length caps, bad UTF-8, escapes."""

from __future__ import annotations

import codecs
import re

DEFAULT_MAX_LINE = 16_384
# ASCII on purpose: a non-ASCII marker would make Python store every cut piece at 2 bytes a character.
CUT_MARKER = "[cut]"

# Any escape sequence except SGR (colour), which is the only one a child may pass to a terminal.
_NON_SGR = re.compile(
    r"\x1b(?!\[[0-9;:]*m)"
    r"(?:\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, clears, modes
    r"|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC: titles, clipboard, hyperlinks
    r"|[PX^_][^\x1b\n]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|[ -/]*[0-~])?"  # two-byte and nF sequences; a lone ESC matches nothing more
)
_ANY_ESCAPE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[PX^_][^\x1b\n]*(?:\x1b\\)?|[ -/]*[0-~])?"
)
_UNFINISHED_CSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*)?")
_NEEDS_CLEANING = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Other control characters become visible pictures (NUL -> ␀) so nothing is lost or acted on.
_CONTROLS = {code: 0x2400 + code for code in range(32) if code not in (9, 10, 13, 27)}
_CONTROLS[0x7F] = 0x2421
_CONTROLS.update({code: 0xFFFD for code in range(0x80, 0xA0)})
# The ASCII characters _NEEDS_CLEANING does not match: deleting them leaves only what needs cleaning.
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n"


ERASE_ECHO = "\b \b"


def erase_echoes(text: str) -> str:
    """Apply the echo of an erased character (``BS SPACE BS``, how a terminal rubs out what was typed).

    Shown literally, answering a prompt with a typo would store ``bobq␈ ␈``; a terminal shows ``bob``,
    and so does the log. A lone backspace stays visible (as ␈), since it erases nothing on its own.
    """
    if ERASE_ECHO not in text:
        return text
    return "\n".join(_erase_line(line) if ERASE_ECHO in line else line for line in text.split("\n"))


def _erase_line(line: str) -> str:
    """One line with each erase echo and the character it erased removed."""
    out: list[str] = []
    i, end = 0, len(line)
    while i < end:
        if line.startswith(ERASE_ECHO, i) and out and out[-1] not in "\b\x1bm":
            out.pop()
            i += 3
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def _is_plain(text: str) -> bool:
    """Whether sanitize() would return ``text`` unchanged (no escapes, no control characters)."""
    if text.isascii():
        # A byte-table scan in C: several times faster than the regex over the 64 KiB blocks a read gives.
        return not text.encode("ascii").translate(None, _PLAIN_ASCII)
    return _NEEDS_CLEANING.search(text) is None


def sanitize(text: str, *, keep_sgr: bool = True) -> str:
    """Remove every escape sequence but SGR (or all of them) and make other controls visible."""
    if _is_plain(text):
        return text
    text = (_NON_SGR if keep_sgr else _ANY_ESCAPE).sub("", text)
    return text.translate(_CONTROLS)


def strip_sgr(text: str) -> str:
    """Remove colour escapes from a line that has already been sanitized."""
    return _ANY_ESCAPE.sub("", text) if "\x1b" in text else text


def split_at_cap(text: str, cap: int) -> list[str]:
    """Cut sanitized text into pieces of at most ``cap`` characters, never inside a colour escape."""
    if "\x1b" not in text:
        return [text[i : i + cap] for i in range(0, len(text), cap)] or [""]
    pieces: list[str] = []
    start = 0
    while len(text) - start > cap:
        end = start + cap
        # After sanitize() every ESC opens a complete SGR; one cut in half would reach the terminal
        # as a broken control sequence, so the cut moves before it (or, for an absurdly long one, after).
        esc = text.rfind("\x1b", start, end)
        if esc >= 0 and text.find("m", esc, end) < 0:
            end = esc if esc > start else text.find("m", esc) + 1 or len(text)
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return pieces


class LineAssembler:
    """Turn a child's byte stream into complete, sanitized lines, each delivered exactly once."""

    def __init__(self, *, max_line: int = DEFAULT_MAX_LINE, keep_sgr: bool = True) -> None:
        self.max_line = max_line
        self.keep_sgr = keep_sgr
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._held_cr = False

    @property
    def partial(self) -> str:
        """The unfinished last line as it would show now (a prompt without a newline, say)."""
        return self._rewrite(sanitize(erase_echoes(self._partial), keep_sgr=self.keep_sgr))

    @property
    def pending(self) -> str:
        """The unfinished text as received (cheap to compare; ``partial`` is what to show)."""
        return self._partial

    def feed(self, data: bytes) -> list[str]:
        """Take one chunk of output and return the lines it completed."""
        text = self._decoder.decode(data)
        if self._held_cr:
            text = "\r" + text
            self._held_cr = False
        if "\r" in text:
            # A CR at the very end may be the first half of a CRLF split across reads.
            if text.endswith("\r"):
                text = text[:-1]
                self._held_cr = True
            # Same result as replace("\r\n", "\n"), about twice as fast when every line ends in CRLF (ptys).
            text = "\n".join(text.split("\r\n"))
        end = text.rfind("\n")
        if end < 0:
            self._partial += text
            return self._cut_partial() if len(self._partial) > self.max_line else []
        block = self._partial + text[:end]
        self._partial = text[end + 1 :]
        if ERASE_ECHO in block:
            block = erase_echoes(block)
        block = sanitize(block, keep_sgr=self.keep_sgr)
        lines = block.split("\n")
        if "\r" in block:
            lines = [self._rewrite(line) for line in lines]
        if len(block) > self.max_line and max(map(len, lines)) > self.max_line:
            lines = self._cap(lines)
        if len(self._partial) > self.max_line:
            lines.extend(self._cut_partial())
        return lines

    def flush(self) -> list[str]:
        """Return whatever is left (the last line without a newline) at end of stream."""
        tail = self._decoder.decode(b"", final=True)
        if self._held_cr:
            tail = "\r" + tail
            self._held_cr = False
        rest = self._partial + tail
        self._partial = ""
        if not rest:
            return []
        return self._cap([self._rewrite(sanitize(erase_echoes(rest), keep_sgr=self.keep_sgr))])

    def _cut_partial(self) -> list[str]:
        """Emit full-length pieces of an overlong unfinished line, keeping the remainder."""
        text, held = self._partial, ""
        # An escape sequence at the very end may be unfinished (the rest is in the next read): keep it
        # raw so sanitize() does not mangle it; the partial line is sanitized again when it completes.
        esc = text.rfind("\x1b", len(text) - 64)
        if esc > 0 and _UNFINISHED_CSI.fullmatch(text, esc):
            text, held = text[:esc], text[esc:]
        pieces = split_at_cap(sanitize(text, keep_sgr=self.keep_sgr), self.max_line)
        self._partial = pieces.pop() + held
        return [piece + CUT_MARKER for piece in pieces]

    def _cap(self, lines: list[str]) -> list[str]:
        """Split lines longer than the cap into marked pieces so nothing is dropped."""
        cap = self.max_line
        out: list[str] = []
        for line in lines:
            if len(line) <= cap:
                out.append(line)
                continue
            pieces = split_at_cap(line, cap)
            out.extend(piece + CUT_MARKER for piece in pieces[:-1])
            out.append(pieces[-1])
        return out

    @staticmethod
    def _rewrite(line: str) -> str:
        """Show a carriage-return-rewritten line (a progress bar) as its last non-empty state."""
        if "\r" not in line:
            return line
        for segment in reversed(line.split("\r")):
            if segment:
                return segment
        return ""
