"""Remember the formation: write the current counts into Procfile.toml, keeping its comments and layout.

Every type goes into the top-level ``formation = "web=3,worker=0"`` (or ``concurrency``, when the file
uses that key instead), so the file starts exactly this formation; a type whose table sets ``count`` gets
that count updated too, so the two never disagree. The file is created when missing, replaced atomically.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from procdash.core.errors import ConfigError

HEADER = "procdash options for the Procfile beside this file (see procdash's README, Procfile.toml)"


def formation_text(counts: Mapping[str, int]) -> str:
    """Counts as a formation string: web=3,worker=1."""
    return ",".join(f"{name}={count}" for name, count in counts.items())


def save_formation(path: Path, counts: Mapping[str, int]) -> str:
    """Write ``counts`` into the options file at ``path``; returns what was written, for the message."""
    # Imported here: only saving needs it, and procdash's start-up time should not pay for it.
    import tomlkit
    from tomlkit.exceptions import TOMLKitError
    from tomlkit.items import Table

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        text = None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    if text is None:
        doc = tomlkit.document()
        doc.add(tomlkit.comment(HEADER))
    else:
        try:
            doc = tomlkit.parse(text)
        except TOMLKitError as exc:
            raise ConfigError(f"invalid TOML, not rewritten: {exc}", path=str(path)) from None
    for name, count in counts.items():
        table = doc.get(name)
        if isinstance(table, Table) and "count" in table:
            table["count"] = count
    key = "concurrency" if "concurrency" in doc and "formation" not in doc else "formation"
    doc[key] = formation_text(counts)
    _replace(path, tomlkit.dumps(doc))
    return formation_text(counts)


def _replace(path: Path, text: str) -> None:
    """Write a file atomically (a crash leaves the old one or the new one, never half of either)."""
    mode = 0o644
    with contextlib.suppress(FileNotFoundError):
        mode = path.stat().st_mode & 0o7777
    import tempfile  # only when saving: it pulls in random and shutil

    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror}", path=str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise ConfigError(f"cannot write: {exc.strerror}", path=str(path)) from None
