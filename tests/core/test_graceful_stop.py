"""A stop signal reaches the app once, the app gets its whole timeout, and the PID shown is the app's."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from procdash.core import events as ev
from procdash.core.instance import State
from procdash.core.procfile import ProcessType
from procdash.core.supervisor import Supervisor, SupervisorOptions
from tests.helpers import run_supervisor, wait_until

DRAIN = 1.5
TIMEOUT = 4.0

# Records every signal it gets in a file (stdout may be a pipe that dies first), drains on TERM, then exits 0.
APP = """
import os, signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
def on_signal(signum, frame):
    log.write(f"{os.getpid()} got {signal.Signals(signum).name} {time.monotonic()}\\n")
    if signum == signal.SIGTERM:
        time.sleep(float(sys.argv[2]))
        log.write(f"{os.getpid()} drained {time.monotonic()}\\n")
        sys.exit(0)
for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(signum, on_signal)
log.write(f"{os.getpid()} up {time.monotonic()}\\n")
while True:
    time.sleep(1)
"""

# Command shapes: the ones the app is exec'd for (so its pid is the instance's), then those keeping a shell.
EXEC_SHAPES = {
    "simple": "python3 {app} {log} {drain}",
    "assignment": "FOO=1 python3 {app} {log} {drain}",
    "cd_and": "cd sub && python3 ../app.py {log} {drain}",
    "sequence": "true; python3 {app} {log} {drain}",
}
SHELL_SHAPES = {
    "pipeline": "python3 {app} {log} {drain} | cat",
    "background": "python3 {app} {log} {drain} & wait",
}


def supervisor(root: Path, commands: dict[str, str], *, use_pty: bool, timeout: float = TIMEOUT) -> Supervisor:
    """A supervisor over the given types with one instance each."""
    types = [ProcessType(name, cmd, i + 1) for i, (name, cmd) in enumerate(commands.items())]
    options = SupervisorOptions(timeout=timeout, use_pty=use_pty)
    return Supervisor(types, dict.fromkeys(commands, 1), root=root, dotenv={}, base_port=5000, options=options)


def project(tmp_path: Path, shapes: dict[str, str], drain: float = DRAIN) -> dict[str, str]:
    """Write the app and return each shape's command, logging to a file named after the shape."""
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "sub").mkdir(exist_ok=True)
    return {
        name: shape.format(app=tmp_path / "app.py", log=tmp_path / f"{name}.log", drain=drain)
        for name, shape in shapes.items()
    }


def signal_log(tmp_path: Path, name: str) -> list[tuple[int, str, float]]:
    """(pid, what, monotonic time) for every line the app wrote."""
    path = tmp_path / f"{name}.log"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        pid, what, when = re.fullmatch(r"(\d+) (.+) ([\d.]+)", line).groups()  # type: ignore[union-attr]
        rows.append((int(pid), what, float(when)))
    return rows


def up(tmp_path: Path, name: str) -> bool:
    """Whether the app of a shape has installed its handlers."""
    return any(what == "up" for _, what, _ in signal_log(tmp_path, name))


def exits(events: list[ev.Event], name: str) -> list[ev.Exited]:
    """The exit events of one instance."""
    return [e for e in events if isinstance(e, ev.Exited) and e.instance.name == name]


@pytest.mark.parametrize("use_pty", [True, False], ids=["pty", "pipes"])
def test_every_shape_gets_one_stop_signal_and_its_whole_drain(tmp_path: Path, use_pty: bool) -> None:
    commands = project(tmp_path, EXEC_SHAPES | SHELL_SHAPES)
    sup = supervisor(tmp_path, commands, use_pty=use_pty)
    pids: dict[str, int | None] = {}

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: all(up(tmp_path, name) for name in commands))
        pids.update({name: sup.find(f"{name}.1").pid for name in commands})  # type: ignore[union-attr]
        began = time.monotonic()
        await sup.stop_all()
        assert time.monotonic() - began >= DRAIN

    events = run_supervisor(sup, body)
    for name in commands:
        log = signal_log(tmp_path, name)
        got = [what for _, what, _ in log if what.startswith("got")]
        assert got == ["got SIGTERM"], f"{name}: {got}"
        assert [what for _, what, _ in log][-1] == "drained", f"{name}: {log}"
        (exited,) = exits(events, f"{name}.1")
        assert exited.requested and not exited.killed, name
        assert exited.stopped_after is not None and exited.stopped_after >= DRAIN, name
        inst = sup.find(f"{name}.1")
        assert inst is not None and inst.state is State.STOPPED
        app_pid = log[0][0]
        if name in EXEC_SHAPES:
            assert pids[name] == app_pid, f"{name}: the PID shown is not the app's"
            assert exited.code == 0, name
        else:
            assert pids[name] != app_pid, name


@pytest.mark.parametrize("use_pty", [True, False], ids=["pty", "pipes"])
def test_an_app_that_ignores_the_stop_signal_is_killed_at_the_timeout(tmp_path: Path, use_pty: bool) -> None:
    timeout = 1.5
    ignoring = (
        "python3 -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True);"
        " time.sleep(60)'"
    )
    commands = {"stubborn": ignoring, "wrapped": f"cd . && {ignoring} | cat"}
    sup = supervisor(tmp_path, commands, use_pty=use_pty, timeout=timeout)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: all(len(inst.log) > 0 for inst in sup.instances()))
        await sup.stop_all()

    events = run_supervisor(sup, body)
    for name in ("stubborn.1", "wrapped.1"):
        (exited,) = exits(events, name)
        assert exited.killed and exited.description == "SIGKILL", name
        assert exited.stopped_after is not None
        assert timeout <= exited.stopped_after <= timeout + 0.3, f"{name} died {exited.stopped_after:.2f}s after TERM"


@pytest.mark.parametrize("use_pty", [True, False], ids=["pty", "pipes"])
def test_restart_waits_for_the_drain_before_the_new_run(tmp_path: Path, use_pty: bool) -> None:
    commands = project(tmp_path, {"web": EXEC_SHAPES["simple"], "shell": SHELL_SHAPES["pipeline"]})
    sup = supervisor(tmp_path, commands, use_pty=use_pty)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: all(up(tmp_path, name) for name in commands))
        for name in commands:
            sup.restart(f"{name}.1")
        await wait_until(lambda: all(sum(w == "up" for _, w, _ in signal_log(tmp_path, n)) == 2 for n in commands))

    run_supervisor(sup, body)
    for name in commands:
        log = signal_log(tmp_path, name)
        whats = [f"{'old' if pid == log[0][0] else 'new'} {what}" for pid, what, _ in log]
        assert whats[:4] == ["old up", "old got SIGTERM", "old drained", "new up"], f"{name}: {whats}"


def test_scaling_down_drains_before_the_slot_goes(tmp_path: Path) -> None:
    commands = project(tmp_path, {"web": EXEC_SHAPES["simple"]})
    sup = supervisor(tmp_path, commands, use_pty=True)
    sup.desired["web"] = 2

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: sum(w == "up" for _, w, _ in signal_log(tmp_path, "web")) == 2)
        retiring = sup.find("web.2")
        assert retiring is not None
        pid = retiring.pid
        sup.scale("web", 1)
        await wait_until(lambda: sup.find("web.2") is None, timeout=TIMEOUT + 2)
        drained = [pid for pid, what, _ in signal_log(tmp_path, "web") if what == "drained"]
        assert drained == [pid]

    run_supervisor(sup, body)


@pytest.mark.parametrize(
    ("command", "code", "words"),
    [("no-such-program --flag", 127, "command not found"), ("./script", 126, "not executable")],
)
def test_a_program_that_cannot_run_is_reported_in_plain_words(
    tmp_path: Path, command: str, code: int, words: str
) -> None:
    (tmp_path / "script").write_text("#!/bin/sh\necho hi\n")  # not executable
    sup = supervisor(tmp_path, {"web": command}, use_pty=True)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: sup.find("web.1").state is State.CRASHED)  # type: ignore[union-attr]

    run_supervisor(sup, body)
    inst = sup.find("web.1")
    assert inst is not None and (inst.exit_code, inst.exit_description) == (code, words)
    (line,) = inst.log.tail(1)
    program = command.split()[0]
    assert line.startswith(f"/bin/sh: 1: {program}: "), line  # the user's line 1, no "exec:" trampoline
