"""Replicas of a remote formation's instances, kept up to date from ``status`` snapshots and ``subscribe`` events.

Each replica is a real ``core.instance.Instance`` with a real ``LogBuffer`` whose sequence numbers are
the server's, and every applied event is turned back into the ``core.events`` event it came from, so
the dashboard's widgets and feed read a mirrored formation exactly as they read a local one.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from procdash.core import events as ev
from procdash.core.instance import Instance, State
from procdash.core.lines import LineAssembler
from procdash.core.logbuffer import LogBuffer
from procdash.core.procfile import ProcessType
from procdash.core.records import record
from procdash.core.stats import Snapshot, Usage
from procdash.view.usage import Metrics

JSON = dict[str, Any]
HISTORY = 60  # CPU readings kept per instance for the sparklines, as the local sampler keeps


@record
class PaneNotice(ev.Notice):
    """A notice from the view itself that also belongs in its process's pane (lines re-fetched, lines lost)."""


@dataclass(eq=False)
class MirroredInstance(Instance):
    """An instance as the server last described it: liveness, pty and wording come from there."""

    remote_alive: bool = False
    remote_pty: bool | None = None
    remote_status: str = ""

    @property
    def alive(self) -> bool:
        """Whether a process of this instance exists on the server's side."""
        return self.remote_alive

    @property
    def status_text(self) -> str:
        """The server's words for the state ("ready", "waiting for db (ready)")."""
        return self.remote_status or self.state.value


def _signal_number(name: object) -> int:
    """A signal name ("SIGINT") as its number; SIGTERM for anything unknown."""
    try:
        return int(signal.Signals[str(name)])
    except KeyError:
        return int(signal.SIGTERM)


class Mirror:
    """The formation as the server last described it, and the events that changed it."""

    def __init__(self, emit: Callable[[ev.Event], None], scrollback: int) -> None:
        self.emit = emit
        self.scrollback = scrollback
        self.types: list[ProcessType] = []
        self.type_index: dict[str, int] = {}
        self.desired: dict[str, int] = {}
        self.slots: dict[str, list[Instance]] = {}
        self.stop_timeout = 5.0
        self.history: dict[str, list[float]] = {}
        self.type_history: dict[str, list[float]] = {}
        self.metrics: Metrics | None = None
        self.missed = 0  # lines that scrolled out of procdash's buffer before this view could fetch them

    # ----- snapshots ---------------------------------------------------------------------------------

    def load_types(self, snapshot: JSON) -> None:
        """Types, commands, desired counts and options from a snapshot (after a reload changed them)."""
        options = snapshot.get("options") or {}
        self.scrollback = int(options.get("scrollback") or self.scrollback)
        self.stop_timeout = float(options.get("timeout") or self.stop_timeout)
        commands = snapshot.get("commands") or {}
        names = [str(name) for name in snapshot.get("types") or []]
        self.types = [ProcessType(name, str(commands.get(name, "")), i + 1) for i, name in enumerate(names)]
        self.type_index = {name: i for i, name in enumerate(names)}
        for name in names:
            self.slots.setdefault(name, [])
        for name in list(self.slots):
            if name not in self.type_index:
                for inst in list(self.slots[name]):
                    self.remove(inst.name)
                del self.slots[name]
                self.desired.pop(name, None)
        for t in self.types:
            for inst in self.slots[t.name]:
                inst.type_index = self.type_index[t.name]
        for name, count in (snapshot.get("desired") or {}).items():
            if self.desired.get(name) != count:
                self.desired[name] = int(count)
                self.emit(ev.Scaled(name, int(count)))

    def load(self, snapshot: JSON) -> list[MirroredInstance]:
        """Take a status snapshot (the first, or one after a resync); returns the instances it added."""
        self.load_types(snapshot)
        seen: set[str] = set()
        added: list[MirroredInstance] = []
        for view in snapshot.get("instances") or []:
            seen.add(view["name"])
            known = self.find(view["name"])
            if known is None:
                added.append(self.add(view))
            else:
                self.update(known, view)
                self.emit(ev.StateChanged(known))
        for inst in [i for i in self.instances() if i.name not in seen]:
            self.remove(inst.name)
        return added

    def new_instance(self, view: JSON) -> MirroredInstance:
        """A replica for an instance view, its log starting at the server's next sequence number."""
        type_name = str(view["type"])
        log = LogBuffer(self.scrollback)
        log.next_seq = log.dropped = int(view.get("log_seq") or 0)
        inst = MirroredInstance(
            type_name=type_name,
            type_index=self.type_index.get(type_name, 0),
            number=int(view["number"]),
            command=str(view.get("command") or ""),
            port=view.get("port"),
            log=log,
            assembler=LineAssembler(),
        )
        self.update(inst, view)
        return inst

    def add(self, view: JSON) -> MirroredInstance:
        """A new slot (``added`` event, or one found in a snapshot)."""
        inst = self.new_instance(view)
        slots = self.slots.setdefault(inst.type_name, [])
        slots.append(inst)
        slots.sort(key=lambda i: i.number)
        self.emit(ev.Added(inst))
        return inst

    def remove(self, name: str) -> None:
        """A slot went (scaled down)."""
        inst = self.find(name)
        if inst is None:
            return
        self.slots[inst.type_name].remove(inst)
        inst.state = State.STOPPED
        if isinstance(inst, MirroredInstance):
            inst.remote_alive = False
        self.emit(ev.Removed(inst))

    def update(self, inst: Instance, view: JSON) -> None:
        """Copy an instance view's fields onto the replica."""
        now = time.monotonic()
        inst.state = State(view["state"])
        inst.pid = view.get("pid")
        inst.port = view.get("port")
        inst.restarts = int(view.get("restarts") or 0)
        inst.exit_code = view.get("exit_code")
        inst.exit_description = view.get("exit_description") or ""
        uptime = view.get("uptime")
        inst.started_at = None if uptime is None else now - float(uptime)
        inst.started_wall = view.get("started_at")
        inst.exited_wall = view.get("exited_at")
        retry = view.get("retry_in")
        inst.retry_at = None if retry is None else now + float(retry)
        inst.ready = view.get("ready")
        inst.detail = view.get("detail") or ""
        inst.reason = view.get("reason") or ""
        inst.waiting = bool(view.get("input_wait"))
        inst.partial = str(view.get("partial") or "")
        inst.killed = bool(view.get("killed"))
        if view.get("command"):
            inst.command = str(view["command"])
        if "stop_signal" in view:
            inst.stop_signal = _signal_number(view["stop_signal"])
        if inst.state is not State.STOPPING:
            inst.stop_sent_at = None
        if isinstance(inst, MirroredInstance):
            inst.remote_alive = bool(view.get("alive", inst.state.value in ("starting", "running", "stopping")))
            inst.remote_pty = view.get("pty")
            inst.remote_status = str(view.get("status") or "")

    # ----- reading -----------------------------------------------------------------------------------

    def instances(self) -> list[Instance]:
        """Every replica in Procfile order, then by number."""
        return [inst for t in self.types for inst in self.slots.get(t.name, [])]

    def find(self, name: str) -> Instance | None:
        """One replica by name."""
        type_name = name.rpartition(".")[0]
        return next((inst for inst in self.slots.get(type_name, []) if inst.name == name), None)

    # ----- log lines ---------------------------------------------------------------------------------

    def lines(self, inst: Instance, seq: int, lines: list[str]) -> int:
        """Append lines that start at ``seq``: the part already held is skipped; returns how many were missed.

        Lines before the buffer's next number are repeats (a backlog and the live stream overlap); a
        ``seq`` past it means lines were lost on the way, which the caller reports.
        """
        log = inst.log
        missed = 0
        if seq > log.next_seq:
            missed = seq - log.next_seq
            self.missed += missed
            log.next_seq = seq
            log.dropped += missed
        fresh = lines[log.next_seq - seq :] if seq < log.next_seq else lines
        if fresh:
            log.extend(fresh)
            inst.partial = ""
            self.emit(ev.Output(inst, fresh))
        return missed

    # ----- events ------------------------------------------------------------------------------------

    def apply(self, message: JSON) -> None:
        """One ``subscribe`` event (not ``lines``, ``usage`` or ``end``: the caller handles those)."""
        kind = message.get("event")
        if kind in ("state", "added"):
            view = message.get("instance") or {}
            inst = self.find(str(view.get("name")))
            if inst is None:
                self.add(view)
            else:
                self.update(inst, view)
                self.emit(ev.StateChanged(inst))
            return
        if kind == "scaled":
            self.desired[str(message["type"])] = int(message["count"])
            self.emit(ev.Scaled(str(message["type"]), int(message["count"])))
            return
        if kind == "notice":
            name = message.get("name")
            self.emit(ev.Notice(str(message.get("text") or ""), self.find(name) if name else None))
            return
        if kind == "removed":
            self.remove(str(message.get("name")))
            return
        inst = self.find(str(message.get("name")))
        if inst is None:
            return
        if kind == "partial":
            inst.partial = str(message.get("text") or "")
            self.emit(ev.Partial(inst, inst.partial))
        elif kind == "input_wait":
            inst.waiting = bool(message.get("waiting"))
            self.emit(ev.Waiting(inst, inst.waiting, str(message.get("prompt") or "")))
        elif kind == "started":
            inst.pid = message.get("pid")
            self.emit(ev.Started(inst))
        elif kind == "stopping":
            inst.stop_sent_at = time.monotonic()
            inst.stop_signal = _signal_number(message.get("signal"))
            self.emit(ev.Stopping(inst, str(message.get("signal")), float(message.get("timeout") or 0)))
        elif kind == "exited":
            inst.killed = bool(message.get("killed"))
            self.emit(
                ev.Exited(
                    inst,
                    int(message.get("code") or 0),
                    str(message.get("description") or ""),
                    bool(message.get("requested")),
                    bool(message.get("will_restart")),
                    message.get("stopped_after"),
                    inst.killed,
                )
            )
        elif kind == "restarting":
            self.emit(ev.Restarting(inst, float(message.get("delay") or 0)))
        elif kind == "fatal":
            self.emit(ev.Fatal(inst, int(message.get("failures") or 0)))

    # ----- usage -------------------------------------------------------------------------------------

    def usage(self, message: JSON) -> Metrics:
        """A ``usage`` event as the dashboard's Metrics, with CPU histories kept here."""
        instances: dict[str, Usage] = {}
        for name, sample in (message.get("instances") or {}).items():
            instances[name] = Usage(
                cpu_percent=float(sample.get("cpu") or 0.0),
                rss=int(sample.get("rss") or 0),
                processes=int(sample.get("processes") or 1),
                ports=tuple(int(port) for port in sample.get("listening") or ()),
            )
        types: dict[str, Usage] = {}
        total = Usage(0.0, 0, 0)
        for name, usage in instances.items():
            type_name = name.rpartition(".")[0]
            types[type_name] = types[type_name].plus(usage) if type_name in types else usage
            total = total.plus(usage)
        live = {inst.name for inst in self.instances()}
        for name in list(self.history):
            if name not in live:
                del self.history[name]
        for inst in self.instances():
            sample = instances.get(inst.name)
            _push(self.history.setdefault(inst.name, []), sample.cpu_percent if sample else 0.0)
        for t in self.types:
            summed = types.get(t.name)
            _push(self.type_history.setdefault(t.name, []), summed.cpu_percent if summed else 0.0)
        snapshot = Snapshot(at=time.monotonic(), instances=instances, types=types, total=total)
        self.metrics = Metrics(
            snapshot=snapshot,
            history={name: list(values) for name, values in self.history.items()},
            type_history={name: list(values) for name, values in self.type_history.items()},
        )
        return self.metrics


def _push(history: list[float], value: float) -> None:
    """Append a reading, keeping the newest HISTORY."""
    history.append(value)
    if len(history) > HISTORY:
        del history[: len(history) - HISTORY]
