"""Control server costs: status latency, and what a log follower costs the loop (vs no server, same run)."""

from __future__ import annotations

import asyncio
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from procdash.control import protocol as p
from procdash.control.client import ControlClient
from procdash.control.server import ControlServer
from procdash.core.procfile import ProcessType
from procdash.core.supervisor import Supervisor, SupervisorOptions

LINES = 200_000
RUNS = 5


def supervisor(root: Path, procfile: dict[str, str], counts: dict[str, int]) -> Supervisor:
    """A supervisor over an in-memory Procfile."""
    types = [ProcessType(n, c, i + 1) for i, (n, c) in enumerate(procfile.items())]
    return Supervisor(types, counts, root=root, dotenv={}, base_port=5000, options=SupervisorOptions(timeout=2))


def follower_thread(path: Path, counted: list[int], ready: threading.Event) -> None:
    """Follow burst.1 over the socket in a thread, counting lines received."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(path))
    sock.sendall(p.encode(p.request("logs", name="burst.1", lines=0, follow=True)))
    ready.set()
    buf = b""
    total = 0
    while True:
        data = sock.recv(1 << 20)
        if not data:
            break
        buf += data
        *complete, buf = buf.split(b"\n")
        for line in complete:
            total += line.count(b'","') + 1 if b'"lines"' in line else 0
        counted[0] = total


async def burst(root: Path, mode: str) -> float:
    """Seconds for one 200k-line burst with no server, an idle server, or a following client."""
    go = root / "go"
    go.unlink(missing_ok=True)
    sup = supervisor(
        root, {"burst": f"while [ ! -e go ]; do sleep 0.01; done; seq 1 {LINES}; exec sleep 60"}, {"burst": 1}
    )
    server = None
    sup.start()
    counted = [0]
    if mode != "none":
        server = ControlServer(root / "Procfile", root, path=root / "b.sock")
        server.bind()
        await server.start(sup)
    if mode == "follower":
        assert server is not None and server.path is not None
        ready = threading.Event()
        threading.Thread(target=follower_thread, args=(server.path, counted, ready), daemon=True).start()
        ready.wait(5)
        while server.client_count == 0 or not any(c.streaming for c in server._connections):
            await asyncio.sleep(0.005)
    inst = sup.find("burst.1")
    assert inst is not None
    start = time.perf_counter()
    go.touch()
    while inst.log.next_seq < LINES:
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - start
    if mode == "follower":
        deadline = time.monotonic() + 30
        while counted[0] < LINES and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - start
        assert counted[0] >= LINES, counted[0]
    await sup.stop_all()
    if server is not None:
        await server.stop()
    sup.close()
    return elapsed


async def status_latency(root: Path, instances: int, calls: int) -> float:
    """Median seconds for one status round trip with this many instances."""
    sup = supervisor(root, {"web": "exec sleep 60"}, {"web": instances})
    sup.start()
    server = ControlServer(root / "Procfile", root, path=root / "s.sock")
    server.bind()
    await server.start(sup)
    assert server.path is not None

    def client_calls() -> list[float]:
        """Time status calls from a blocking client thread."""
        times = []
        with ControlClient(server.path) as client:  # type: ignore[arg-type]
            for _ in range(calls):
                t = time.perf_counter()
                client.call("status")
                times.append(time.perf_counter() - t)
        return times

    times = await asyncio.to_thread(client_calls)
    await sup.stop_all()
    await server.stop()
    sup.close()
    return statistics.median(times)


def main() -> None:
    """Run every case and print the table."""
    root = Path(tempfile.mkdtemp(prefix="pdb-"))
    rows = []
    base = [asyncio.run(burst(root, "none")) for _ in range(RUNS)]
    idle = [asyncio.run(burst(root, "server")) for _ in range(RUNS)]
    follow = [asyncio.run(burst(root, "follower")) for _ in range(RUNS)]
    b = statistics.median(base)
    for name, values in (
        ("no control server (baseline)", base),
        ("server, no clients", idle),
        ("server + 1 follower", follow),
    ):
        m = statistics.median(values)
        rows.append((name, f"{m * 1e3:.0f} ms", f"{LINES / m / 1e3:.0f}k lines/s", f"{m / b:.2f}x"))
    print(f"{LINES} lines from one process, median of {RUNS}")
    print(f"{'case':<30} {'time':>9} {'rate':>16} {'vs base':>8}")
    for r in rows:
        print(f"{r[0]:<30} {r[1]:>9} {r[2]:>16} {r[3]:>8}")
    for n in (5, 50):
        lat = asyncio.run(status_latency(root, n, 200))
        print(f"status round trip, {n} instances: median {lat * 1e3:.2f} ms over 200 calls")


if __name__ == "__main__":
    main()
