"""Listening ports from /proc matched to process trees, the port holder, and port-in-use before a start."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

from procdash.core import events as ev
from procdash.core.instance import State
from procdash.core.ports import ListeningTable, PortCache, listening_sockets, port_holder, tree_ports, uses_port
from procdash.core.stats import NO_USAGE, StatsSampler, live_roots
from procdash.core.supervisor import Supervisor
from tests.core.test_depends import free_base, inst, make, notices
from tests.helpers import run_supervisor, wait_until, wait_until_sync

LISTEN = (
    "import socket, sys, time\n"
    "s = socket.socket(socket.AF_INET6 if sys.argv[2] == '6' else socket.AF_INET)\n"
    "s.bind(('::1' if sys.argv[2] == '6' else '127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "print('listening', flush=True); time.sleep(60)\n"
)


def listener(port: int, family: str = "4") -> subprocess.Popen[bytes]:
    """A real process listening on ``port`` (IPv4 or IPv6), once it says so."""
    proc = subprocess.Popen([sys.executable, "-c", LISTEN, str(port), family], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"listening\n"
    return proc


def test_listening_table_and_tree_ports_see_ipv4_and_ipv6_listeners() -> None:
    base = free_base(2)
    four, six = listener(base), listener(base + 100, "6")
    try:
        sockets = listening_sockets()
        assert base in sockets.values() and base + 100 in sockets.values()
        assert tree_ports([four.pid], sockets) == (base,)
        assert tree_ports([six.pid], sockets) == (base + 100,)
        assert tree_ports([os.getpid()], sockets) == ()
        holder = port_holder(base)
        assert holder is not None and holder.pid == four.pid
        assert holder.describe().startswith(f"pid {four.pid} (") and "socket" in holder.describe()
        assert port_holder(base + 1) is None
    finally:
        for proc in (four, six):
            proc.kill()
            proc.wait()


def test_uses_port() -> None:
    assert uses_port("rails s -p $PORT") and uses_port("serve --port=${PORT:-3000}")
    assert not uses_port("sleep 1") and not uses_port("echo $PORTS")


def test_sampler_reports_the_ports_each_instance_tree_listens_on(tmp_path: Path) -> None:
    script = tmp_path / "l.py"
    script.write_text(LISTEN)
    sup = make({"web": f"sh -c '{sys.executable} {script} $PORT 4'", "idle": "sleep 30"}, {}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        web = inst(sup, "web.1")
        sampler = StatsSampler()

        def ports() -> tuple[int, ...]:
            return sampler.sample(live_roots(sup.instances())).instances.get("web.1", NO_USAGE).ports

        await wait_until(lambda: ports() == (web.port,))
        assert sampler.sample(live_roots(sup.instances())).instances["idle.1"].ports == ()

    run_supervisor(sup, body)


def test_an_instance_whose_port_is_taken_says_who_holds_it_and_starts_once_free(tmp_path: Path) -> None:
    sup = make({"web": "exec sleep 30 # $PORT", "worker": "sleep 30"}, {}, root=tmp_path)
    holder = listener(sup.base_port)

    async def body(sup: Supervisor) -> None:
        web = inst(sup, "web.1")
        assert web.state is State.BLOCKED and web.pid is None
        assert web.status_text.startswith(f"port {sup.base_port} is in use by pid {holder.pid} (")
        await wait_until(lambda: inst(sup, "worker.1").alive)  # a type that does not read $PORT is not checked
        holder.kill()
        holder.wait()
        await wait_until(lambda: web.alive, timeout=5)

    try:
        events = run_supervisor(sup, body)
    finally:
        holder.kill()
        holder.wait()
    assert sum(1 for text in notices(events) if text.startswith(f"web.1: port {sup.base_port} is in use by pid")) == 1
    assert any(isinstance(e, ev.Started) and e.instance.name == "web.1" for e in events)


def test_headless_line_names_the_holder(tmp_path: Path) -> None:
    base = free_base(1)
    holder = listener(base)
    (tmp_path / "Procfile").write_text("web: exec sleep 30 # $PORT\n")
    try:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "procdash"),
                "--headless",
                "--no-control",
                "-p",
                str(base),
                "--no-timestamp",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        proc.terminate()
        proc.communicate(timeout=10)
    finally:
        holder.kill()
        holder.wait()
    assert line.startswith(f"system | web.1: port {base} is in use by pid {holder.pid} (")
    wait_until_sync(lambda: port_holder(base) is None)


def test_netlink_and_proc_tables_agree() -> None:
    from procdash.core.ports import listening_from_tables

    base = free_base(2)
    four, six = listener(base), listener(base + 100, "6")
    try:
        fast, slow = listening_sockets(), listening_from_tables()
        # other programs on the machine may open or close sockets in between: compare ours
        ours = {inode: port for inode, port in fast.items() if port in (base, base + 100)}
        assert len(ours) == 2 and ours == {inode: port for inode, port in slow.items() if port in (base, base + 100)}
    finally:
        for proc in (four, six):
            proc.kill()
            proc.wait()


# Opens a listener on "open", closes it on "close", answers "ok" once done; or, given a unix socket's fd,
# keeps the descriptor it receives over it on "take".
ON_LINE = (
    "import socket, sys\n"
    "held = None\n"
    "for line in sys.stdin:\n"
    "    word = line.strip()\n"
    "    if word == 'open':\n"
    "        held = socket.socket(); held.bind(('127.0.0.1', int(sys.argv[1]))); held.listen()\n"
    "    elif word == 'take':\n"
    "        channel = socket.socket(fileno=int(sys.argv[2]))\n"
    "        held = socket.socket(fileno=socket.recv_fds(channel, 1, 1)[1][0])\n"
    "    else:\n"
    "        held.close()\n"
    "    print('ok', flush=True)\n"
)


def on_line(port: int, channel: int = -1) -> subprocess.Popen[bytes]:
    """A process that opens, takes or closes a listener on ``port`` when told."""
    fds = (channel,) if channel >= 0 else ()
    argv = [sys.executable, "-c", ON_LINE, str(port), str(channel)]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=fds)


def tell(proc: subprocess.Popen[bytes], word: str) -> None:
    """Send a word and wait for the answer."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(word.encode() + b"\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"ok\n"


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill and reap, closing the pipes."""
    proc.kill()
    proc.wait(timeout=10)
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def test_port_cache_sees_a_new_listener_and_a_closed_one_within_one_tick() -> None:
    port = free_base(1)
    proc = on_line(port)
    try:
        cache = PortCache()
        tree = {"web.1": [(proc.pid, 1.0)]}
        # Some other listener, so the table is never empty (an empty one needs no walk at all).
        with socket.socket() as other:
            other.bind(("127.0.0.1", 0))
            other.listen()
            assert cache.ports(tree, listening_sockets()) == {"web.1": ()}
            assert cache.ports(tree, listening_sockets()) == {"web.1": ()}
            tell(proc, "open")
            assert cache.ports(tree, listening_sockets()) == {"web.1": (port,)}
            assert cache.ports(tree, listening_sockets()) == {"web.1": (port,)}
            tell(proc, "close")
            assert cache.ports(tree, listening_sockets()) == {"web.1": ()}
    finally:
        stop(proc)


def test_sampler_sees_a_new_listener_and_a_closed_one_within_one_tick() -> None:
    port = free_base(1)
    proc = on_line(port)
    try:
        sampler = StatsSampler()
        roots = {"web.1": proc.pid}

        def ports() -> tuple[int, ...]:
            return sampler.sample(roots).instances["web.1"].ports

        assert ports() == ()
        assert ports() == ()
        tell(proc, "open")
        assert ports() == (port,)
        assert ports() == (port,)
        tell(proc, "close")
        assert ports() == ()
    finally:
        stop(proc)


def test_port_cache_walks_again_after_a_while_for_a_listener_passed_over_a_unix_socket() -> None:
    # The listening table does not change when a listener's descriptor moves to another process.
    port = free_base(1)
    ours, theirs = socket.socketpair(socket.AF_UNIX)
    proc = on_line(port, theirs.fileno())
    theirs.close()
    now = [100.0]
    cache = PortCache(max_age=5.0, clock=lambda: now[0])
    tree = {"web.1": [(proc.pid, 1.0)]}
    try:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", port))
            listener.listen()
            assert cache.ports(tree, listening_sockets()) == {"web.1": ()}
            socket.send_fds(ours, [b"x"], [listener.fileno()])
            tell(proc, "take")
        now[0] += 1.0
        assert cache.ports(tree, listening_sockets()) == {"web.1": ()}  # cached: not walked again yet
        now[0] += 5.0
        assert cache.ports(tree, listening_sockets()) == {"web.1": (port,)}
        # A pid that now has another start time is another process: walked at once.
        assert cache.ports({"web.1": [(proc.pid, 2.0)]}, listening_sockets()) == {"web.1": (port,)}
    finally:
        ours.close()
        stop(proc)


def test_listening_table_reuses_its_socket_and_survives_a_dump_left_unread() -> None:
    base = free_base(2)
    four, six = listener(base), listener(base + 100, "6")
    table = ListeningTable()
    try:
        first = table.read()
        assert {base, base + 100} <= set(first.values())
        (diag,) = table._diag
        assert table.read().keys() >= {inode for inode, port in first.items() if port in (base, base + 100)}
        assert table._diag == [diag]  # the same socket, tick after tick
        # Someone else's request on that socket, its reply never read: the next read must not take it for its own.
        request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 1 << 10) + bytes(48)
        diag.sendto(struct.pack("=IHHII", 16 + len(request), 20, 0x301, 999, 0) + request, (0, 0))
        assert {base, base + 100} <= set(table.read().values())
        assert {base, base + 100} <= set(table.read().values())
    finally:
        table.close()
        for proc in (four, six):
            proc.kill()
            proc.wait()
