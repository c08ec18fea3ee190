"""Backslash escapes for ``procdash ctl send``: ``\\r``, ``\\x03``, ``\\e``, ``\\u2603``, so scripts can type keys."""

from __future__ import annotations

_SIMPLE = {"r": "\r", "n": "\n", "t": "\t", "e": "\x1b", "a": "\a", "b": "\b", "0": "\0", "\\": "\\"}
_HEX_LENGTH = {"x": 2, "u": 4, "U": 8}


def unescape(text: str) -> str:
    """The text with its escapes replaced; raises ValueError naming the first one it does not know."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            raise ValueError("a lone backslash at the end (write \\\\ for a backslash)")
        code = text[i + 1]
        if code in _SIMPLE:
            out.append(_SIMPLE[code])
            i += 2
            continue
        length = _HEX_LENGTH.get(code)
        if length is None:
            raise ValueError(f"unknown escape \\{code} (known: \\r \\n \\t \\e \\a \\b \\0 \\\\ \\xHH \\uHHHH)")
        digits = text[i + 2 : i + 2 + length]
        if len(digits) != length or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise ValueError(f"\\{code} needs {length} hex digits, got {digits!r}")
        value = int(digits, 16)
        if code == "x" and value > 0x7F:
            raise ValueError(f"\\x{digits} is not ASCII: write the character, or \\u00{digits.lower()}")
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise ValueError(f"\\{code}{digits} is not a character")
        out.append(chr(value))
        i += 2 + length
    return "".join(out)
