"""Fixed, process-free data for snapshot tests and screenshots: a supervisor whose instances are made up."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from procdash.core import events as ev
from procdash.core.formation import port_for
from procdash.core.instance import Instance, State
from procdash.core.lines import LineAssembler
from procdash.core.logbuffer import LogBuffer
from procdash.core.procfile import ProcessType
from procdash.core.project import Project
from procdash.core.stats import Snapshot, Usage
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.view.usage import Metrics


@dataclass(eq=False)
class FakeInstance(Instance):
    """An instance whose uptime and backoff countdown are frozen, so a screenshot never changes."""

    fixed_uptime: float | None = None
    fixed_retry: float | None = None

    @property
    def uptime(self) -> float | None:
        """The frozen uptime."""
        return self.fixed_uptime

    @property
    def retry_in(self) -> float | None:
        """The frozen countdown."""
        return self.fixed_retry if self.state is State.BACKOFF else None


@dataclass
class Slot:
    """What one fake instance looks like."""

    type_name: str
    number: int
    state: State
    pid: int | None = None
    uptime: float | None = None
    restarts: int = 0
    exit_code: int | None = None
    exit_description: str = ""
    retry_in: float | None = None
    lines: list[str] = field(default_factory=list)


GET = '127.0.0.1 - - [27/Nov/2025 10:{m:02d}:{s:02d}] "GET /{path} HTTP/1.1" 200 -'
TYPES = [
    ProcessType(name, command, line)
    for line, (name, command) in enumerate(
        [
            ("web", "python3 -u -m http.server $PORT --bind 127.0.0.1"),
            ("worker", "python3 -u worker.py"),
            ("flaky", "python3 -u flaky.py"),
            ("cron", "python3 -u cron.py"),
            ("release", "python3 -u release.py"),
            ("clock", "python3 -u clock.py"),
        ],
        start=1,
    )
]
DESIRED = {"web": 2, "worker": 1, "flaky": 2, "cron": 1, "release": 1, "clock": 0}


def _web_lines(number: int) -> list[str]:
    """Access-log lines of a web instance."""
    paths = ["", "health", "api/items", "static/app.css", "api/items/42", "login", "api/search?q=logs"]
    lines = [f"Serving HTTP on 127.0.0.1 port {5000 + number - 1} (http://127.0.0.1:{5000 + number - 1}/) ..."]
    stamps = [divmod(number * 7 + i * 3, 60) for i in range(40)]
    lines += [GET.format(m=m, s=s, path=paths[(i + number) % len(paths)]) for i, (m, s) in enumerate(stamps)]
    return lines


SLOTS = [
    Slot("web", 1, State.RUNNING, pid=41001, uptime=3725, lines=_web_lines(1)),
    Slot("web", 2, State.RUNNING, pid=41002, uptime=3725, lines=_web_lines(2)),
    Slot(
        "worker",
        1,
        State.RUNNING,
        pid=41003,
        uptime=125,
        restarts=1,
        exit_code=143,
        exit_description="SIGTERM",
        lines=[f"\x1b[32mjob {n}\x1b[0m done in \x1b[1m{(n * 37) % 90 + 5}ms\x1b[0m" for n in range(1, 40)],
    ),
    Slot(
        "flaky",
        1,
        State.CRASHED,
        restarts=2,
        exit_code=139,
        exit_description="SIGSEGV",
        lines=["flaky up, will crash in 3.2s", "\x1b[31mflaky: segmentation fault in worker loop\x1b[0m"],
    ),
    Slot(
        "flaky",
        2,
        State.BACKOFF,
        restarts=1,
        exit_code=3,
        exit_description="exit 3",
        retry_in=3.4,
        lines=["flaky up, will crash in 5.1s", "\x1b[31mflaky: something went wrong\x1b[0m"],
    ),
    Slot(
        "cron",
        1,
        State.FATAL,
        restarts=4,
        exit_code=1,
        exit_description="exit 1",
        lines=["cron: cannot read schedule.yml", "Traceback (most recent call last):", "FileNotFoundError"],
    ),
    Slot(
        "release",
        1,
        State.EXITED,
        exit_code=0,
        exit_description="exit 0",
        lines=["release: migrations applied", "release: done"],
    ),
]


class FakeSupervisor(Supervisor):
    """A supervisor that shows made-up instances and never starts, signals or waits for a process."""

    def __init__(self, slots: list[Slot] | None = None) -> None:
        super().__init__(
            TYPES, DESIRED, root=Path("."), dotenv={}, base_port=5000, options=SupervisorOptions(watchdog=False)
        )
        self.fake_slots = SLOTS if slots is None else slots

    def start(self) -> None:
        """Create the made-up instances and publish them as if they had started and printed."""
        self._loop = asyncio.get_running_loop()
        for slot in self.fake_slots:
            index = self.type_index[slot.type_name]
            inst = FakeInstance(
                type_name=slot.type_name,
                type_index=index,
                number=slot.number,
                command=self.types[index].command,
                port=port_for(self.base_port, index, slot.number),
                log=LogBuffer(self.options.scrollback),
                assembler=LineAssembler(),
                state=slot.state,
                pid=slot.pid,
                restarts=slot.restarts,
                exit_code=slot.exit_code,
                exit_description=slot.exit_description,
                started_at=time.monotonic(),
                fixed_uptime=slot.uptime,
                fixed_retry=slot.retry_in,
            )
            self.slots[slot.type_name].append(inst)
            self._emit(ev.Added(inst))
            inst.log.extend(slot.lines)
            self._emit(ev.Output(inst, list(slot.lines)))

    async def stop_all(self) -> None:
        """Everything is stopped at once."""
        for inst in self.instances():
            inst.state = State.STOPPED
            inst.pid = None

    def kill_all(self) -> None:
        """Nothing to kill."""

    def is_idle(self) -> bool:
        """Never any real process."""
        return True

    def resize(self, name: str, columns: int, rows: int) -> None:
        """No pty to resize."""

    def close(self) -> None:
        """No watchdog to close."""


def fake_project() -> Project:
    """A project whose Procfile path prints the same everywhere."""
    counts = dict(DESIRED)
    return Project(Path("Procfile"), Path("."), list(TYPES), counts, {}, 5000, [])


def fake_metrics() -> Metrics:
    """Fixed CPU and memory readings with a minute of history."""
    usage = {
        "web.1": Usage(2.5, 24_100_000, 1),
        "web.2": Usage(1.2, 23_800_000, 1),
        "worker.1": Usage(37.0, 61_500_000, 2, uss=52_000_000),
    }
    types = {"web": Usage(3.7, 47_900_000, 2), "worker": Usage(37.0, 61_500_000, 2)}
    total = Usage(40.7, 109_400_000, 4)
    wave = [float((i * 7) % 23) for i in range(60)]
    history = {
        "web.1": [v / 4 for v in wave],
        "web.2": [v / 8 for v in wave[::-1]],
        "worker.1": [30.0 + (i % 5) * 3 for i in range(60)],
    }
    type_history = {
        "web": [a + b for a, b in zip(history["web.1"], history["web.2"], strict=True)],
        "worker": history["worker.1"],
    }
    return Metrics(Snapshot(0.0, usage, types, total), history, type_history)
