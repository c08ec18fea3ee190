"""What each one-shot control request does to the supervisor, and the response it gets."""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from procdash import __version__
from procdash.control import protocol as p
from procdash.control.connection import ReplyLost
from procdash.control.views import UsageSnapshot, instance_view
from procdash.core.errors import ConfigError
from procdash.core.instance import Instance
from procdash.core.logbuffer import LogBuffer
from procdash.core.reload import ReloadResult
from procdash.core.supervisor import Supervisor

GLOB_CHARS = frozenset("*?[")
PIECE_CHARS = 8 * 1024  # characters of log lines encoded per piece of a logs reply
PIECE_LINES = 1024  # lines looked at per piece (many empty lines are still a small piece)


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
        commands={t.name: t.command for t in supervisor.types},
        desired=dict(supervisor.desired),
        options={"scrollback": supervisor.options.scrollback, "timeout": supervisor.options.timeout},
        sampled=usage is not None,
        instances=[instance_view(inst, usage) for inst in supervisor.instances()],
    )


STOPPING = "procdash is stopping; nothing can be started now"


def refuse_while_stopping(supervisor: Supervisor, request_id: p.RequestId, quitting: bool = False) -> None:
    """Once procdash is stopping, a request that would start processes gets an error rather than a silent no-op."""
    if quitting or supervisor.stopping_all:
        raise p.ProtocolError(p.FAILED, STOPPING, request_id)


def scale(
    supervisor: Supervisor, request: p.Scale, quitting: bool = False, save: Callable[[], str] | None = None
) -> p.JSONObject:
    """Apply counts once every type named is known (refused while stopping); ``save`` then writes them down."""
    refuse_while_stopping(supervisor, request.id, quitting)
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


def reload(
    supervisor: Supervisor, request: p.Reload, hook: Callable[[], ReloadResult] | None, quitting: bool = False
) -> p.JSONObject:
    """Re-read the project's files; a file that does not parse is an error and changes nothing."""
    refuse_while_stopping(supervisor, request.id, quitting)
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


def control(supervisor: Supervisor, request: p.Control, quitting: bool = False) -> p.JSONObject:
    """restart, stop or start every matched instance; the response names them (only stop while stopping)."""
    chosen = resolve_targets(supervisor, request.targets, request.id)
    if request.action != "stop":
        refuse_while_stopping(supervisor, request.id, quitting)
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


def logs(inst: Instance, request: p.Logs) -> Iterator[bytes]:
    """The reply to ``logs``, encoded a piece at a time from the ring buffer as the client reads it.

    The lines are fixed when the request arrives (``seq`` is the first, the next line a follower gets
    is the one after the last) but read only when their piece is due, so a slow client costs no copy
    of the scrollback. If they scroll out of the buffer first, ReplyLost: the client is dropped.
    """
    buffer = inst.log
    stop = buffer.next_seq
    if request.since is not None:
        # From ``since`` on (what a mirror lacks), at most ``lines`` of them: the oldest still held first.
        start = max(buffer.first_seq, min(request.since, stop))
        stop = min(stop, start + request.lines)
    else:
        start = max(buffer.first_seq, stop - request.lines) if request.lines else stop
    head = p.ok(
        request.id, name=inst.name, seq=start, dropped=buffer.dropped, follow=request.follow, partial=inst.partial
    )
    return _lines_reply(buffer, p.encode(head)[:-2] + b',"lines":[', start, stop)


def _lines_reply(buffer: LogBuffer, head: bytes, start: int, stop: int) -> Iterator[bytes]:
    """``head``, then lines [start, stop) as JSON strings in pieces of about PIECE_CHARS, then the closing."""
    yield head
    seq = start
    comma = b""
    while seq < stop:
        if seq < buffer.first_seq:
            raise ReplyLost(f"lines from {seq} scrolled away before the client read them")
        lines = buffer.slice(seq, min(stop, seq + PIECE_LINES))
        count = chars = 0
        for line in lines:
            count += 1
            chars += len(line)
            if chars >= PIECE_CHARS:
                break
        text = json.dumps(lines[:count], ensure_ascii=False, separators=(",", ":"))[1:-1]
        yield comma + text.encode("utf-8", "replace")
        comma = b","
        seq += count
    yield b"]}\n"
