"""The keys Procfile.toml accepts, each with the check that turns its TOML value into procdash's value.

A new key is one entry in ``DEFAULT_KEYS`` (app-wide) or ``TYPE_KEYS`` (per type): its parser receives the
raw value and a ``Where`` that builds errors naming the file, line and key.
"""

from __future__ import annotations

import math
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from procdash.core.errors import ConfigError
from procdash.core.options import RESTART_POLICIES
from procdash.core.tomlkeys import KeyPath, line_of
from procdash.core.typeoptions import CONDITIONS, PROBE_KINDS, Backoff, Probe

STOP_SIGNALS = ("TERM", "INT", "QUIT", "HUP", "USR1", "USR2", "WINCH", "KILL")
# Names users bring from process-compose and Kubernetes, pointed at procdash's spelling.
ALIASES = {
    "period_seconds": "interval",
    "timeout_seconds": "timeout",
    "initial_delay_seconds": "initial_delay",
    "failure_threshold": "retries",
    "working_dir": "cwd",
    "environment": "env",
    "depends": "depends_on",
    "readiness_probe": "ready",
    "shutdown": "stop_signal",
    "signal": "stop_signal",
    "availability": "restart",
    "replicas": "count",
}


@dataclass(frozen=True)
class Where:
    """A key's place, for errors: the file, the key's path, and the file's key lines."""

    file: str
    path: KeyPath
    lines: Mapping[KeyPath, int]

    def child(self, key: str) -> Where:
        """The place of a key nested under this one."""
        return Where(self.file, (*self.path, key), self.lines)

    def error(self, message: str) -> ConfigError:
        """A one-line error: FILE:LINE: dotted.key: message."""
        key = ".".join(self.path)
        return ConfigError(
            f"{key}: {message}" if key else message, path=self.file, line=line_of(dict(self.lines), self.path)
        )


def suggest(word: str, choices: list[str]) -> str:
    """ " (did you mean X?)" for a near miss or a known alias among ``choices``, else ""."""
    alias = ALIASES.get(word)
    if alias in choices:
        return f" (did you mean {alias}?)"
    folded = {choice.replace("-", "_").lower(): choice for choice in choices}
    if word.replace("-", "_").lower() in folded:
        return f" (did you mean {folded[word.replace('-', '_').lower()]}?)"
    import difflib  # only for a mistake in the file

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def kind_of(value: object) -> str:
    """TOML's name for a parsed value's type, for "expected X, got Y"."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def expect_table(value: object, where: Where, known: Mapping[str, object]) -> dict[str, Any]:
    """A table whose keys are all in ``known``, else an error naming the first unknown key."""
    if not isinstance(value, dict):
        raise where.error(f"expected a table, got {kind_of(value)}")
    for key in value:
        if key not in known:
            raise where.child(key).error(f"unknown key{suggest(key, list(known))}")
    return value


def as_bool(value: object, where: Where) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise where.error(f"expected true or false, got {kind_of(value)}")
    return value


def as_int(value: object, where: Where, low: int, high: int) -> int:
    """A whole number within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(f"expected a whole number, got {kind_of(value)}")
    if not low <= value <= high:
        raise where.error(f"{value} is outside {low}-{high}")
    return value


def as_seconds(value: object, where: Where, *, positive: bool = False) -> float:
    """A finite, non-negative (or positive) number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.error(f"expected a number of seconds, got {kind_of(value)}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
        raise where.error(f"expected a {'positive' if positive else 'non-negative'} number of seconds, got {value}")
    return seconds


def as_str(value: object, where: Where, *, allow_empty: bool = False) -> str:
    """A string (non-empty unless allowed), without NUL bytes."""
    if not isinstance(value, str):
        raise where.error(f"expected a string, got {kind_of(value)}")
    if not value and not allow_empty:
        raise where.error("must not be empty")
    if "\0" in value:
        raise where.error("contains a NUL byte")
    return value


def as_str_list(value: object, where: Where) -> list[str]:
    """A string or an array of strings."""
    if isinstance(value, str):
        return [as_str(value, where)]
    if not isinstance(value, list):
        raise where.error(f"expected a string or an array of strings, got {kind_of(value)}")
    return [as_str(item, where) for item in value]


def as_choice(value: object, where: Where, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    text = as_str(value, where)
    if text not in choices:
        raise where.error(f"expected one of {', '.join(choices)}, got {text!r}{suggest(text, list(choices))}")
    return text


def as_restart(value: object, where: Where) -> str:
    """no, on-failure or always."""
    return as_choice(value, where, RESTART_POLICIES)


def as_signal(value: object, where: Where) -> int:
    """A signal name (TERM, SIGTERM) or number."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = as_int(value, where, 1, signal.SIGRTMAX)
        if number not in {int(sig) for sig in signal.Signals}:
            raise where.error(f"{number} is not a signal this system names")
        return number
    text = as_str(value, where).upper().removeprefix("SIG")
    if text not in STOP_SIGNALS:
        hint = suggest(text, list(STOP_SIGNALS))
        raise where.error(f"expected one of {', '.join(STOP_SIGNALS)} or a number, got {value!r}{hint}")
    return int(signal.Signals[f"SIG{text}"])


def as_env_table(value: object, where: Where) -> dict[str, str]:
    """A table of NAME = "value" (numbers and booleans become their TOML spelling)."""
    if not isinstance(value, dict):
        raise where.error(f'expected a table of NAME = "value", got {kind_of(value)}')
    env: dict[str, str] = {}
    for key, item in value.items():
        here = where.child(key)
        if not key or "=" in key or "\0" in key:
            raise here.error("is not a valid environment variable name")
        if key in ("PORT", "PS"):
            raise here.error(f"procdash sets {key} for each instance itself")
        if isinstance(item, bool):
            env[key] = "true" if item else "false"
        elif isinstance(item, (int, float)):
            env[key] = str(item)
        else:
            env[key] = as_str(item, here, allow_empty=True)
    return env


def as_exit_codes(value: object, where: Where) -> frozenset[int]:
    """An array of exit codes 0-255."""
    if not isinstance(value, list) or not value:
        raise where.error(f"expected a non-empty array of exit codes, got {kind_of(value)}")
    return frozenset(as_int(item, where, 0, 255) for item in value)


def as_backoff(value: object, where: Where) -> Backoff:
    """A base delay in seconds, or { base = 1, cap = 30 }."""
    if not isinstance(value, dict):
        return Backoff(base=as_seconds(value, where, positive=True))
    table = expect_table(value, where, {"base": None, "cap": None})
    base = as_seconds(table.get("base", 1.0), where.child("base"), positive=True)
    cap = as_seconds(table.get("cap", max(30.0, base)), where.child("cap"), positive=True)
    if cap < base:
        raise where.child("cap").error(f"{cap:g} is less than base {base:g}")
    return Backoff(base=base, cap=cap)


def as_depends(value: object, where: Where) -> dict[str, str]:
    """["db", "cache"] (each must be ready) or { db = "ready", migrate = "completed" }."""
    if isinstance(value, list):
        names = [as_str(item, where) for item in value]
        return dict.fromkeys(names, "ready")
    if not isinstance(value, dict):
        raise where.error(f"expected an array of type names or a table of name = condition, got {kind_of(value)}")
    return {name: as_choice(cond, where.child(name), CONDITIONS) for name, cond in value.items()}


PROBE_FIELDS: dict[str, object] = {
    **dict.fromkeys(PROBE_KINDS),
    **{
        "interval": None,
        "timeout": None,
        "initial_delay": None,
        "retries": None,
    },
}


def as_probe(value: object, where: Where) -> Probe:
    """ "tcp", or a table with one of tcp/http/log/exec and the timing fields."""
    if isinstance(value, str):
        if value != "tcp":
            raise where.error(f'expected "tcp" or a table such as {{ http = "/healthz" }}, got {value!r}')
        return Probe(kind="tcp")
    table = expect_table(value, where, PROBE_FIELDS)
    kinds = [kind for kind in PROBE_KINDS if kind in table]
    if len(kinds) != 1:
        found = " and ".join(kinds) if kinds else "none"
        raise where.error(f"expected exactly one of tcp, http, log, exec, got {found}")
    kind = kinds[0]
    raw = table[kind]
    here = where.child(kind)
    fields: dict[str, Any] = {"kind": kind}
    if kind == "tcp":
        fields["port"] = None if raw is True or raw == "$PORT" else as_int(raw, here, 1, 65535)
    elif kind == "http":
        fields.update(_http_target(as_str(raw, here), here))
    elif kind == "log":
        pattern = as_str(raw, here)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise here.error(f"not a valid regular expression: {exc}") from None
        fields["pattern"] = pattern
    else:
        fields["command"] = as_str(raw, here)
    if "interval" in table:
        fields["interval"] = as_seconds(table["interval"], where.child("interval"), positive=True)
    if "timeout" in table:
        fields["timeout"] = as_seconds(table["timeout"], where.child("timeout"), positive=True)
    if "initial_delay" in table:
        fields["initial_delay"] = as_seconds(table["initial_delay"], where.child("initial_delay"))
    if "retries" in table:
        fields["retries"] = as_int(table["retries"], where.child("retries"), 1, 1_000_000)
    return Probe(**fields)


def _http_target(text: str, where: Where) -> dict[str, Any]:
    """ "/healthz" (on $PORT), ":8080/healthz" or "http://127.0.0.1:8080/healthz"."""
    match = re.fullmatch(r"(?:http://(?:127\.0\.0\.1|localhost))?(?::(\d+))?(/\S*)?", text)
    if match is None or (match.group(1) is None and match.group(2) is None):
        raise where.error(f'expected a path such as "/healthz" or "http://127.0.0.1:8080/healthz", got {text!r}')
    port = None
    if match.group(1) is not None:
        port = as_int(int(match.group(1)), where, 1, 65535)
    return {"port": port, "path": match.group(2) or "/"}


def as_globs(value: object, where: Where) -> tuple[str, ...]:
    """Watch patterns: a string or an array of non-empty globs, relative to the root."""
    patterns = as_str_list(value, where)
    for pattern in patterns:
        if pattern.startswith("/") or ".." in pattern.split("/"):
            raise where.error(f"{pattern!r}: patterns are relative to the root (no leading / or ..)")
    return tuple(patterns)


def as_debounce(value: object, where: Where) -> float:
    """Seconds to wait for a burst of saves to end; at most a minute, so 300 (meant as ms) is caught."""
    seconds = as_seconds(value, where)
    if seconds > 60:
        raise where.error(f"{value} seconds is more than a minute (the value is in seconds: 0.3 is 300 ms)")
    return seconds


SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def as_size(value: object, where: Where) -> int:
    """A size in bytes: 1048576, "512k", "10MB" (at least 1 KB)."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
        unit = match.group(2).lower().replace("ib", "b") if match is not None else "?"
        if match is None or unit not in SIZE_UNITS:
            raise where.error(f'expected a size such as 10485760, "512k" or "10MB", got {value!r}')
        value = int(float(match.group(1)) * SIZE_UNITS[unit])
    return as_int(value, where, 1024, 1 << 50)


Parser = Callable[[object, Where], object]

# Per type: key -> parser. The loader turns the results into a TypeOptions.
TYPE_KEYS: dict[str, Parser] = {
    "restart": as_restart,
    "max_restarts": lambda v, w: as_int(v, w, 0, 1_000_000),
    "backoff": as_backoff,
    "stop_signal": as_signal,
    "stop_timeout": lambda v, w: as_seconds(v, w),
    "autostart": as_bool,
    "count": lambda v, w: as_int(v, w, 0, 1000),
    "pty": as_bool,
    "env": as_env_table,
    "env_file": as_str_list,
    "cwd": lambda v, w: as_str(v, w),
    "success_exit_codes": as_exit_codes,
    "depends_on": as_depends,
    "ready": as_probe,
    "watch": as_globs,
    "watch_ignore": as_globs,
    "watch_debounce": as_debounce,
    "log_file": lambda v, w: as_str(v, w),
}


def _port(value: object, where: Where) -> str:
    """A base port as the -p flag would take it."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return str(as_int(value, where, 1, 65535))


# App-wide defaults, spelled as the long command-line options; values come out as argparse would hold them.
DEFAULT_KEYS: dict[str, Parser] = {
    "formation": lambda v, w: as_str(v, w),  # Foreman's -m: only the listed types start
    "concurrency": lambda v, w: as_str(v, w),  # honcho's -c: the others keep their count
    "port": _port,
    "timeout": lambda v, w: as_seconds(v, w),
    "restart": as_restart,
    "env": as_str_list,
    "no-pty": as_bool,
    "exit-on-failure": as_bool,
    "scrollback": lambda v, w: as_int(v, w, 1, 10_000_000),
    "stats-interval": lambda v, w: as_seconds(v, w, positive=True),
    "log_dir": lambda v, w: as_str(v, w),
    "log_color": as_bool,
    "log_max_size": as_size,
    "log_keep": lambda v, w: as_int(v, w, 0, 1000),
    "reload": lambda v, w: as_choice(v, w, ("manual", "auto")),
}
