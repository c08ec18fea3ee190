"""Line numbers of the keys in a TOML text, which tomllib does not report, so errors can name the line."""

from __future__ import annotations

import re

KeyPath = tuple[str, ...]

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_PART = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
# Compiled on first use (re caches them), not at import: a project without Procfile.toml never needs them.
KEY = rf"\s*({_DOTTED})\s*="
HEADER = rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?"


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map each key path (("web", "ready", "http")) to the 1-based line it is written on.

    A small scanner of TOML's surface: table headers, dotted keys, and keys inside inline tables. It
    skips strings (including multi-line ones) and comments, so a ``=`` inside a value is never a key.
    """
    header_re, key_re = re.compile(HEADER), re.compile(KEY)
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    stack: list[KeyPath] = []  # open inline tables: the key path each one belongs to
    line_no = 1
    pos = 0
    length = len(text)
    at_line_start = True
    while pos < length:
        char = text[pos]
        if char == "\n":
            line_no += 1
            pos += 1
            at_line_start = True
            continue
        if char in " \t\r":
            pos += 1
            continue
        if char == "#":
            end = text.find("\n", pos)
            pos = length if end < 0 else end
            continue
        if at_line_start and not stack and char == "[":
            header = header_re.match(text, pos)
            if header is not None:
                table = _split(header.group(2))
                lines.setdefault(table, line_no)
                pos = header.end()
                at_line_start = False
                continue
        expects_key = (at_line_start and not stack) or (stack and _after_key_opening(text, pos))
        if expects_key:
            key = key_re.match(text, pos)
            if key is not None:
                base = stack[-1] if stack else table
                path = base + _split(key.group(1))
                lines.setdefault(path, line_no)
                pos = key.end()
                at_line_start = False
                # An inline table right after this key opens a scope for its own keys.
                rest = re.match(r"\s*\{", text[pos:])
                if rest is not None:
                    stack.append(path)
                    pos += rest.end()
                continue
        at_line_start = False
        if char in "\"'":
            pos, line_no = _skip_string(text, pos, line_no)
            continue
        if char == "{":
            stack.append(stack[-1] if stack else table)
        elif char == "}" and stack:
            stack.pop()
        pos += 1
    return lines


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, or of its nearest written ancestor (a key inside an inline value)."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _after_key_opening(text: str, pos: int) -> bool:
    """Inside an inline table, a key follows ``{`` or ``,`` (ignoring blanks)."""
    back = pos - 1
    while back >= 0 and text[back] in " \t\r\n":
        back -= 1
    return back >= 0 and text[back] in "{,"


def _split(dotted: str) -> KeyPath:
    """Split a dotted key into its parts, unquoting quoted ones."""
    parts: list[str] = []
    for match in re.finditer(_PART, dotted):
        part = match.group(0)
        if part[0] == '"':
            part = part[1:-1].encode().decode("unicode_escape")
        elif part[0] == "'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _skip_string(text: str, pos: int, line_no: int) -> tuple[int, int]:
    """Move past a string starting at ``pos``; returns the new position and line number."""
    quote = text[pos]
    triple = text.startswith(quote * 3, pos)
    if triple:
        end = text.find(quote * 3, pos + 3)
        while quote == '"' and end > 0 and _escaped(text, end):
            end = text.find(quote * 3, end + 1)
        end = len(text) if end < 0 else end + 3
        while end < len(text) and text[end] == quote:  # up to two quotes may close the content
            end += 1
    else:
        end = pos + 1
        while end < len(text) and text[end] not in (quote, "\n"):
            end += 2 if quote == '"' and text[end] == "\\" else 1
        end += 1
    return end, line_no + text.count("\n", pos, min(end, len(text)))


def _escaped(text: str, index: int) -> bool:
    """Whether the character at ``index`` is preceded by an odd number of backslashes."""
    count = 0
    while index - 1 - count >= 0 and text[index - 1 - count] == "\\":
        count += 1
    return count % 2 == 1
