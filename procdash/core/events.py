"""Typed events the supervisor publishes to the headless printer, the dashboard and the control server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from procdash.core.records import record

if TYPE_CHECKING:
    from procdash.core.instance import Instance


@record
class Started:
    """An instance's process is running with a new pid."""

    instance: Instance


@record
class Output:
    """Complete lines an instance printed, in order, already appended to its log buffer."""

    instance: Instance
    lines: list[str]


@record
class Partial:
    """The unfinished last line changed (a prompt, a progress bar); an Output event clears it implicitly."""

    instance: Instance
    text: str


@record
class Waiting:
    """An instance started or stopped waiting for input on its terminal; ``prompt`` is its unfinished line."""

    instance: Instance
    waiting: bool
    prompt: str


@record
class Exited:
    """An instance's process ended and its output is drained; ``will_restart`` says what comes next."""

    instance: Instance
    code: int
    description: str
    requested: bool
    will_restart: bool
    stopped_after: float | None = None  # seconds from the stop signal to the exit, when procdash stopped it
    killed: bool = False  # it outlived its stop timeout and was SIGKILLed


@record
class Stopping:
    """procdash sent an instance its stop signal; it is SIGKILLed if still alive after ``timeout``."""

    instance: Instance
    signal_name: str
    timeout: float


@record
class Restarting:
    """An instance will be started again after ``delay`` seconds of backoff."""

    instance: Instance
    delay: float


@record
class Fatal:
    """An instance failed too often in a row and will not be restarted by the policy."""

    instance: Instance
    failures: int


@record
class StateChanged:
    """Any change of an instance's state, pid or counters; cheap to redraw from."""

    instance: Instance


@record
class Added:
    """A new instance slot exists (scaled up)."""

    instance: Instance


@record
class Removed:
    """An instance slot is gone (scaled down and stopped)."""

    instance: Instance


@record
class Scaled:
    """The desired count of a type changed."""

    type_name: str
    count: int


@record
class Notice:
    """A message from procdash itself (spawn failure, signal received, stopping)."""

    text: str
    instance: Instance | None = None


Event = (
    Started
    | Output
    | Partial
    | Waiting
    | Exited
    | Stopping
    | Restarting
    | Fatal
    | StateChanged
    | Added
    | Removed
    | Scaled
    | Notice
)
