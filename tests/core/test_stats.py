"""The process-tree sampler against real processes: busy, memory-heavy, forking, exiting and recycled pids."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from procdash.core import stats
from procdash.core.stats import HAS_PROCFS, NO_USAGE, StatsSampler, Usage, format_bytes
from tests.helpers import wait_until_sync

# A shared machine's other work must not starve a busy child below the half core a test asserts, so
# it raises its priority where allowed (as root); elsewhere it runs as it is.
BOOST = "import os\ntry:\n    os.nice(-10)\nexcept OSError:\n    pass\n"
BUSY = BOOST + "while True: pass"
MIB = 2**20
NS_LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


class Children:
    """Starts test children in their own sessions and kills every group at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def python(self, code: str) -> subprocess.Popen[bytes]:
        """A Python child running ``code``."""
        return self.spawn([sys.executable, "-c", code])

    def spawn(self, argv: list[str], *, pipes: bool = False) -> subprocess.Popen[bytes]:
        """A child in its own session, so its whole tree can be killed with one signal; ``pipes`` to talk to it."""
        stdin = subprocess.PIPE if pipes else subprocess.DEVNULL
        stdout = subprocess.PIPE if pipes else None
        proc = subprocess.Popen(argv, start_new_session=True, stdin=stdin, stdout=stdout)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a child's whole group and reap it."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()

    def close(self) -> None:
        """Kill whatever is left."""
        for proc in self.procs:
            if proc.returncode is None:
                self.kill(proc)


@pytest.fixture
def children() -> Iterator[Children]:
    """Test children that never outlive the test."""
    kids = Children()
    try:
        yield kids
    finally:
        kids.close()


Sampler = Callable[..., StatsSampler]


@pytest.fixture(
    params=[
        pytest.param(True, id="procfs", marks=pytest.mark.skipif(not HAS_PROCFS, reason="Linux /proc only")),
        pytest.param(False, id="psutil"),
    ]
)
def make_sampler(request: pytest.FixtureRequest) -> Sampler:
    """Builds samplers that read the process table the /proc way or the portable psutil way."""
    use_procfs = bool(request.param)
    return lambda **kwargs: StatsSampler(use_procfs=use_procfs, **kwargs)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, 0.0 once it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


def usage(sampler: StatsSampler, roots: dict[str, int], name: str) -> Usage:
    """Sample and return one instance's usage (zeros when it is missing)."""
    return sampler.sample(roots).instances.get(name, NO_USAGE)


def test_busy_child_reads_above_half_a_core_within_three_seconds(children: Children, make_sampler: Sampler) -> None:
    busy = children.python(BUSY)
    sampler = make_sampler()
    readings: list[float] = []

    def above_half() -> bool:
        readings.append(usage(sampler, {"burn.1": busy.pid}, "burn.1").cpu_percent)
        return readings[-1] > 50.0

    wait_until_sync(above_half, timeout=3.0, interval=0.25)
    assert sampler.history("burn.1") == readings


def test_first_reading_of_a_busy_process_is_not_a_fake_zero(children: Children, make_sampler: Sampler) -> None:
    busy = children.python(BUSY)
    wait_until_sync(lambda: cpu_seconds(busy.pid) >= 0.2, timeout=10)
    snapshot = make_sampler().sample({"burn.1": busy.pid})
    assert snapshot.instances["burn.1"].cpu_percent > 10.0


def test_child_holding_100_mib_reads_at_least_that_much_rss_and_uss(
    children: Children, make_sampler: Sampler, tmp_path: Path
) -> None:
    # Multiplying bytes writes every page, so all of it is resident before the marker file appears.
    ready = tmp_path / "ready"
    hog = children.spawn(
        [
            sys.executable,
            "-c",
            "import sys, time\nheld = b'x' * (100 * 2**20)\nopen(sys.argv[1], 'w').close()\ntime.sleep(60)",
            str(ready),
        ]
    )
    idle = children.spawn(["sleep", "60"])
    sampler = make_sampler()
    roots = {"hog.1": hog.pid, "idle.1": idle.pid}
    wait_until_sync(ready.exists, timeout=10)
    snapshot = sampler.sample(roots, uss_for="hog.1")
    hog_usage = snapshot.instances["hog.1"]
    assert hog_usage.rss >= 100 * MIB
    assert hog_usage.uss is not None and hog_usage.uss >= 100 * MIB
    assert snapshot.instances["idle.1"].uss is None
    assert snapshot.types["hog"].rss == hog_usage.rss
    assert snapshot.total.rss == hog_usage.rss + snapshot.instances["idle.1"].rss
    assert format_bytes(hog_usage.rss).endswith("MB")


def test_busy_grandchild_is_counted_through_the_tree(children: Children, make_sampler: Sampler) -> None:
    # sh -> python (sleeps) -> forked python (busy): only the grandchild uses CPU.
    forker = BOOST + "import time\nif os.fork() == 0:\n    while True: pass\ntime.sleep(60)"
    root = children.spawn(["sh", "-c", f'{sys.executable} -c "$0"; true', forker])
    sampler = make_sampler()
    roots = {"tree.1": root.pid}
    wait_until_sync(lambda: usage(sampler, roots, "tree.1").processes == 3, timeout=10)
    readings: list[Usage] = []

    def busy_tree() -> bool:
        readings.append(usage(sampler, roots, "tree.1"))
        return readings[-1].cpu_percent > 50.0

    wait_until_sync(busy_tree, timeout=5.0, interval=0.25)
    assert readings[-1].processes == 3
    assert cpu_seconds(root.pid) < 0.5  # the CPU really is the grandchild's


def test_instance_that_exits_disappears_without_error(children: Children, make_sampler: Sampler) -> None:
    short = children.spawn(["sleep", "60"])
    stays = children.spawn(["sleep", "60"])
    sampler = make_sampler(history=3)
    roots = {"job.1": short.pid, "job.2": stays.pid, "never.1": 2**22 + 1}
    first = sampler.sample(roots)
    assert set(first.instances) == {"job.1", "job.2"}
    assert first.types["job"].processes == 2
    os.kill(short.pid, signal.SIGKILL)
    wait_until_sync(lambda: psutil.Process(short.pid).status() == psutil.STATUS_ZOMBIE, timeout=10)
    as_zombie = sampler.sample(roots)  # exited but not yet reaped: gone all the same
    short.wait(timeout=10)
    reaped = sampler.sample(roots)
    for snapshot in (as_zombie, reaped):
        assert set(snapshot.instances) == {"job.2"}
        assert snapshot.types["job"].processes == 1
        assert snapshot.total == snapshot.instances["job.2"]
    sampler.sample(roots)
    assert len(sampler.history("job.1")) == 3  # capped, and 0.0 while its root is gone
    assert sampler.history("job.1")[-2:] == [0.0, 0.0]
    assert sampler.history("unknown.1") == []


def test_type_totals_sum_instances_in_order(children: Children, make_sampler: Sampler) -> None:
    procs = [children.spawn(["sleep", "60"]) for _ in range(3)]
    roots = {"web.1": procs[0].pid, "web.2": procs[1].pid, "worker.1": procs[2].pid}
    sampler = make_sampler()
    snapshot = sampler.sample(roots)
    assert list(snapshot.types) == ["web", "worker"]
    web = snapshot.types["web"]
    assert web.rss == snapshot.instances["web.1"].rss + snapshot.instances["web.2"].rss
    assert web.processes == 2 and web.uss is None
    assert snapshot.total.processes == 3
    assert len(sampler.type_history("web")) == 1


def test_root_with_a_different_create_time_is_a_new_process(children: Children, make_sampler: Sampler) -> None:
    busy = children.python(BUSY)
    wait_until_sync(lambda: cpu_seconds(busy.pid) >= 0.1, timeout=10)
    sampler = make_sampler()
    sampler.sample({"burn.1": busy.pid})
    # Pretend the pid used to belong to another process that had used far more CPU: trusting the
    # old reading would make the delta negative and the reading 0.0.
    remembered = sampler._seen[busy.pid]
    start = remembered.start
    remembered.start -= 1000.0
    remembered.cpu += 1e6
    reading = usage(sampler, {"burn.1": busy.pid}, "burn.1")
    assert reading.cpu_percent > 5.0
    assert sampler._seen[busy.pid].start == start


def recycle(children: Children, pid: int) -> subprocess.Popen[bytes] | None:
    """A busy child that the kernel gave ``pid`` (freed just before), or None when others kept taking it."""
    second = None
    # Put the pid counter back afterwards, so later tests never see recently freed pids handed out again.
    resume_after = int(NS_LAST_PID.read_text())
    try:
        for _ in range(20):
            NS_LAST_PID.write_text(str(pid - 1))
            candidate = children.python(BUSY)
            if candidate.pid == pid:
                second = candidate
                break
            children.kill(candidate)  # another process took the pid first; try again
    finally:
        NS_LAST_PID.write_text(str(max(resume_after, int(NS_LAST_PID.read_text()))))
    return second


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.access(NS_LAST_PID, os.W_OK),
    reason="needs a writable ns_last_pid to make the kernel recycle a pid",
)
def test_really_recycled_pid_is_not_confused_with_the_old_process(children: Children, make_sampler: Sampler) -> None:
    # The first owner uses 0.6 s of CPU and then idles; the second owner of the same pid is busy but
    # has used less than that when sampled, so mixing the two up would read 0.0.
    first = children.python("import time\nwhile time.process_time() < 0.6: pass\ntime.sleep(60)")
    wait_until_sync(lambda: cpu_seconds(first.pid) >= 0.55, timeout=15)
    sampler = make_sampler()
    pid = first.pid
    sampler.sample({"web.1": pid})
    first_cpu = cpu_seconds(pid)
    children.kill(first)
    second = recycle(children, pid)
    if second is None:
        pytest.skip("could not get the kernel to hand out the same pid again")
    wait_until_sync(lambda: cpu_seconds(pid) >= 0.05, timeout=10)
    reading = usage(sampler, {"web.1": pid}, "web.1")
    assert cpu_seconds(pid) < first_cpu, "machine too slow to sample before the second owner caught up"
    assert reading.cpu_percent > 5.0
    assert reading.processes == 1


def test_history_length_is_validated() -> None:
    with pytest.raises(ValueError):
        StatsSampler(history=0)


def test_format_bytes_picks_a_readable_unit() -> None:
    assert format_bytes(512) == "512B"
    assert format_bytes(41_234_567) == "41.2MB"
    assert format_bytes(1_300_000_000) == "1.30GB"
    assert format_bytes(2_000) == "2kB"


@pytest.mark.skipif(not HAS_PROCFS, reason="the /proc scan is Linux's")
def test_sampling_through_proc_never_imports_psutil(tmp_path: Path) -> None:
    # psutil costs the dashboard about a megabyte of memory; on Linux the /proc scan does without it.
    code = (
        "import subprocess, sys\n"
        "from procdash.core.stats import StatsSampler\n"
        "child = subprocess.Popen(['sleep', '5'])\n"
        "sampler = StatsSampler()\n"
        "sampler.sample({'s.1': child.pid})\n"
        "print(sampler.sample({'s.1': child.pid}).instances['s.1'].processes)\n"
        "child.kill(); child.wait()\n"
        "print('psutil' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert result.stdout.split() == ["1", "False"], result.stderr


# The /proc ways of reading the trees: the whole-machine scan, the walk down the children lists, and the idle
# tick that re-reads only the previous trees while no pid was allocated. "frozen" pins the pid counter the idle
# tick checks, so every tick after the first takes it and only its own checks (ppid, start time, state) are left
# to notice a change: what happens when something writes ns_last_pid.
PROCFS_WAYS = ["scan", "walk", "scan-frozen", "walk-frozen"]
PINNED = 1


def pinned() -> bool:
    """Whether this test pinned the pid counter (a real one is never 1 after boot)."""
    return stats.last_pid() == PINNED


def way_sampler(way: str, monkeypatch: pytest.MonkeyPatch) -> Sampler:
    """Builds /proc samplers that read the trees one way (skips where that way does not exist)."""
    if not HAS_PROCFS:
        pytest.skip("Linux /proc only")
    walk = way.startswith("walk")
    if walk and not stats.HAS_CHILDREN:
        pytest.skip("this kernel has no /proc/PID/task/TID/children")
    if way.endswith("frozen"):
        monkeypatch.setattr(stats, "last_pid", lambda files=None: PINNED)
    return lambda **kwargs: StatsSampler(use_procfs=True, walk=walk, **kwargs)


@pytest.fixture(params=[pytest.param(way, id=way) for way in PROCFS_WAYS])
def procfs_sampler(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Sampler:
    """Every /proc way, the pinned counter included."""
    return way_sampler(str(request.param), monkeypatch)


@pytest.fixture(params=[pytest.param(way, id=way) for way in PROCFS_WAYS if not way.endswith("frozen")])
def counting_sampler(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Sampler:
    """The /proc ways with the real pid counter, which is what tells them a process was created."""
    return way_sampler(str(request.param), monkeypatch)


FORK_ON_LINE = (
    "import os, sys, time\n"
    "sys.stdin.readline()\n"
    "if os.fork() == 0:\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "print('forked', flush=True)\n"
    "time.sleep(60)\n"
)


def say(proc: subprocess.Popen[bytes], line: bytes = b"go\n") -> bytes:
    """Send a child a line and return the line it answers with."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line)
    proc.stdin.flush()
    return proc.stdout.readline()


@pytest.mark.parametrize("idle_ticks", [0, 2])
def test_grandchild_forked_after_a_tick_is_counted_in_the_next(
    children: Children, counting_sampler: Sampler, idle_ticks: int
) -> None:
    root = children.spawn([sys.executable, "-c", FORK_ON_LINE], pipes=True)
    sampler = counting_sampler()
    roots = {"tree.1": root.pid}
    assert usage(sampler, roots, "tree.1").processes == 1
    for _ in range(idle_ticks):  # ticks with no new pid in between take the idle path
        assert usage(sampler, roots, "tree.1").processes == 1
    assert say(root) == b"forked\n"
    assert usage(sampler, roots, "tree.1").processes == 2


def test_grandchild_is_counted_through_psutil_too(children: Children) -> None:
    root = children.spawn([sys.executable, "-c", FORK_ON_LINE], pipes=True)
    sampler = StatsSampler(use_procfs=False)
    roots = {"tree.1": root.pid}
    assert usage(sampler, roots, "tree.1").processes == 1
    assert say(root) == b"forked\n"
    assert usage(sampler, roots, "tree.1").processes == 2


# root -> middle -> grandchild; the middle exits when told and the root reaps it, so the grandchild is
# reparented to the nearest subreaper (this test process, see conftest) and leaves the root's tree.
REPARENTING = (
    "import os, sys, time\n"
    "middle = os.fork()\n"
    "if middle == 0:\n"
    "    grandchild = os.fork()\n"
    "    if grandchild == 0:\n"
    "        time.sleep(60)\n"
    "        os._exit(0)\n"
    "    print(grandchild, flush=True)\n"
    "    sys.stdin.readline()\n"
    "    os._exit(0)\n"
    "os.waitpid(middle, 0)\n"
    "print('reaped', flush=True)\n"
    "time.sleep(60)\n"
)


def test_process_reparented_away_leaves_the_tree(children: Children, procfs_sampler: Sampler) -> None:
    root = children.spawn([sys.executable, "-c", REPARENTING], pipes=True)
    assert root.stdout is not None
    grandchild = int(root.stdout.readline())
    try:
        sampler = procfs_sampler()
        roots = {"tree.1": root.pid}
        assert usage(sampler, roots, "tree.1").processes == 3
        assert usage(sampler, roots, "tree.1").processes == 3
        assert sampler.path == "idle" or not pinned()
        assert say(root) == b"reaped\n"
        wait_until_sync(lambda: psutil.Process(grandchild).ppid() == os.getpid(), timeout=10)
        assert usage(sampler, roots, "tree.1").processes == 1
        assert sampler.path != "idle"  # the idle tick saw the tree change and walked it again
        assert usage(sampler, roots, "tree.1").processes == 1
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(grandchild, 0)


# A root whose child is killed; the root reaps it only when told, so the child is first a zombie, then gone.
KILLED_CHILD = (
    "import os, sys, time\n"
    "child = os.fork()\n"
    "if child == 0:\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "print(child, flush=True)\n"
    "sys.stdin.readline()\n"
    "os.waitpid(child, 0)\n"
    "print('reaped', flush=True)\n"
    "time.sleep(60)\n"
)


def test_killed_process_disappears_as_a_zombie_and_once_reaped(children: Children, procfs_sampler: Sampler) -> None:
    root = children.spawn([sys.executable, "-c", KILLED_CHILD], pipes=True)
    assert root.stdout is not None
    child = int(root.stdout.readline())
    sampler = procfs_sampler()
    roots = {"tree.1": root.pid}
    assert usage(sampler, roots, "tree.1").processes == 2
    assert usage(sampler, roots, "tree.1").processes == 2
    assert sampler.path == "idle" or not pinned()
    os.kill(child, signal.SIGKILL)
    wait_until_sync(lambda: psutil.Process(child).status() == psutil.STATUS_ZOMBIE, timeout=10)
    assert usage(sampler, roots, "tree.1").processes == 1
    assert sampler.path != "idle"
    assert usage(sampler, roots, "tree.1").processes == 1
    assert say(root) == b"reaped\n"
    assert usage(sampler, roots, "tree.1").processes == 1
    assert usage(sampler, roots, "tree.1").processes == 1
    assert sampler.path == "idle" or not pinned()  # settled again


@pytest.mark.skipif(not HAS_PROCFS, reason="Linux /proc only")
def test_idle_tick_and_full_scan_give_the_same_usage(children: Children, monkeypatch: pytest.MonkeyPatch) -> None:
    # Sleepers and a shell with a child: nothing runs between the ticks, so CPU is 0.0 on both sides and
    # RSS does not move; the pid counter is pinned so the second tick surely takes the idle path.
    procs = [children.spawn(["sleep", "60"]) for _ in range(3)]
    procs.append(children.spawn(["sh", "-c", "sleep 60; true"]))
    roots = {f"job.{i + 1}": proc.pid for i, proc in enumerate(procs)}
    wait_until_sync(lambda: len(psutil.Process(procs[-1].pid).children()) == 1, timeout=10)
    everyone = [psutil.Process(proc.pid) for proc in procs] + psutil.Process(procs[-1].pid).children()
    # Settled: every sleep is past its start-up (which uses CPU and grows RSS) and waits in the kernel.
    wait_until_sync(
        lambda: all(p.status() == psutil.STATUS_SLEEPING and p.name() in ("sleep", "sh") for p in everyone),
        timeout=10,
    )
    monkeypatch.setattr(stats, "last_pid", lambda files=None: PINNED)
    idle = StatsSampler(use_procfs=True)
    full = StatsSampler(use_procfs=True, walk=False, idle=False)
    idle.sample(roots)
    full.sample(roots)
    fast = idle.sample(roots)
    scanned = full.sample(roots)
    assert idle.path == "idle" and full.path == "scan"
    assert fast.instances == scanned.instances
    assert fast.instances["job.4"].processes == 2
    assert fast.total == scanned.total


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.access(NS_LAST_PID, os.W_OK),
    reason="needs a writable ns_last_pid to make the kernel recycle a pid",
)
def test_pid_recycled_between_two_idle_ticks_is_a_new_process(
    children: Children, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the test above, but the pid counter is pinned (as a write to ns_last_pid can leave it): only the
    # start-time check of the idle tick can tell the second owner from the first.
    monkeypatch.setattr(stats, "last_pid", lambda files=None: PINNED)
    first = children.python("import time\nwhile time.process_time() < 0.6: pass\ntime.sleep(60)")
    wait_until_sync(lambda: cpu_seconds(first.pid) >= 0.55, timeout=15)
    sampler = StatsSampler(use_procfs=True)
    pid = first.pid
    sampler.sample({"web.1": pid})
    sampler.sample({"web.1": pid})
    assert sampler.path == "idle"
    first_cpu = cpu_seconds(pid)
    children.kill(first)
    second = recycle(children, pid)
    if second is None:
        pytest.skip("could not get the kernel to hand out the same pid again")
    wait_until_sync(lambda: cpu_seconds(pid) >= 0.05, timeout=10)
    reading = usage(sampler, {"web.1": pid}, "web.1")
    assert sampler.path != "idle"
    assert cpu_seconds(pid) < first_cpu, "machine too slow to sample before the second owner caught up"
    assert reading.cpu_percent > 5.0
    assert reading.processes == 1


@pytest.mark.skipif(not stats.HAS_CHILDREN, reason="the walk down /proc children lists is Linux's")
def test_stat_files_are_held_for_the_trees_only_and_closed_with_the_sampler(children: Children) -> None:
    def open_count() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_count()
    procs = [children.spawn(["sleep", "60"]) for _ in range(3)]
    roots = {f"job.{i + 1}": proc.pid for i, proc in enumerate(procs)}
    sampler = StatsSampler(use_procfs=True, ports=False)
    sampler.sample(roots)
    assert open_count() == before + 3 + 1  # one stat file per process and /proc/loadavg, kept for the next tick
    children.kill(procs[0])
    assert set(sampler.sample(roots).instances) == {"job.2", "job.3"}
    assert open_count() == before + 2 + 1  # the gone process's file is closed
    limited = StatsSampler(use_procfs=True, ports=False)
    limited._files = stats.StatFiles(limit=1)
    assert limited.sample(roots).total.processes == 2
    assert open_count() == before + 3 + 2
    limited.close()
    assert open_count() == before + 2 + 1
    del sampler
    assert open_count() == before


def test_a_reading_that_stands_for_several_intervals_fills_each_of_their_slots(
    children: Children, make_sampler: Sampler
) -> None:
    sleeper = children.spawn(["sleep", "30"])
    sampler = make_sampler()
    roots = {"idle.1": sleeper.pid}
    sampler.sample(roots)
    sampler.sample(roots, slots=3)
    assert len(sampler.history("idle.1")) == 4
    assert len(sampler.type_history("idle")) == 4
    assert sampler.history("idle.1")[1:] == [sampler.history("idle.1")[-1]] * 3
