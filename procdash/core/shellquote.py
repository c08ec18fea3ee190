"""Small shell-text helpers shared by the engine and the exporters."""

from __future__ import annotations

import shlex


def cd_prefix(directory: str | None) -> str:
    """``cd 'dir' && `` to run a command in a relative directory, or "" for the root itself."""
    if directory is None or directory in ("", "."):
        return ""
    return f"cd {shlex.quote(directory)} && "
