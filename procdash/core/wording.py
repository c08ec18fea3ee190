"""The words every front end uses for lifecycle lines (headless output, the dashboard's logs, ctl)."""

from __future__ import annotations

import math
import signal
import time

from procdash.core import events as ev
from procdash.core.instance import Instance, State
from procdash.core.lines import strip_sgr
from procdash.core.process import SHELL_STATUSES

PROMPT_CHARS = 80


def describe_exit(event: ev.Exited) -> str:
    """The system line for an ended process, in Foreman's words where it has them."""
    name = event.instance.name
    if event.killed and event.stopped_after is not None:
        return f"{name} killed after {event.stopped_after:.1f}s (ignored {_stop_signal_name(event)})"
    if event.requested and event.stopped_after is not None:
        outcome = "" if event.code == 0 else f" ({event.description})"
        return f"{name} stopped after {event.stopped_after:.1f}s{outcome}"
    if event.requested:
        return f"{name} stopped ({event.description})"
    if event.code >= 128 and event.description.startswith("SIG"):
        return f"{name} was killed by {event.description} (code {event.code})"
    if event.description in SHELL_STATUSES.values():
        return f"{name} exited with code {event.code} ({event.description})"
    return f"{name} exited with code {event.code}"


def describe_stopping(event: ev.Stopping) -> str:
    """The system line for a stop signal just sent: which signal, and when the kill comes."""
    return f"{event.instance.name} stopping ({event.signal_name}, kill in {event.timeout:g}s)"


def stop_progress(inst: Instance, timeout: float) -> str | None:
    """Where an instance's stop stands ("stopping (SIGTERM, kill in 4s)"), or None when it is not stopping."""
    if inst.state is not State.STOPPING or inst.stop_sent_at is None:
        return None
    name = signal.Signals(inst.stop_signal).name
    if inst.killed:
        return f"stopping ({name}, killed)"
    left = max(0, math.ceil(timeout - (time.monotonic() - inst.stop_sent_at)))
    return f"stopping ({name}, kill in {left}s)"


def _stop_signal_name(event: ev.Exited) -> str:
    """The name of the signal procdash stopped this instance with."""
    return signal.Signals(event.instance.stop_signal).name


def describe_waiting(name: str, prompt: str) -> str:
    """The system line announcing that a process waits for input, with its prompt and how to answer it."""
    import json  # here, not above: the modules a start loads before its first process leave it out

    shown = strip_sgr(prompt)
    if len(shown) > PROMPT_CHARS:
        shown = shown[: PROMPT_CHARS - 3] + "..."
    quoted = f": {json.dumps(shown, ensure_ascii=False)}" if shown.strip() else ""
    return f"{name} is waiting for input{quoted} (procdash connect {name})"
