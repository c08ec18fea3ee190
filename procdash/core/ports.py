"""TCP ports in the LISTEN state, who holds them, and which of them a process tree listens on (Linux /proc).

``/proc/net/tcp`` and ``tcp6`` list every socket with its local port, state and inode; a process's
``/proc/PID/fd/*`` links name the inodes of the sockets it holds (``socket:[12345]``). Joining the two
gives the ports a tree listens on without psutil's per-connection objects: one read of each table per
sampler tick, then a readlink per open descriptor of the tree's processes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

NET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
LISTEN = "0A"
# A command "serves" a port when it reads PORT through the shell: $PORT or ${PORT...}.
USES_PORT = re.compile(r"\$(?:PORT\b|\{PORT\b)")


def uses_port(command: str) -> bool:
    """Whether a shell command reads $PORT, so its instance is expected to listen on it."""
    return USES_PORT.search(command) is not None


def listening_sockets(tables: Iterable[str] = NET_TABLES) -> dict[int, int]:
    """Socket inode -> local port for every TCP socket in LISTEN, IPv4 and IPv6 ({} when unreadable)."""
    sockets: dict[int, int] = {}
    for table in tables:
        try:
            with open(table, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        for row in data.splitlines()[1:]:
            fields = row.split()
            # sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            if len(fields) < 10 or fields[3] != LISTEN.encode():
                continue
            port = int(fields[1].rpartition(b":")[2], 16)
            inode = int(fields[9])
            if inode:
                sockets[inode] = port
    return sockets


def socket_inodes(pid: int) -> list[int]:
    """Inodes of the sockets a process holds open; [] when it is gone or not ours to read."""
    base = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(base)
    except OSError:
        return []
    inodes: list[int] = []
    for fd in fds:
        try:
            target = os.readlink(f"{base}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.append(int(target[8:-1]))
    return inodes


def tree_ports(pids: Iterable[int], sockets: Mapping[int, int]) -> tuple[int, ...]:
    """The sorted ports the given processes listen on, from a ``listening_sockets`` table."""
    if not sockets:
        return ()
    found = {sockets[inode] for pid in pids for inode in socket_inodes(pid) if inode in sockets}
    return tuple(sorted(found))


@dataclass(frozen=True)
class Holder:
    """Who listens on a port: a pid and its command line, or None for both when it cannot be seen."""

    port: int
    pid: int | None
    command: str | None

    def describe(self) -> str:
        """ "pid 4242 (python3 -m http.server)", or "another process" when /proc does not tell."""
        if self.pid is None:
            return "another process (not visible to procdash)"
        return f"pid {self.pid} ({self.command})" if self.command else f"pid {self.pid}"


def port_holder(port: int) -> Holder | None:
    """Who listens on ``port`` on this machine, or None when nobody does.

    Looking for the holder means reading every process's descriptors, so it is done only once the
    cheap LISTEN table says the port is taken.
    """
    inodes = {inode for inode, listened in listening_sockets().items() if listened == port}
    if not inodes:
        return None
    try:
        entries = os.listdir("/proc")
    except OSError:
        return Holder(port, None, None)
    for entry in entries:
        if entry.isdigit() and inodes.intersection(socket_inodes(int(entry))):
            return Holder(port, int(entry), _command_line(int(entry)))
    return Holder(port, None, None)


def _command_line(pid: int, limit: int = 60) -> str | None:
    """A process's command line with spaces between arguments, cut to ``limit`` characters."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    text = raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
    return text if len(text) <= limit else text[: limit - 1] + "…"
