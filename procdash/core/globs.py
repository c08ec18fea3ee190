"""Path patterns for watch and watch_ignore: gitignore-like globs over paths relative to the root.

A pattern without a slash (``*.py``, ``node_modules``) matches any one path component, so it applies at
every depth and to everything under a matching directory. A pattern with a slash (``src/**/*.py``) matches
the whole relative path, or one of its parent directories (``config`` matches ``config/app.yml`` too);
``**`` spans any number of directories, ``*`` and ``?`` stay within one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

GLOB_CHARS = frozenset("*?[")


def _translate(pattern: str) -> str:
    """A glob as a regular expression body (no anchors)."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


class PathPatterns:
    """A set of patterns; ``matches(rel)`` says whether any of them matches a relative path."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(p.strip("/") if p != "/" else p for p in patterns if p)
        parts = [p for p in self.patterns if "/" not in p]
        paths = [p for p in self.patterns if "/" in p]
        self._part = re.compile("(?:" + "|".join(_translate(p) for p in parts) + ")") if parts else None
        self._path = re.compile("(?:" + "|".join(_translate(p) for p in paths) + ")(?:/.*)?") if paths else None

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, rel: str) -> bool:
        """Whether ``rel`` (POSIX, relative to the root, no leading slash) matches a pattern."""
        if self._path is not None and self._path.fullmatch(rel):
            return True
        if self._part is not None:
            return any(self._part.fullmatch(part) for part in rel.split("/"))
        return False

    def bases(self) -> list[str]:
        """The directories a watcher must cover (relative; "" is the root): each pattern's part before any glob."""
        found: list[str] = []
        for pattern in self.patterns:
            if "/" not in pattern:
                return [""]
            fixed: list[str] = []
            for part in PurePosixPath(pattern).parts:
                if GLOB_CHARS & set(part):
                    break
                fixed.append(part)
            found.append("/".join(fixed))
        return found
