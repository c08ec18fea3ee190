"""Procfile parsing with Foreman's line rule; errors name the file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from procdash.core.errors import ConfigError
from procdash.core.files import read_small_file

LINE_RE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


@dataclass(frozen=True)
class ProcessType:
    """One Procfile entry: a process type name, its shell command and the line it came from."""

    name: str
    command: str
    line: int


def parse_procfile(text: str, path: str = "Procfile") -> list[ProcessType]:
    """Parse Procfile text into types in file order, rejecting bad lines and duplicate names."""
    types: list[ProcessType] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = LINE_RE.match(stripped)
        if match is None:
            raise ConfigError(f"cannot parse {_shorten(stripped)!r}: expected 'name: command'", path=path, line=number)
        name, command = match.group(1), match.group(2).strip()
        if "\0" in command:
            raise ConfigError("command contains a NUL byte", path=path, line=number)
        if name == "all":
            raise ConfigError("'all' is reserved for -m all=N and cannot name a type", path=path, line=number)
        if name in seen:
            raise ConfigError(f"duplicate process type {name!r} (first on line {seen[name]})", path=path, line=number)
        seen[name] = number
        types.append(ProcessType(name=name, command=command, line=number))
    if not types:
        raise ConfigError("no process types defined", path=path)
    return types


def load_procfile(path: Path) -> list[ProcessType]:
    """Read and parse a Procfile from disk, turning I/O and decoding trouble into ConfigError."""
    shown = str(path)
    try:
        data = read_small_file(path)
    except FileNotFoundError:
        raise ConfigError("no such file (use -f to name the Procfile)", path=shown) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a Procfile", path=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=shown) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("is not valid UTF-8", path=shown, line=line) from None
    return parse_procfile(text, shown)


def _shorten(text: str, limit: int = 60) -> str:
    """Cut a long offending line so the error stays one readable line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
