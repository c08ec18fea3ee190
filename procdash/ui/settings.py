"""The dashboard's remembered choices: theme, wrap, timestamps, table order, in one small JSON file.

The file lives in the user's config directory (``$XDG_CONFIG_HOME/procdash/settings.json``, else
``~/.config/procdash/settings.json``). A missing file means the defaults; an unreadable or malformed
one, or a bad value, is reported once and the defaults are used for what is wrong; nothing here stops
the dashboard.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

SORT_KEYS = (None, "cpu", "mem", "name", "state")


@dataclass
class Settings:
    """What the person chose last time."""

    theme: str = "textual-dark"
    wrap: bool = False
    timestamps: bool = False
    sort: str | None = None
    sort_descending: bool = False


def default_path() -> Path:
    """``settings.json`` in procdash's directory under the user's config directory."""
    base = os.environ.get("XDG_CONFIG_HOME")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "procdash" / "settings.json"


def load(path: Path) -> tuple[Settings, str | None]:
    """The settings in ``path`` and one line saying what was wrong with the file, if anything."""
    settings = Settings()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return settings, None
    except (OSError, UnicodeDecodeError) as exc:
        return settings, f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return settings, f"{path}:{exc.lineno}: not valid JSON: {exc.msg}"
    if not isinstance(data, dict):
        return settings, f"{path}: expected a JSON object"
    problems = []
    for field in fields(Settings):
        if field.name not in data:
            continue
        value = data[field.name]
        default = getattr(settings, field.name)
        if field.name == "sort":
            ok = value in SORT_KEYS
        elif isinstance(default, bool):
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, str) and bool(value)
        if ok:
            setattr(settings, field.name, value)
        else:
            problems.append(f"{field.name}={value!r}")
    unknown = sorted(set(data) - {field.name for field in fields(Settings)})
    if problems or unknown:
        parts = [f"bad value {', '.join(problems)}"] if problems else []
        parts += [f"unknown key {', '.join(unknown)}"] if unknown else []
        return settings, f"{path}: {'; '.join(parts)} (ignored)"
    return settings, None


def save(path: Path, settings: Settings) -> str | None:
    """Write the settings (atomically: a temporary file renamed over the old one); the error, if any."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".tmp")
        partial.write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        return f"{path}: cannot save settings: {exc.strerror or exc}"
    return None
