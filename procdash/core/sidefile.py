"""Procfile.toml: app-wide defaults and per-type options beside a Procfile that stays standard.

``-f Procfile.dev`` reads ``Procfile.dev.toml``; ``--options FILE`` names another. A missing file is
fine unless it was named. Every mistake is a ConfigError naming the file, the line and the key.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procdash.core.depends import find_cycle
from procdash.core.env import load_env_files
from procdash.core.errors import ConfigError
from procdash.core.files import read_small_file
from procdash.core.tomlkeys import KeyPath, key_lines
from procdash.core.typeoptions import TypeOptions

if TYPE_CHECKING:
    from procdash.core.sidefile_schema import Where


@dataclass(frozen=True)
class SideFile:
    """A loaded Procfile.toml: the app-wide defaults as written, and each type's options."""

    path: Path | None
    defaults: dict[str, Any] = field(default_factory=dict)
    types: dict[str, TypeOptions] = field(default_factory=dict)
    lines: dict[KeyPath, int] = field(default_factory=dict)


EMPTY = SideFile(path=None)


def sidefile_path(procfile: Path) -> Path:
    """The options file that goes with a Procfile: its name plus ``.toml``."""
    return procfile.with_name(procfile.name + ".toml")


def load_sidefile(path: Path, type_names: Sequence[str], root: Path, *, required: bool) -> SideFile:
    """Read, parse and check an options file against the Procfile's types."""
    shown = str(path)
    try:
        data = read_small_file(path)
    except FileNotFoundError:
        if required:
            raise ConfigError("no such options file", path=shown) from None
        return EMPTY
    except IsADirectoryError:
        raise ConfigError("is a directory, not an options file", path=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=shown) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError("is not valid UTF-8", path=shown, line=data[: exc.start].count(b"\n") + 1) from None
    return parse_sidefile(text, shown, type_names, root, path=path)


def parse_sidefile(
    text: str, shown: str, type_names: Sequence[str], root: Path, *, path: Path | None = None
) -> SideFile:
    """Parse options-file text; ``root`` resolves each type's cwd and env_file."""
    # Imported here: a Procfile without an options file never needs a TOML parser or the schema.
    from procdash.core.sidefile_schema import DEFAULT_KEYS, Where, kind_of, suggest

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, shown) from None
    lines = key_lines(text)
    top = Where(shown, (), lines)
    defaults: dict[str, Any] = {}
    tables: dict[str, dict[str, Any]] = {}
    names = list(type_names)
    for key, value in raw.items():
        here = top.child(key)
        if isinstance(value, dict):
            if key not in names:
                hint = suggest(key, names)
                raise here.error(
                    f"no process type {key!r} in the Procfile{hint or ' (it has ' + ', '.join(names) + ')'}"
                )
            tables[key] = value
        elif key in DEFAULT_KEYS:
            defaults[key] = DEFAULT_KEYS[key](value, here)
        elif key in names:
            raise here.error(f"expected a table [{key}] of options for that process type, got {kind_of(value)}")
        else:
            raise here.error(f"unknown key{suggest(key, list(DEFAULT_KEYS) + names)}")
    if "formation" in defaults and "concurrency" in defaults:
        raise top.child("concurrency").error("set formation (only the listed types start) or concurrency, not both")
    types = {name: _type_options(name, table, top.child(name), root) for name, table in tables.items()}
    for name, opts in types.items():
        for dep in opts.depends_on:
            where = top.child(name).child("depends_on")
            if dep not in names:
                raise where.child(dep).error(f"no process type {dep!r} in the Procfile{suggest(dep, names)}")
            if dep == name:
                raise where.child(dep).error(f"{name} cannot depend on itself")
    cycle = find_cycle(names, {name: opts.depends_on for name, opts in types.items()})
    if cycle is not None:
        where = top.child(cycle[0]).child("depends_on")
        raise where.error(f"dependency cycle: {' -> '.join(cycle)}")
    return SideFile(path=path, defaults=defaults, types=types, lines=lines)


def _type_options(name: str, table: dict[str, Any], where: Where, root: Path) -> TypeOptions:
    """One ``[type]`` table checked key by key and turned into TypeOptions."""
    from procdash.core.sidefile_schema import TYPE_KEYS, suggest

    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in TYPE_KEYS:
            raise where.child(key).error(f"unknown key{suggest(key, list(TYPE_KEYS))}")
        values[key] = TYPE_KEYS[key](value, where.child(key))
    env: dict[str, str] = {}
    env_files: tuple[str, ...] = tuple(values.pop("env_file", ()))
    if env_files:
        try:
            env.update(load_env_files([root / item for item in env_files], required=True))
        except ConfigError as exc:
            raise where.child("env_file").error(str(exc)) from None
    env.update(values.pop("env", {}))
    cwd = values.get("cwd")
    if cwd is not None and not (root / cwd).is_dir():
        raise where.child("cwd").error(f"no such directory {str(root / cwd)!r}")
    return TypeOptions(env=env, env_files=env_files, **values)


def _syntax_error(exc: Exception, shown: str) -> ConfigError:
    """tomllib's message "Expected '=' (at line 3, column 5)" as FILE:3: ..."""
    message = str(exc)
    line = getattr(exc, "lineno", None)
    if line is None and "(at line " in message:
        head, _, tail = message.rpartition(" (at line ")
        number = tail.split(",")[0]
        if number.isdigit():
            line, message = int(number), head
    elif line is not None:
        message = getattr(exc, "msg", message)
    return ConfigError(f"invalid TOML: {message}", path=shown, line=line)
