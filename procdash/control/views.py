"""JSON shapes of instances and supervisor events, shared by status, subscribe and any future attach client."""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from typing import Protocol

from procdash.control.protocol import JSONObject, event
from procdash.core import events as ev
from procdash.core.instance import Instance


class UsageLike(Protocol):
    """What status needs from a CPU/memory sample (``procdash.core.stats.Usage`` fits as it is)."""

    @property
    def cpu_percent(self) -> float:
        """Percent of one core, summed over the process tree."""

    @property
    def rss(self) -> int:
        """Resident memory in bytes, summed over the process tree."""


# Usage per instance name (e.g. ``Snapshot.instances``); the source returns None until it has a sample.
UsageSnapshot = Mapping[str, UsageLike]
UsageSource = Callable[[], UsageSnapshot | None]


def _rounded(value: float | None, digits: int = 3) -> float | None:
    """Seconds rounded for display; None stays None."""
    return None if value is None else round(value, digits)


def instance_view(inst: Instance, usage: UsageSnapshot | None = None) -> JSONObject:
    """Everything a status table or a mirrored dashboard row shows about one instance."""
    sample = usage.get(inst.name) if usage else None
    return {
        "name": inst.name,
        "type": inst.type_name,
        "number": inst.number,
        "state": inst.state.value,
        "pid": inst.pid,
        "port": inst.port,
        "uptime": _rounded(inst.uptime),
        "restarts": inst.restarts,
        "exit_code": inst.exit_code,
        "exit_description": inst.exit_description or None,
        "retry_in": _rounded(inst.retry_in),
        "started_at": inst.started_wall,
        "exited_at": inst.exited_wall,
        "cpu": None if sample is None else round(float(sample.cpu_percent), 1),
        "rss": None if sample is None else int(sample.rss),
        "listening": None if sample is None else list(getattr(sample, "ports", ())),
        "ready": inst.ready,
        "detail": inst.detail or None,
        "status": inst.status_text,
        "reason": inst.reason or None,
        "log_seq": inst.log.next_seq,
        "input_wait": inst.waiting,
        "partial": inst.partial,
        # Version 3, for a mirrored dashboard:
        "command": inst.command,
        "alive": inst.alive,
        "pty": inst.child.uses_pty if inst.child is not None else None,
        "stop_signal": signal.Signals(inst.stop_signal).name,
        "killed": inst.killed,
    }


def usage_view(usage: UsageSnapshot) -> JSONObject:
    """The ``usage`` event: CPU, memory, processes and listening ports per instance name."""
    return event(
        "usage",
        instances={
            name: {
                "cpu": round(float(sample.cpu_percent), 1),
                "rss": int(sample.rss),
                "processes": int(getattr(sample, "processes", 1)),
                "listening": list(getattr(sample, "ports", ())),
            }
            for name, sample in usage.items()
        },
    )


def event_view(event_: ev.Event, logs: bool) -> JSONObject | None:
    """The stream event for a supervisor event, or None when it carries nothing for this subscriber."""
    if isinstance(event_, ev.Output):
        if not logs:
            return None
        inst = event_.instance
        first = inst.log.next_seq - len(event_.lines)
        return event("lines", name=inst.name, seq=first, lines=event_.lines)
    if isinstance(event_, ev.Partial):
        return event("partial", name=event_.instance.name, text=event_.text) if logs else None
    if isinstance(event_, ev.Waiting):
        return event("input_wait", name=event_.instance.name, waiting=event_.waiting, prompt=event_.prompt)
    if isinstance(event_, ev.StateChanged):
        return event("state", instance=instance_view(event_.instance))
    if isinstance(event_, ev.Started):
        return event("started", name=event_.instance.name, pid=event_.instance.pid)
    if isinstance(event_, ev.Exited):
        return event(
            "exited",
            name=event_.instance.name,
            code=event_.code,
            description=event_.description,
            requested=event_.requested,
            will_restart=event_.will_restart,
            stopped_after=_rounded(event_.stopped_after),
            killed=event_.killed,
        )
    if isinstance(event_, ev.Stopping):
        return event("stopping", name=event_.instance.name, signal=event_.signal_name, timeout=event_.timeout)
    if isinstance(event_, ev.Restarting):
        return event("restarting", name=event_.instance.name, delay=event_.delay)
    if isinstance(event_, ev.Fatal):
        return event("fatal", name=event_.instance.name, failures=event_.failures)
    if isinstance(event_, ev.Added):
        return event("added", instance=instance_view(event_.instance))
    if isinstance(event_, ev.Removed):
        return event("removed", name=event_.instance.name)
    if isinstance(event_, ev.Scaled):
        return event("scaled", type=event_.type_name, count=event_.count)
    if isinstance(event_, ev.Notice):
        name = event_.instance.name if event_.instance is not None else None
        return event("notice", text=event_.text, name=name)
    return None
