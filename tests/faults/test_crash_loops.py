"""Guarantee 5: a crash loop backs off exponentially, gives up, costs no CPU, and spares everything else."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import psutil
import pytest

from procdash.core import events as ev
from procdash.core.instance import State
from procdash.core.supervisor import Supervisor
from tests.faults.support import drive, make_supervisor, read_pids, start_procdash, wait_for
from tests.helpers import wait_until

STEADY = "echo $$ >> steady.pids; while :; do echo tick; sleep 0.05; done"


def test_backoff_doubles_then_fatal_others_untouched_manual_restart_works(tmp_path: Path) -> None:
    base = 0.2
    sup = make_supervisor(
        {"crash": "echo boom; exit 1", "steady": STEADY}, tmp_path, restart="always", backoff_base=base
    )
    seen: list[tuple[float, ev.Event]] = []
    ticks: list[int] = [0]

    def record(event: ev.Event) -> None:
        if isinstance(event, ev.Output) and event.instance.type_name == "steady":
            ticks[0] += len(event.lines)
        elif getattr(event, "instance", None) is not None and event.instance.type_name == "crash":  # type: ignore[union-attr]
            seen.append((time.monotonic(), event))

    sup.subscribe(record)

    async def body(sup: Supervisor) -> None:
        crash = sup.find("crash.1")
        assert crash is not None
        await wait_until(lambda: crash.state is State.FATAL, timeout=30)
        delays = [e.delay for _, e in seen if isinstance(e, ev.Restarting)]
        assert delays == [base, 2 * base, 4 * base, 8 * base]
        fatal = [e for _, e in seen if isinstance(e, ev.Fatal)]
        assert len(fatal) == 1 and fatal[0].failures == 5
        # Each restart came no sooner than its delay after the exit before it.
        exits = [t for t, e in seen if isinstance(e, ev.Exited)]
        starts = [t for t, e in seen if isinstance(e, ev.Started)]
        assert len(starts) == 5 and len(exits) == 5
        for delay, exited, started in zip(delays, exits[:-1], starts[1:], strict=True):
            assert started - exited >= delay * 0.95
        assert crash.restarts == 4
        assert list(crash.log.tail(5)) == ["boom"] * 5
        # The other type never noticed: same process, still running, still printing.
        steady = sup.find("steady.1")
        assert steady is not None and steady.state is State.RUNNING and steady.restarts == 0
        assert read_pids(tmp_path / "steady.pids") == [steady.pid]
        before = ticks[0]
        await wait_until(lambda: ticks[0] > before + 2)
        # A manual restart works at once, skipping the backoff, and starts a fresh failure count.
        starts_before = len([e for _, e in seen if isinstance(e, ev.Started)])
        sup.restart("crash.1")
        assert len([e for _, e in seen if isinstance(e, ev.Started)]) == starts_before + 1
        assert crash.restarts == 5
        await wait_until(lambda: crash.state is State.BACKOFF)
        assert crash.fast_failures == 1 and [e for _, e in seen if isinstance(e, ev.Restarting)][-1].delay == base

    drive(sup, body)


@pytest.mark.parametrize(
    ("policy", "code", "restarts"),
    [("on-failure", 0, False), ("on-failure", 3, True), ("always", 0, True), ("no", 3, False)],
)
def test_restart_policy(tmp_path: Path, policy: str, code: int, restarts: bool) -> None:
    sup = make_supervisor({"job": f"exit {code}"}, tmp_path, restart=policy, backoff_base=0.05)
    restarting: list[ev.Restarting] = []
    sup.subscribe(lambda e: restarting.append(e) if isinstance(e, ev.Restarting) else None)

    async def body(sup: Supervisor) -> None:
        job = sup.find("job.1")
        assert job is not None
        final = State.FATAL if restarts else (State.CRASHED if code else State.EXITED)
        await wait_until(lambda: job.state is final, timeout=20)
        assert job.exit_code == code
        assert len(restarting) == (4 if restarts else 0)

    drive(sup, body)


@pytest.mark.slow
def test_real_crash_loop_uses_one_two_four_eight_seconds_and_little_cpu(tmp_path: Path) -> None:
    """The real command with the default policy: 1, 2, 4, 8 s, then fatal after 5 failures, CPU under 5%."""
    (tmp_path / "Procfile").write_text(f"crash: exit 1\nsteady: {STEADY}\n")
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        proc = start_procdash(["start", "--no-timestamp", "--restart", "always"], cwd=tmp_path, stdout=out)
    try:
        procdash = psutil.Process(proc.pid)
        wait_for(lambda: "crash.1 restarting in 1s" in log.read_text(), 20, "the first backoff")
        cpu_start, wall_start = sum(procdash.cpu_times()[:2]), time.monotonic()
        wait_for(lambda: "giving up" in log.read_text(), 40, "the crash loop to give up")
        cpu = sum(procdash.cpu_times()[:2]) - cpu_start
        wall = time.monotonic() - wall_start
        text = log.read_text()
        delays = re.findall(r"crash\.1 restarting in (\S+)s \(failure (\d) in a row\)", text)
        assert delays == [("1", "1"), ("2", "2"), ("4", "3"), ("8", "4")]
        assert "crash.1 failed 5 times in a row: giving up" in text
        assert wall >= 14  # 2 + 4 + 8 seconds of backoff after the first one was announced
        assert cpu / wall < 0.05, f"procdash used {cpu:.2f}s CPU in {wall:.1f}s"
        steady_pids = read_pids(tmp_path / "steady.pids")
        assert len(steady_pids) == 1 and psutil.pid_exists(steady_pids[0])
        assert "steady.1 exited" not in text and text.count("steady.1 started") == 1
        assert proc.poll() is None  # steady still runs, so headless procdash stays up
        proc.send_signal(signal.SIGTERM)
        # The crash type ended as a failure for good: its code is procdash's exit status.
        assert proc.wait(timeout=15) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
