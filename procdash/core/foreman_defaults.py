"""Foreman's ``.foreman`` defaults (YAML, current directory): formation, port, env, procfile, root, timeout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from procdash.core.errors import ConfigError
from procdash.core.files import read_small_text

FILE_NAME = ".foreman"
# Foreman's option names; "concurrency" is Foreman's old name for the formation.
KEYS = ("formation", "concurrency", "port", "env", "procfile", "root", "timeout")


def load_foreman_defaults(directory: Path) -> dict[str, Any]:
    """The defaults in DIRECTORY/.foreman as strings the command line would hold, or {} without one.

    Foreman ignores keys it has no option for; so does procdash, but a value of the wrong shape for a
    key it uses is an error naming the file and line.
    """
    path = directory / FILE_NAME
    shown = str(path)
    try:
        text = read_small_text(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=shown) from None
    import yaml  # only with a .foreman file: PyYAML costs start-up time and a megabyte of memory

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"invalid YAML: {problem}", path=shown, line=line) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or node is None:
        raise ConfigError("expected a mapping of option: value", path=shown, line=1)
    lines = {key.value: key.start_mark.line + 1 for key, _ in node.value if hasattr(key, "value")}
    found: dict[str, Any] = {}
    for key in KEYS:
        if key not in data:
            continue
        value = data[key]
        if key == "env" and isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = ",".join(value)
        elif (key == "formation" or key == "concurrency") and isinstance(value, dict):
            value = ",".join(f"{name}={count}" for name, count in value.items())
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            kind = type(value).__name__
            raise ConfigError(f"{key}: expected a string or number, got {kind}", path=shown, line=lines.get(key))
        found["formation" if key == "concurrency" else key] = str(value)
    # Paths in the file are relative to its directory (Foreman reads it from the current directory).
    for key in ("procfile", "root"):
        if key in found:
            found[key] = str(directory / Path(found[key]).expanduser())
    if "env" in found:
        found["env"] = ",".join(str(directory / Path(part.strip()).expanduser()) for part in found["env"].split(","))
    if "port" in found and not (found["port"].strip().isdigit() and 1 <= int(found["port"]) <= 65535):
        message = f"port: expected a port number 1-65535, got {found['port']!r}"
        raise ConfigError(message, path=shown, line=lines.get("port"))
    if "timeout" in found:
        try:
            seconds = float(found["timeout"])
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds < float("inf"):
            raise ConfigError(
                f"timeout: expected seconds, got {found['timeout']!r}", path=shown, line=lines.get("timeout")
            )
        found["timeout"] = seconds
    return found
