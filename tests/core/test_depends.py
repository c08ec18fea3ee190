"""Dependencies, readiness probes and per-type options with real child processes."""

from __future__ import annotations

import asyncio
import random
import socket
import sys
import time
from pathlib import Path

import pytest

from procdash.core import events as ev
from procdash.core.depends import start_levels
from procdash.core.instance import State
from procdash.core.procfile import ProcessType
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.core.typeoptions import Backoff, Probe, TypeOptions
from tests.helpers import run_supervisor, wait_until, write

PY = sys.executable
# Listens on $PORT after a delay (argv[1] seconds); answers HTTP with the status in argv[2] (default 200).
SERVER = """
import http.server, os, sys, time
time.sleep(float(sys.argv[1]))
status = int(sys.argv[2]) if len(sys.argv) > 2 else 200
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(status); self.end_headers(); self.wfile.write(b"x")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def free_base(types: int = 4) -> int:
    """A base port whose Foreman ports for ``types`` types are free now."""
    for _ in range(200):
        base = random.randrange(20000, 50000)
        try:
            for index in range(types):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + 100 * index))
        except OSError:
            continue
        return base
    raise AssertionError("no free ports")


def make(
    procfile: dict[str, str], options: dict[str, TypeOptions], *, root: Path, counts: dict[str, int] | None = None
) -> Supervisor:
    """A supervisor with per-type options and a free base port."""
    types = [ProcessType(name, cmd, i + 1) for i, (name, cmd) in enumerate(procfile.items())]
    return Supervisor(
        types,
        counts or dict.fromkeys(procfile, 1),
        root=root,
        dotenv={},
        base_port=free_base(len(types)),
        options=SupervisorOptions(timeout=2.0),
        type_options=options,
    )


def inst(sup: Supervisor, name: str):  # type: ignore[no-untyped-def]
    """The instance, which must exist."""
    found = sup.find(name)
    assert found is not None, name
    return found


def notices(events: list[ev.Event]) -> list[str]:
    """The text of every notice."""
    return [e.text for e in events if isinstance(e, ev.Notice)]


def test_completed_dependency_starts_the_dependent_after_a_success(tmp_path: Path) -> None:
    sup = make(
        {"web": "sleep 30", "migrate": "sleep 0.3"},
        {"web": TypeOptions(depends_on={"migrate": "completed"})},
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        web = inst(sup, "web.1")
        assert web.state is State.WAITING and web.status_text == "waiting for migrate (completed)"
        assert web.pid is None
        await wait_until(lambda: web.state is State.RUNNING)
        assert inst(sup, "migrate.1").state is State.EXITED

    events = run_supervisor(sup, body)
    assert "web.1: waiting for migrate (completed)" in notices(events)
    started = [e.instance.name for e in events if isinstance(e, ev.Started)]
    exited = [i for i, e in enumerate(events) if isinstance(e, ev.Exited) and e.instance.name == "migrate.1"]
    assert started == ["migrate.1", "web.1"]
    first_web = next(i for i, e in enumerate(events) if isinstance(e, ev.Started) and e.instance.name == "web.1")
    assert exited[0] < first_web


def test_failed_dependency_blocks_dependents_with_one_line_and_the_formation_goes_idle(tmp_path: Path) -> None:
    sup = make(
        {"web": "sleep 30", "worker": "sleep 30", "migrate": "exit 3"},
        {"web": TypeOptions(depends_on={"migrate": "completed"}), "worker": TypeOptions(depends_on={"web": "started"})},
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: inst(sup, "web.1").state is State.BLOCKED)
        assert inst(sup, "web.1").status_text == "blocked (migrate exited 3)"
        # web never started, so worker waiting on it is blocked too rather than waiting for ever
        await wait_until(lambda: inst(sup, "worker.1").state is State.BLOCKED)
        assert inst(sup, "worker.1").status_text == "blocked (web is blocked)"
        await asyncio.wait_for(sup.wait_idle(), 5)

    events = run_supervisor(sup, body)
    assert notices(events).count("web.1: blocked (migrate exited 3)") == 1


def test_manual_restart_of_a_failed_dependency_unblocks(tmp_path: Path) -> None:
    flag = tmp_path / "ok"
    sup = make(
        {"web": "sleep 30", "migrate": f"test -f {flag}"},
        {"web": TypeOptions(depends_on={"migrate": "completed"})},
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: inst(sup, "web.1").state is State.BLOCKED)
        flag.write_text("")
        sup.restart("migrate.1")
        await wait_until(lambda: inst(sup, "web.1").state is State.RUNNING)

    run_supervisor(sup, body)


def test_tcp_probe_keeps_starting_until_the_port_listens_then_ready(tmp_path: Path) -> None:
    server = write(tmp_path / "server.py", SERVER)
    sup = make(
        {"db": f"{PY} {server} 0.5", "web": "sleep 30"},
        {"db": TypeOptions(ready=Probe(kind="tcp", interval=0.05)), "web": TypeOptions(depends_on={"db": "ready"})},
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        db, web = inst(sup, "db.1"), inst(sup, "web.1")
        await wait_until(lambda: db.pid is not None)
        assert db.state is State.STARTING and db.ready is False
        assert web.status_text == "waiting for db (ready)"
        await wait_until(lambda: db.ready, timeout=10)
        assert db.state is State.RUNNING and db.status_text == "ready"
        # the dependent starts in the same turn of the loop as the probe's success
        assert web.state in (State.STARTING, State.RUNNING)

    events = run_supervisor(sup, body)
    assert any(text.startswith("db.1 is ready (tcp $PORT)") for text in notices(events))


def test_http_probe_that_never_passes_turns_visibly_unready(tmp_path: Path) -> None:
    server = write(tmp_path / "server.py", SERVER)
    sup = make(
        {"web": f"{PY} {server} 0 503", "worker": "sleep 30"},
        {
            "web": TypeOptions(ready=Probe(kind="http", path="/healthz", interval=0.05, retries=3)),
            "worker": TypeOptions(depends_on={"web": "ready"}),
        },
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        web = inst(sup, "web.1")
        # before the server listens the reason is "connection refused"; the line follows the reason
        await wait_until(lambda: web.status_text == "unready (http /healthz: 503)")
        assert web.state is State.UNREADY
        assert web.alive and inst(sup, "worker.1").state is State.WAITING

    events = run_supervisor(sup, body)
    assert "web.1 is unready (http /healthz: 503)" in notices(events)


def test_log_probe_and_exec_probe(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    sup = make(
        {"app": "echo booting; sleep 0.2; echo 'listening on 8080'; sleep 30", "svc": "sleep 30", "web": "sleep 30"},
        {
            "app": TypeOptions(ready=Probe(kind="log", pattern=r"listening on \d+")),
            "svc": TypeOptions(ready=Probe(kind="exec", command='test -f "$FLAG_PATH"', interval=0.05)),
            "web": TypeOptions(depends_on={"app": "ready", "svc": "ready"}),
        },
        root=tmp_path,
    )
    sup.base_env["FLAG_PATH"] = str(flag)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: inst(sup, "app.1").ready)
        assert inst(sup, "web.1").status_text == "waiting for svc (ready)"
        flag.write_text("")
        await wait_until(lambda: inst(sup, "svc.1").ready)
        await wait_until(lambda: inst(sup, "web.1").alive)

    run_supervisor(sup, body)


def test_log_probe_without_a_match_is_unready_after_interval_times_retries(tmp_path: Path) -> None:
    sup = make(
        {"app": "echo booting; sleep 30"},
        {"app": TypeOptions(ready=Probe(kind="log", pattern="up", interval=0.1, retries=2))},
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: inst(sup, "app.1").state is State.UNREADY, timeout=5)
        assert inst(sup, "app.1").status_text.startswith("unready (log /up/: no matching line after")

    run_supervisor(sup, body)


def test_started_condition_does_not_wait_for_readiness(tmp_path: Path) -> None:
    sup = make(
        {"db": "sleep 30", "web": "sleep 30"},
        {
            "db": TypeOptions(ready=Probe(kind="exec", command="false", interval=0.05)),
            "web": TypeOptions(depends_on={"db": "started"}),
        },
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: inst(sup, "web.1").alive)
        assert not inst(sup, "db.1").ready

    run_supervisor(sup, body)


def test_restarting_a_dependency_leaves_dependents_running_and_scaling_up_waits(tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    flag.write_text("")
    sup = make(
        {"db": "sleep 30", "web": "sleep 30"},
        {
            "db": TypeOptions(ready=Probe(kind="exec", command=f"test -f {flag}", interval=0.05)),
            "web": TypeOptions(depends_on={"db": "ready"}),
        },
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        web = inst(sup, "web.1")
        await wait_until(lambda: web.alive and web.pid is not None)
        pid = web.pid
        flag.unlink()
        sup.restart("db.1")
        await wait_until(lambda: inst(sup, "db.1").state is State.STARTING and inst(sup, "db.1").pid is not None)
        assert web.pid == pid and web.alive
        sup.scale("web", 2)
        web2 = inst(sup, "web.2")
        assert web2.state is State.WAITING and web2.pid is None
        started = time.monotonic()
        flag.write_text("")
        await wait_until(lambda: web2.alive)
        assert time.monotonic() - started < 2
        assert web.pid == pid

    run_supervisor(sup, body)


def test_start_order_levels_follow_dependencies() -> None:
    names = ["web", "worker", "db", "migrate", "cache"]
    graph = {"web": {"db": "ready", "migrate": "completed"}, "worker": {"web": "ready"}, "migrate": {"db": "ready"}}
    assert start_levels(names, graph) == [["db", "cache"], ["migrate"], ["web"], ["worker"]]
    assert start_levels(names, {}) == [names]


def test_per_type_env_cwd_pty_and_success_codes(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    out = tmp_path / "out"
    sup = make(
        {
            "a": f'echo "$GREETING $PS" > {out}.a; pwd >> {out}.a; test -t 1 && echo tty >> {out}.a; exit 0',
            "b": f"test -t 1 || echo pipe > {out}.b; exit 143",
        },
        {
            "a": TypeOptions(env={"GREETING": "hi"}, cwd="sub"),
            "b": TypeOptions(pty=False, success_exit_codes=frozenset({0, 143}), restart="on-failure"),
        },
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        await asyncio.wait_for(sup.wait_idle(), 10)
        assert inst(sup, "b.1").state is State.EXITED  # 143 counts as success: no crash, no restart

    run_supervisor(sup, body)
    assert (tmp_path / "out.a").read_text().splitlines() == ["hi a.1", str(tmp_path / "sub"), "tty"]
    assert (tmp_path / "out.b").read_text() == "pipe\n"


def test_autostart_false_lists_the_type_and_starts_on_request(tmp_path: Path) -> None:
    sup = make({"web": "sleep 30", "tool": "sleep 30"}, {"tool": TypeOptions(autostart=False)}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: inst(sup, "web.1").alive)
        tool = inst(sup, "tool.1")
        assert tool.state is State.STOPPED and tool.pid is None
        sup.start_instance("tool.1")
        await wait_until(lambda: tool.alive)

    run_supervisor(sup, body)


@pytest.mark.parametrize(("max_restarts", "starts"), [(0, 1), (2, 3)])
def test_per_type_restart_policy_and_max_restarts(tmp_path: Path, max_restarts: int, starts: int) -> None:
    sup = make(
        {"crash": "exit 1", "calm": "exit 1"},
        {"crash": TypeOptions(restart="always", max_restarts=max_restarts, backoff=Backoff(0.05, 0.05))},
        root=tmp_path,
    )

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: inst(sup, "crash.1").state is State.FATAL)
        assert inst(sup, "calm.1").state is State.CRASHED  # the default policy (no) still applies

    events = run_supervisor(sup, body)
    assert sum(1 for e in events if isinstance(e, ev.Started) and e.instance.name == "crash.1") == starts
