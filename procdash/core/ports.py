"""TCP ports in the LISTEN state, who holds them, and which of them a process tree listens on (Linux).

The kernel's sock_diag netlink interface lists the listening TCP sockets with their local port and
inode (about 0.1 ms; reading ``/proc/net/tcp`` and ``tcp6``, the fallback, walks every connection bucket
and took 3-5 ms here even with one socket). A process's ``/proc/PID/fd/*`` links name the inodes of
the sockets it holds (``socket:[12345]``). Joining the two gives the ports a tree listens on without
psutil's per-connection objects: one query per sampler tick, then a readlink per open descriptor. The
readlinks are the dear part (a fifth of a millisecond for twenty sleepers), so ``PortCache`` repeats them only
when the listening table changed, for a new process, or every few seconds.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

NET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
LISTEN = "0A"
# A command "serves" a port when it reads PORT through the shell: $PORT or ${PORT...}.
USES_PORT = re.compile(r"\$(?:PORT\b|\{PORT\b)")


def uses_port(command: str) -> bool:
    """Whether a shell command reads $PORT, so its instance is expected to listen on it."""
    return USES_PORT.search(command) is not None


NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN_STATE = 10
NLMSG_HEADER = struct.Struct("=IHHII")
# struct inet_diag_msg: family, state, timer, retrans, then inet_diag_sockid (sport at +4, 48 bytes),
# expires, rqueue, wqueue, uid, and the inode at +68.
SPORT_AT, INODE_AT = 4, 68


def listening_sockets() -> dict[int, int]:
    """Socket inode -> local port for every TCP socket in LISTEN, IPv4 and IPv6 ({} when unreadable)."""
    try:
        with _diag_socket() as diag:
            return {**_diag_listeners(diag, socket.AF_INET, 1), **_diag_listeners(diag, socket.AF_INET6, 2)}
    except OSError:
        return listening_from_tables()


def _diag_socket() -> socket.socket:
    """A sock_diag netlink socket whose reads give up after a second (a kernel-side timeout: no poll per read)."""
    diag = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    try:
        diag.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 1, 0))
    except OSError:
        diag.close()
        raise
    return diag


def _diag_listeners(diag: socket.socket, family: int, seq: int) -> dict[int, int]:
    """One sock_diag dump of the listening TCP sockets of an address family; replies to other requests are skipped."""
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN_STATE) + bytes(48)
    header = NLMSG_HEADER.pack(
        NLMSG_HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0
    )
    found: dict[int, int] = {}
    diag.sendto(header + request, (0, 0))
    while True:
        data = diag.recv(65536)
        offset = 0
        while offset + NLMSG_HEADER.size <= len(data):
            length, kind, _, got_seq, _ = NLMSG_HEADER.unpack_from(data, offset)
            if length < NLMSG_HEADER.size:
                raise OSError("sock_diag sent a malformed reply")
            if got_seq == seq:
                if kind == NLMSG_DONE:
                    return found
                if kind == NLMSG_ERROR:
                    raise OSError("sock_diag refused the request")
                body = offset + NLMSG_HEADER.size
                (port,) = struct.unpack_from(">H", data, body + SPORT_AT)
                (inode,) = struct.unpack_from("=I", data, body + INODE_AT)
                if inode:
                    found[inode] = port
            offset += (length + 3) & ~3


class ListeningTable:
    """``listening_sockets`` through one netlink socket kept open across calls (a sampler's, once a tick).

    Creating and closing the socket each time costs more than the dump itself. Each dump carries its own
    sequence number, so the tail of a dump cut short (a timeout) cannot be taken for the next one's.
    """

    def __init__(self) -> None:
        self._diag: list[socket.socket] = []  # the open socket, if any; a list so the finalizer shares it
        self._seq = 0
        self._finalizer = weakref.finalize(self, _close_sockets, self._diag)

    def read(self) -> dict[int, int]:
        """Socket inode -> local port for every TCP socket in LISTEN ({} when unreadable)."""
        try:
            if not self._diag:
                self._diag.append(_diag_socket())
            diag = self._diag[0]
            self._seq = (self._seq + 2) % 2**31
            return {
                **_diag_listeners(diag, socket.AF_INET, self._seq + 1),
                **_diag_listeners(diag, socket.AF_INET6, self._seq + 2),
            }
        except OSError:
            self.close()  # a fresh socket next time
            return listening_from_tables()

    def close(self) -> None:
        """Close the socket."""
        _close_sockets(self._diag)


def _close_sockets(sockets: list[socket.socket]) -> None:
    """Close and forget the sockets of a ListeningTable."""
    for diag in sockets:
        diag.close()
    sockets.clear()


def listening_from_tables(tables: Iterable[str] = NET_TABLES) -> dict[int, int]:
    """The same table from ``/proc/net/tcp`` and ``tcp6`` (where netlink is not available)."""
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


# A descriptor passed over a unix socket, or a dup closed, changes what a process holds without changing
# the listening table; walking every process's descriptors again after this long bounds how late that shows.
# Both are rare (a listener handed to a worker usually goes to a new process, walked at once), and each
# walk lists the descriptors of every process of the formation.
REWALK_AFTER = 30.0


@dataclass(slots=True)
class _Held:
    """The listening sockets one process held at its last walk."""

    start: float
    inodes: frozenset[int]
    walked: float


class PortCache:
    """The ports each process tree listens on, walking a process's descriptors only when that can tell anything new.

    A process is walked again when the listening table (inode -> port) differs from the previous tick's,
    when it is new (a pid or start time not seen the previous tick), or when its last walk is older than
    ``max_age``; otherwise its listening inodes from that walk are used, filtered by the current table.
    """

    def __init__(self, max_age: float = REWALK_AFTER, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._table: Mapping[int, int] = {}
        self._held: dict[int, _Held] = {}

    def ports(
        self, trees: Mapping[str, Sequence[tuple[int, float]]], sockets: Mapping[int, int]
    ) -> dict[str, tuple[int, ...]]:
        """Tree name -> sorted ports, for trees given as (pid, start time) pairs, from a ``listening_sockets`` table."""
        if not sockets:
            # Nobody listens: nothing to walk, and the table's first listener will differ from this one.
            self._table = {}
            self._held = {}
            return {name: () for name in trees}
        now = self._clock()
        changed = sockets != self._table
        held: dict[int, _Held] = {}
        found: dict[str, tuple[int, ...]] = {}
        for name, tree in trees.items():
            ports: set[int] = set()
            for pid, start in tree:
                entry = self._held.get(pid)
                if changed or entry is None or entry.start != start or now - entry.walked > self.max_age:
                    inodes = frozenset(inode for inode in socket_inodes(pid) if inode in sockets)
                    entry = _Held(start, inodes, now)
                held[pid] = entry
                ports.update(sockets[inode] for inode in entry.inodes if inode in sockets)
            found[name] = tuple(sorted(ports))
        # Only this tick's processes are kept, so the cache stays as small as the formation.
        self._held = held
        self._table = dict(sockets)
        return found


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
