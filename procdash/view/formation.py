"""The interface between the dashboard and a formation: what it reads and what it asks for.

The dashboard holds one ``FormationView`` and never learns whether the Supervisor runs in its own
process (``LocalFormation``) or is mirrored over the control socket (``RemoteFormation``). Instances are
``core.instance.Instance`` objects either way (a mirror keeps replicas with real ``LogBuffer``s), and
events are ``core.events`` events, so the widgets read the same things in both cases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from procdash.core import events as ev
from procdash.core.instance import Instance
from procdash.core.procfile import ProcessType
from procdash.view.usage import Metrics

Subscriber = Callable[[ev.Event], None]
OutputCallback = Callable[[bytes], None]
EndCallback = Callable[[str], None]


class FormationError(Exception):
    """An action the formation refused (an unknown type, a taken port, a process that cannot take input)."""


@dataclass
class ViewHooks:
    """What the app hands the view when it opens it: who handles a quit asked from elsewhere, and more."""

    quit_requested: Callable[[], None]  # ``procdash ctl quit`` (local): the app's graceful quit
    usage: Callable[[], Mapping[str, object] | None]  # the app's newest per-instance CPU/memory, for ``ctl status``
    ended: Callable[[str], None]  # the formation went away under the view (remote): the reason


class TerminalSession(Protocol):
    """A raw two-way connection to one process's terminal (the ``I`` key): bytes in, bytes out, size."""

    def write(self, data: bytes) -> None:
        """Type raw bytes into the process's terminal."""

    def resize(self, columns: int, rows: int) -> None:
        """The connected terminal's size changed."""

    def close(self) -> None:
        """Detach; the process keeps running."""


class FormationView(Protocol):
    """Everything the dashboard needs from a running formation."""

    # ----- what it reads -----------------------------------------------------------------------------

    @property
    def procfile(self) -> Path:
        """The formation's Procfile."""

    @property
    def root(self) -> Path:
        """Its root directory (where ctrl+s saves a pane)."""

    @property
    def types(self) -> Sequence[ProcessType]:
        """Process types in Procfile order."""

    @property
    def desired(self) -> Mapping[str, int]:
        """Desired count per type."""

    @property
    def slots(self) -> Mapping[str, list[Instance]]:
        """Each type's instance slots, by number."""

    @property
    def type_index(self) -> Mapping[str, int]:
        """Each type's position in the Procfile (its colour)."""

    @property
    def scrollback(self) -> int:
        """Lines kept per process."""

    @property
    def stop_timeout(self) -> float:
        """Seconds between the stop signal and SIGKILL."""

    @property
    def leaving_stops_formation(self) -> bool:
        """True when the formation lives only as long as this view (the local dashboard)."""

    @property
    def where(self) -> str:
        """How the header names the formation's side: "" locally, "attached to pid N" when mirrored."""

    def instances(self) -> list[Instance]:
        """Every instance slot in Procfile order, then by number."""

    def find(self, name: str) -> Instance | None:
        """The instance called ``name``, or None."""

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every event from now on; returns the function that unsubscribes."""

    def input_refusal(self, name: str) -> str | None:
        """Why the process cannot take input now ("web.1 is not running"), or None when it can."""

    def watch_usage(self, interval: float, deliver: Callable[[Metrics], None]) -> bool:
        """Deliver CPU/memory readings as the formation's side takes them; False: sample /proc yourself."""

    # ----- what it asks for --------------------------------------------------------------------------

    def scale(self, type_name: str, count: int) -> None:
        """Set a type's desired count; FormationError when refused (here, or later as a notice)."""

    def scale_by(self, type_name: str, delta: int) -> None:
        """Change a type's desired count by ``delta`` (applied where the formation runs, so keys never race)."""

    def restart(self, name: str) -> None:
        """Restart an instance now."""

    def stop(self, name: str) -> None:
        """Stop an instance and keep it stopped."""

    def start(self, name: str) -> None:
        """Start a stopped, exited, crashed or fatal instance."""

    def send_input(self, name: str, data: bytes) -> None:
        """Write raw bytes to the process's terminal; FormationError when it cannot take them."""

    def send_key(self, name: str, key: str, character: str | None) -> None:
        """Type one key (a Textual key name), encoded for the modes the process set on its terminal."""

    def send_paste(self, name: str, text: str) -> None:
        """Paste text, bracketed when the process turned bracketed paste on."""

    def resize(self, name: str, columns: int, rows: int) -> None:
        """Give one process's pty a window size."""

    def set_default_size(self, columns: int, rows: int) -> None:
        """The window size new ptys start with."""

    def connect(
        self, name: str, columns: int, rows: int, context: int, on_output: OutputCallback, on_end: EndCallback
    ) -> Awaitable[TerminalSession]:
        """Open a raw session on the process's terminal (``context`` recent lines first); FormationError if not."""

    def save_formation(self) -> Awaitable[str]:
        """Write the current counts into Procfile.toml; the line to show. FormationError when it cannot."""

    def reload(self) -> Awaitable[str]:
        """Re-read the Procfile, Procfile.toml and .env; a summary. FormationError when it cannot."""

    # ----- lifecycle ---------------------------------------------------------------------------------

    def open(self, hooks: ViewHooks) -> Awaitable[list[str]]:
        """Start (local) or mirror (remote) the formation on the running loop; returns warnings to show."""

    def stop_formation(self) -> Awaitable[None]:
        """Stop every process gracefully and end procdash; returns once the formation is stopped."""

    def kill_now(self) -> None:
        """SIGKILL every process group now (the second q while quitting)."""

    def close(self) -> Awaitable[None]:
        """The view ends: a local formation is stopped for good, a mirror disconnects."""
