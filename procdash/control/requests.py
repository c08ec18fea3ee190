"""The control protocol's requests as typed values: what ``parse_request`` makes of a valid request line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["restart", "stop", "start"]
RequestId = str | int | float | None
DEFAULT_LOG_LINES = 100


@dataclass(frozen=True)
class Info:
    """Who is serving: pid, Procfile, versions (also how a second procdash names the first)."""

    id: RequestId = None


@dataclass(frozen=True)
class Status:
    """Every instance with its state, counters and, when sampled, CPU and memory."""

    id: RequestId = None


@dataclass(frozen=True)
class ScaleChange:
    """One type's new count: absolute (``web=3``) or relative (``web=+1``)."""

    type_name: str
    value: int
    relative: bool


@dataclass(frozen=True)
class Scale:
    """Change desired counts; every type is checked before any is changed."""

    changes: tuple[ScaleChange, ...]
    id: RequestId = None
    save: bool = False  # then write the resulting formation into Procfile.toml


@dataclass(frozen=True)
class Control:
    """restart / stop / start the instances the targets match (names, type names, globs; none = all)."""

    action: Action
    targets: tuple[str, ...] = ()
    id: RequestId = None


@dataclass(frozen=True)
class Logs:
    """The newest ``lines`` lines of one instance, then new lines as they come when ``follow``."""

    name: str
    lines: int = DEFAULT_LOG_LINES
    follow: bool = False
    id: RequestId = None
    since: int | None = None  # the first sequence number wanted (then ``lines`` only caps how many)


@dataclass(frozen=True)
class Subscribe:
    """A status snapshot, then a stream of every event (state changes, scaling, and log lines if ``logs``)."""

    logs: bool = True
    id: RequestId = None
    usage: float = 0.0  # seconds between ``usage`` events (0: none)


@dataclass(frozen=True)
class Reload:
    """Re-read the Procfile, Procfile.toml and .env files and apply what changed."""

    id: RequestId = None


@dataclass(frozen=True)
class Send:
    """Write ``text`` (UTF-8), one key or a paste to an instance's terminal, as if typed there.

    A key (a Textual key name and the character read with it) and a paste are encoded by the server
    with the terminal modes the process set (application cursor keys, bracketed paste), which only it
    sees; ``check`` writes nothing and only says whether the process can take input now.
    """

    name: str
    text: str
    id: RequestId = None
    key: str | None = None
    char: str | None = None
    paste: str | None = None
    check: bool = False


@dataclass(frozen=True)
class Resize:
    """Give one instance's pty a window size, or (without a name) the size new ptys start with."""

    name: str | None
    columns: int
    rows: int
    id: RequestId = None


@dataclass(frozen=True)
class Connect:
    """Attach to one instance's terminal: after the reply the connection carries frames (control/frames.py)."""

    name: str
    columns: int = 80
    rows: int = 24
    context: int = 0  # recent log lines to show first
    id: RequestId = None


@dataclass(frozen=True)
class Quit:
    """Stop every process and end procdash; ``kill`` (version 3) SIGKILLs them at once instead."""

    id: RequestId = None
    kill: bool = False


Request = Info | Status | Scale | Control | Logs | Subscribe | Send | Connect | Resize | Reload | Quit
