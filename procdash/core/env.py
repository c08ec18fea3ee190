"""Environment layering: os.environ, then .env files in order, then PORT and PS per instance."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from procdash.core.errors import ConfigError
from procdash.core.files import read_small_text

# Where a binding's value starts, following python-dotenv's grammar (optional ``export``, a bare or
# single-quoted key, ``=``): the character after it tells whether the value was single-quoted.
_VALUE_START = re.compile(r"\s*(?:export[^\S\r\n]+)?(?:'[^']+'|[^=#\s]+)[^\S\r\n]*=[^\S\r\n]*(.?)")


def load_env_files(
    paths: Sequence[Path], *, required: bool, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Merge .env files left to right (later wins); a missing file is an error only when required.

    ``${VAR}`` in a bare or double-quoted value expands from the values above it, earlier files and
    ``environ`` (os.environ by default); a single-quoted value is literal, as in a shell and in Foreman.
    """
    environ = os.environ if environ is None else environ
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
        values = parse_values(text, {**environ, **merged})
        for key, value in values.items():
            if "\0" in key or "\0" in value:
                # The kernel cannot pass a NUL in the environment: spawning would fail later.
                raise ConfigError(f"{key!r} contains a NUL byte", path=shown)
        merged.update(values)
    return merged


def parse_values(text: str, context: Mapping[str, str]) -> dict[str, str]:
    """Parse .env text with python-dotenv, expanding ``${VAR}`` only where the value was not single-quoted.

    python-dotenv expands inside single quotes too (its issue #422), so it parses here with no
    interpolation, and its own ``${VAR}`` / ``${VAR:-default}`` rule is applied value by value.
    """
    from dotenv.parser import parse_stream  # imported here: only a project with a .env file needs it
    from dotenv.variables import parse_variables

    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is None or binding.value is None:
            continue  # a comment, a blank line, or a bare KEY without ``=`` (python-dotenv skips it too)
        start = _VALUE_START.match(binding.original.string)
        if start is not None and start.group(1) == "'":
            values[binding.key] = binding.value
        else:
            scope = {**context, **values}
            values[binding.key] = "".join(atom.resolve(scope) for atom in parse_variables(binding.value))
    return values


def _check_syntax(text: str, shown: str) -> None:
    """Refuse a line python-dotenv cannot parse (it would only log a warning and skip it)."""
    from dotenv.parser import parse_stream

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
