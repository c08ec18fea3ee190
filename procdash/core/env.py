"""Environment layering: os.environ, then .env files in order, then PORT and PS per instance."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from procdash.core.errors import ConfigError
from procdash.core.files import read_small_text


def load_env_files(paths: Sequence[Path], *, required: bool) -> dict[str, str]:
    """Merge .env files left to right (later wins); a missing file is an error only when required."""
    merged: dict[str, str] = {}
    for path in paths:
        shown = str(path)
        try:
            text = read_small_text(path)
        except FileNotFoundError:
            if required:
                raise ConfigError("no such env file", path=shown) from None
            continue
        except IsADirectoryError:
            raise ConfigError("is a directory, not an env file", path=shown) from None
        except OSError as exc:
            raise ConfigError(f"cannot read env file: {exc.strerror}", path=shown) from None
        except UnicodeDecodeError:
            raise ConfigError("env file is not valid UTF-8", path=shown) from None
        _check_syntax(text, shown)
        values = dotenv_values(stream=io.StringIO(text), interpolate=True)
        for key, value in values.items():
            if "\0" in key or (value is not None and "\0" in value):
                # The kernel cannot pass a NUL in the environment: spawning would fail later.
                raise ConfigError(f"{key!r} contains a NUL byte", path=shown)
        merged.update({key: value for key, value in values.items() if value is not None})
    return merged


def _check_syntax(text: str, shown: str) -> None:
    """Refuse a line python-dotenv cannot parse (it would only log a warning and skip it)."""
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raw = binding.original.string
            line = binding.original.line + len(raw) - len(raw.lstrip("\r\n"))
            first = raw.strip().splitlines()[0] if raw.strip() else raw
            shown_line = first if len(first) <= 60 else first[:59] + "…"
            raise ConfigError(f"cannot parse {shown_line!r}: expected NAME=value", path=shown, line=line)


def child_env(
    base: Mapping[str, str],
    dotenv: Mapping[str, str],
    *,
    port: int | None,
    ps: str,
    pipes: bool,
    color: bool,
) -> dict[str, str]:
    """Build one child's environment without touching procdash's own os.environ."""
    env = {**base, **dotenv}
    if port is not None:
        env["PORT"] = str(port)
    env["PS"] = ps
    if pipes:
        env.setdefault("PYTHONUNBUFFERED", "1")
        if color and "NO_COLOR" not in env:
            env.setdefault("FORCE_COLOR", "1")
    return env
