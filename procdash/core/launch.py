"""The supervisor's gate before each start: dependencies first, then a free port; then readiness probes.

A mixin of Supervisor, kept apart so the supervisor itself stays about desired counts and exits. Every
start (formation, scale, restart, backoff retry, ``ctl start``) goes through ``_launch``, so a
dependent never starts before its dependencies hold, however it was asked for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from procdash.core import events as ev
from procdash.core.depends import OPEN, DepView, Gate, evaluate
from procdash.core.env import child_env
from procdash.core.instance import Instance, State
from procdash.core.options import SupervisorOptions
from procdash.core.ports import port_holder, uses_port
from procdash.core.probes import ProbeRunner
from procdash.core.procfile import ProcessType
from procdash.core.typeoptions import DEFAULT_TYPE_OPTIONS, TypeOptions
from procdash.core.watchdog import Watchdog

PORT_RECHECK = 1.0  # seconds between looks at a taken port
PENDING = (State.STARTING, State.BACKOFF, State.WAITING)


class LaunchMixin:
    """Dependency gates, port checks and readiness for Supervisor (which provides the attributes below)."""

    types: list[ProcessType]
    options: SupervisorOptions
    root: Path
    dotenv: dict[str, str]
    base_env: dict[str, str]
    slots: dict[str, list[Instance]]
    stopping_all: bool
    type_options: dict[str, TypeOptions]
    _waking: bool
    _wake_again: bool
    _watchdog: Watchdog | None
    _ending_probes: set[asyncio.Task[None]]

    if TYPE_CHECKING:  # provided by Supervisor

        def _spawn(self, inst: Instance) -> None: ...
        def _emit(self, event: ev.Event) -> None: ...
        def _set_state(self, inst: Instance, state: State) -> None: ...
        def _require_loop(self) -> asyncio.AbstractEventLoop: ...
        def _check_idle(self) -> None: ...

    def type_opts(self, type_name: str) -> TypeOptions:
        """One type's Procfile.toml options (defaults when it has none)."""
        return self.type_options.get(type_name, DEFAULT_TYPE_OPTIONS)

    def instance_env(self, inst: Instance) -> dict[str, str]:
        """The environment of an instance: procdash's, the .env files, the type's own env, PORT and PS."""
        opts = self.type_opts(inst.type_name)
        return child_env(
            self.base_env,
            {**self.dotenv, **opts.env},
            port=inst.port,
            ps=inst.name,
            pipes=not self.uses_pty(inst.type_name),
            color=self.options.color,
        )

    def instance_cwd(self, inst: Instance) -> Path:
        """Where an instance runs: the root, or the type's cwd under it."""
        cwd = self.type_opts(inst.type_name).cwd
        return self.root / cwd if cwd else self.root

    def stop_timeout(self, inst: Instance) -> float:
        """Seconds between an instance's stop signal and SIGKILL: its type's stop_timeout, else --timeout."""
        own = self.type_opts(inst.type_name).stop_timeout
        return self.options.timeout if own is None else own

    def uses_pty(self, type_name: str) -> bool:
        """A pty for this type unless it (or --no-pty) says pipes."""
        own = self.type_opts(type_name).pty
        return self.options.use_pty if own is None else own

    # ----- the gate ----------------------------------------------------------------------------------

    def gate(self, type_name: str) -> Gate:
        """Whether instances of a type may start now, given its dependencies' instances."""
        depends_on = self.type_opts(type_name).depends_on
        if not depends_on:
            return OPEN
        views = {dep: [self._dep_view(inst) for inst in self.slots.get(dep, [])] for dep in depends_on}
        return evaluate(depends_on, views)

    def _dep_view(self, inst: Instance) -> DepView:
        """How one dependency instance looks to the gate."""
        opts = self.type_opts(inst.type_name)
        started = inst.started_at is not None and (inst.alive or inst.state not in PENDING)
        port_held = inst.state is State.BLOCKED and inst.port_wait
        settled = not inst.alive and inst.state not in PENDING and not port_held
        completed = settled and inst.exit_code is not None and opts.succeeded(inst.exit_code)
        ready = bool(inst.ready) if opts.ready is not None else started and (inst.alive or completed)
        failed: str | None = None
        if settled and (inst.started_at is not None or inst.state is State.BLOCKED):
            failed = _failure(inst)
        count = len(self.slots.get(inst.type_name, []))
        return DepView(
            name=inst.type_name if count == 1 else inst.name,
            started=started,
            running=inst.alive,
            ready=ready,
            completed=completed,
            failed_for_good=failed,
        )

    def _launch(self, inst: Instance) -> None:
        """Start an instance once its dependencies hold and its port is free; otherwise show why not."""
        inst.cancel_timers()
        inst.port_wait = False
        gate = self.gate(inst.type_name)
        if not gate.open:
            self._hold(inst, State.BLOCKED if gate.blocked else State.WAITING, gate.reason)
            return
        holder = self._port_taken(inst)
        if holder is not None:
            inst.port_wait = True
            reason = f"port {inst.port} is in use by {holder}"
            self._hold(inst, State.BLOCKED, reason)
            inst.timers.append(self._require_loop().call_later(PORT_RECHECK, self._recheck_port, inst))
            return
        inst.detail = ""
        self._spawn(inst)

    def _hold(self, inst: Instance, state: State, reason: str) -> None:
        """Keep an instance from starting and say why, with one line whenever the reason changes."""
        changed = inst.state is not state or inst.detail != reason
        inst.detail = reason
        inst.retry_at = None
        if changed:
            self._set_state(inst, state)
            self._emit(ev.Notice(f"{inst.name}: {reason}", inst))

    def _port_taken(self, inst: Instance) -> str | None:
        """Who holds the instance's $PORT, when the type is expected to listen on it."""
        if inst.port is None or not self._listens_on_port(inst.type_name):
            return None
        holder = port_holder(inst.port)
        return None if holder is None else holder.describe()

    def _listens_on_port(self, type_name: str) -> bool:
        """Whether the type's command reads $PORT or its probe connects to it."""
        command = next((t.command for t in self.types if t.name == type_name), "")
        probe = self.type_opts(type_name).ready
        probes_port = probe is not None and probe.kind in ("tcp", "http") and probe.port is None
        return uses_port(command) or probes_port

    def _recheck_port(self, inst: Instance) -> None:
        """A taken port may be free now: try the launch again."""
        if self.stopping_all or inst.alive or not inst.port_wait or inst.retiring:
            return
        self._launch(inst)
        self._check_idle()

    def _wake_dependents(self) -> None:
        """Something changed: start every waiting instance whose gate is now open (and re-word the others)."""
        if self._waking:
            self._wake_again = True
            return
        self._waking = True
        try:
            self._wake_again = True
            while self._wake_again:
                self._wake_again = False
                for t in self.types:
                    if self.stopping_all:
                        return
                    for inst in list(self.slots[t.name]):
                        held = inst.state in (State.WAITING, State.BLOCKED) and not inst.port_wait
                        if held and not inst.retiring and not inst.alive:
                            self._launch(inst)
        finally:
            self._waking = False

    # ----- readiness ---------------------------------------------------------------------------------

    def _start_probe(self, inst: Instance) -> bool:
        """Begin the type's readiness probe for a just-started instance; False when it has none."""
        probe = self.type_opts(inst.type_name).ready
        if probe is None:
            inst.ready = None
            return False
        inst.ready = False
        runner = ProbeRunner(
            probe,
            port=inst.port,
            env=self.instance_env(inst),
            cwd=self.instance_cwd(inst),
            on_ready=lambda: self._became_ready(inst, runner),
            on_unready=lambda reason: self._became_unready(inst, runner, reason),
            guard=self._guard_probe,
        )
        inst.probe = runner
        runner.start()
        return True

    def _guard_probe(self, pgid: int, running: bool) -> None:
        """Register an exec probe's group with the guardian while it runs."""
        if self._watchdog is not None:
            (self._watchdog.add if running else self._watchdog.remove)(pgid)

    def _stop_probe(self, inst: Instance) -> None:
        """The process ended or is being stopped: no more probing; readiness is gone with it."""
        if inst.probe is not None:
            task = inst.probe.cancel()
            if task is not None:
                # An exec probe may be killing and reaping its command; stop_all waits for that.
                self._ending_probes.add(task)
                task.add_done_callback(self._ending_probes.discard)
            inst.probe = None
        if inst.ready is not None:
            inst.ready = False

    def _became_ready(self, inst: Instance, runner: ProbeRunner) -> None:
        """The probe passed: the instance is ready, and its dependents may start."""
        if inst.probe is not runner or inst.state not in (State.STARTING, State.UNREADY):
            return
        inst.ready = True
        inst.detail = ""
        self._emit(ev.Notice(f"{inst.name} is ready ({runner.probe.describe()})", inst))
        self._set_state(inst, State.RUNNING)

    def _became_unready(self, inst: Instance, runner: ProbeRunner, reason: str) -> None:
        """The probe keeps failing: show it, so a readiness that never comes is not a silent hang."""
        if inst.probe is not runner or inst.state not in (State.STARTING, State.UNREADY):
            return
        inst.detail = f"unready ({runner.probe.describe()}: {reason})"
        self._emit(ev.Notice(f"{inst.name} is {inst.detail}", inst))
        self._set_state(inst, State.UNREADY)


def _failure(inst: Instance) -> str | None:
    """How a dependency instance that ended will stay ended: "exited 1", "failed 5 times", "stopped"."""
    if inst.state is State.FATAL:
        return f"failed {inst.fast_failures} times"
    if inst.state is State.STOPPED:
        return "stopped"
    if inst.state is State.BLOCKED:
        return "is blocked"
    if inst.state in (State.CRASHED, State.EXITED):
        desc = inst.exit_description
        if desc.startswith("exit "):
            return f"exited {desc[5:]}"
        return f"was killed by {desc}" if desc else f"exited {inst.exit_code}"
    return None
