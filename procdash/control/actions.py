"""What each one-shot control request does to the supervisor, and the response it gets."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from procdash import __version__
from procdash.control import protocol as p
from procdash.control.views import UsageSnapshot, instance_view
from procdash.core.errors import ConfigError
from procdash.core.instance import Instance
from procdash.core.reload import ReloadResult
from procdash.core.supervisor import Supervisor

GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class ServerInfo:
    """Identity of the serving procdash, reported by ``info`` and ``status``."""

    procfile: Path
    root: Path
    socket: Path
    pid: int = field(default_factory=os.getpid)

    def view(self) -> p.JSONObject:
        """As JSON."""
        return {
            "pid": self.pid,
            "procfile": str(self.procfile),
            "root": str(self.root),
            "socket": str(self.socket),
            "version": __version__,
            "protocol": p.PROTOCOL_VERSION,
        }


def resolve_targets(supervisor: Supervisor, targets: tuple[str, ...], request_id: p.RequestId) -> list[Instance]:
    """Instances matching instance names, type names or globs (none = all), in formation order, no repeats."""
    every = supervisor.instances()
    if not targets:
        return every
    chosen: set[int] = set()
    for target in targets:
        if any(ch in GLOB_CHARS for ch in target):
            matched = [
                i for i in every if fnmatch.fnmatchcase(i.name, target) or fnmatch.fnmatchcase(i.type_name, target)
            ]
            if not matched:
                raise p.ProtocolError(p.NOT_FOUND, f"nothing matches {target!r}", request_id)
        elif target in supervisor.desired:
            matched = [i for i in every if i.type_name == target]
            if not matched:
                raise p.ProtocolError(p.NOT_FOUND, f"{target} has no instances (scale it up first)", request_id)
        else:
            inst = supervisor.find(target)
            if inst is None:
                raise p.ProtocolError(p.NOT_FOUND, f"no process or type called {target!r}", request_id)
            matched = [inst]
        chosen.update(id(i) for i in matched)
    return [i for i in every if id(i) in chosen]


def status(
    supervisor: Supervisor, info: ServerInfo, request_id: p.RequestId, usage: UsageSnapshot | None
) -> p.JSONObject:
    """The whole formation: desired counts per type and every instance."""
    return p.ok(
        request_id,
        server=info.view(),
        types=[t.name for t in supervisor.types],
        desired=dict(supervisor.desired),
        sampled=usage is not None,
        instances=[instance_view(inst, usage) for inst in supervisor.instances()],
    )


def scale(supervisor: Supervisor, request: p.Scale, save: Callable[[], str] | None = None) -> p.JSONObject:
    """Apply absolute or relative counts once every type named is known to exist; ``save`` writes them down."""
    for change in request.changes:
        if change.type_name not in supervisor.desired:
            known = ", ".join(supervisor.desired)
            raise p.ProtocolError(p.NOT_FOUND, f"no process type {change.type_name!r} (known: {known})", request.id)
    for change in request.changes:
        current = supervisor.desired[change.type_name]
        wanted = current + change.value if change.relative else change.value
        try:
            supervisor.scale(change.type_name, min(max(0, wanted), p.MAX_SCALE))
        except ConfigError as exc:
            raise p.ProtocolError(p.FAILED, str(exc), request.id) from None
    if not request.save:
        return p.ok(request.id, desired=dict(supervisor.desired))
    if save is None:
        raise p.ProtocolError(p.FAILED, "this procdash cannot save its formation", request.id)
    try:
        saved = save()
    except ConfigError as exc:
        raise p.ProtocolError(p.FAILED, f"scaled, but not saved: {exc}", request.id) from None
    return p.ok(request.id, desired=dict(supervisor.desired), saved=saved)


def reload(request: p.Reload, hook: Callable[[], ReloadResult] | None) -> p.JSONObject:
    """Re-read the project's files; a file that does not parse is an error and changes nothing."""
    if hook is None:
        raise p.ProtocolError(p.FAILED, "this procdash cannot reload", request.id)
    result = hook()
    if result.error is not None:
        raise p.ProtocolError(p.FAILED, result.summary(), request.id)
    return p.ok(
        request.id,
        added=result.added,
        removed=result.removed,
        changed=result.changed,
        kept=result.kept,
        summary=result.summary(),
    )


def control(supervisor: Supervisor, request: p.Control) -> p.JSONObject:
    """restart, stop or start every matched instance; the response names them."""
    chosen = resolve_targets(supervisor, request.targets, request.id)
    act = {"restart": supervisor.restart, "stop": supervisor.stop, "start": supervisor.start_instance}[request.action]
    for inst in chosen:
        act(inst.name)
    return p.ok(request.id, action=request.action, names=[inst.name for inst in chosen])


def find_instance(supervisor: Supervisor, name: str, request_id: p.RequestId) -> Instance:
    """The instance called ``name``; a bare type with one instance (``web``) means that one."""
    inst = supervisor.find(name)
    if inst is None and name in supervisor.slots and len(supervisor.slots[name]) == 1:
        inst = supervisor.slots[name][0]
    if inst is None:
        every = [i.name for i in supervisor.instances()]
        names = ", ".join(every[:20]) + (", ..." if len(every) > 20 else "") if every else "none"
        raise p.ProtocolError(p.NOT_FOUND, f"no process called {name!r} (running: {names})", request_id)
    return inst


def logs(inst: Instance, request: p.Logs) -> p.JSONObject:
    """The newest lines of an instance with the sequence number of the first, so followers can resume."""
    buffer = inst.log
    lines = buffer.tail(request.lines) if request.lines else []
    return p.ok(
        request.id,
        name=inst.name,
        seq=buffer.next_seq - len(lines),
        lines=lines,
        dropped=buffer.dropped,
        follow=request.follow,
    )
