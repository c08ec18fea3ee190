"""Whether a child is blocked reading its terminal, told from /proc: the syscall it sleeps in and its fds.

Why this and not termios or wchan: a pty's termios says how a line is edited, not whether anyone
reads it (a quiet readline REPL and a busy one look the same), and ``wchan`` names the kernel function
(``wait_woken``, ``poll_schedule_timeout``, ``ep_poll``) but not the file. ``/proc/PID/syscall`` gives the
syscall and its arguments, and with ``/proc/PID/fd``, ``fdinfo`` and ``mem`` that names the files it waits
on: a ``read`` of the tty (sh ``read``, ``cat``, Python's ``input()`` without readline), a ``select`` or
``poll`` whose read set holds the tty (readline: ``pdb``, ``breakpoint()``) or an ``epoll`` set that holds
it (node's readline, any libuv or asyncio program reading stdin). Only the pty's foreground process
group counts, as only it may read the terminal. A quiet HTTP server polls sockets, a worker in
``time.sleep`` sits in ``clock_nanosleep``, a blocked writer in ``write``: none of them is a read of the tty.
These files need ptrace-level access, which a parent has over its descendants; where it is refused the
caller gets None and falls back to a prompt heuristic.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import termios

MAX_PROCESSES = 256  # a fork bomb in one pty must not make a check walk thousands of processes
MAX_POLL_FDS = 1024
POLLIN = 0x001
EPOLLIN = 0x001
TIOCGPTN = getattr(termios, "TIOCGPTN", 0x80045430)  # Python's termios does not always export it

# Syscall numbers differ per architecture; the ones that can wait for a tty to become readable.
_SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "read": 0,
        "readv": 19,
        "select": 23,
        "pselect6": 270,
        "poll": 7,
        "ppoll": 271,
        "epoll_wait": 232,
        "epoll_pwait": 281,
        "epoll_pwait2": 441,
    },
    "aarch64": {"read": 63, "readv": 65, "pselect6": 72, "ppoll": 73, "epoll_pwait": 22, "epoll_pwait2": 441},
}
_NUMBERS = {number: name for name, number in _SYSCALLS.get(os.uname().machine, {}).items()}


def pty_path(master_fd: int) -> str | None:
    """The path of the slave side of a pty master (``/dev/pts/N``), or None if it is not one."""
    try:
        raw = fcntl.ioctl(master_fd, TIOCGPTN, b"\0\0\0\0")
    except OSError:
        return None
    return f"/dev/pts/{struct.unpack('I', raw)[0]}"


def foreground_group(master_fd: int) -> int | None:
    """The pty's foreground process group (the only one the terminal lets read), or None."""
    try:
        return os.tcgetpgrp(master_fd)
    except OSError:
        return None


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and process group from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split(b" ", 4)
    if len(fields) < 4:
        return None
    return fields[0].decode("ascii", "replace"), int(fields[2])


def _children(pid: int) -> list[int]:
    """The children of a process's main thread."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as handle:
            return [int(part) for part in handle.read().split()]
    except (OSError, ValueError):
        return []


def session_processes(leader: int) -> list[int]:
    """The leader and its descendants (breadth first, bounded)."""
    found = [leader]
    index = 0
    while index < len(found) and len(found) < MAX_PROCESSES:
        found.extend(_children(found[index]))
        index += 1
    return found[:MAX_PROCESSES]


def _fd_is(pid: int, fd: int, path: str) -> bool:
    """Whether a process's fd refers to ``path``."""
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}") == path
    except OSError:
        return False


def _read_memory(pid: int, address: int, size: int) -> bytes | None:
    """Bytes of a stopped-in-syscall process's memory (the fd sets it passed to select or poll)."""
    if address == 0 or size <= 0:
        return None
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as handle:
            handle.seek(address)
            return handle.read(size)
    except (OSError, OverflowError, ValueError):
        return None


def _select_fds(pid: int, nfds: int, readfds: int) -> list[int]:
    """The fds in a select() read set."""
    nfds = min(nfds, MAX_POLL_FDS)
    bitmap = _read_memory(pid, readfds, (nfds + 7) // 8)
    if bitmap is None:
        return []
    return [fd for fd in range(nfds) if bitmap[fd // 8] >> (fd % 8) & 1]


def _poll_fds(pid: int, pollfds: int, nfds: int) -> list[int]:
    """The fds a poll() waits to read."""
    nfds = min(nfds, MAX_POLL_FDS)
    data = _read_memory(pid, pollfds, 8 * nfds)
    if data is None:
        return []
    return [fd for fd, events, _ in struct.iter_unpack("ihh", data[: len(data) // 8 * 8]) if events & POLLIN]


def _epoll_fds(pid: int, epfd: int) -> list[int]:
    """The fds an epoll instance watches for reading, from its fdinfo (``tfd: N events: HEX``)."""
    try:
        with open(f"/proc/{pid}/fdinfo/{epfd}", "rb") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    fds = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[0] == b"tfd:" and parts[2] == b"events:":
            with contextlib.suppress(ValueError):
                if int(parts[3], 16) & EPOLLIN:
                    fds.append(int(parts[1]))
    return fds


def reading_fds(pid: int) -> list[int] | None:
    """The fds a sleeping process waits to read, [] if it waits for something else, None if unreadable."""
    try:
        with open(f"/proc/{pid}/syscall", "rb") as handle:
            fields = handle.read().split()
    except PermissionError:
        return None
    except OSError:
        return []
    if len(fields) < 4 or not fields[0].lstrip(b"-").isdigit():
        return []  # "running", or a process stopped outside any syscall
    name = _NUMBERS.get(int(fields[0]))
    try:
        args = [int(value, 16) for value in fields[1:7]]
    except ValueError:
        return []
    if name in ("read", "readv"):
        return [args[0]]
    if name in ("select", "pselect6"):
        return _select_fds(pid, args[0], args[1])
    if name in ("poll", "ppoll"):
        return _poll_fds(pid, args[0], args[1])
    if name in ("epoll_wait", "epoll_pwait", "epoll_pwait2"):
        return _epoll_fds(pid, args[0])
    return []


def blocked_on_tty(leader: int, master_fd: int, tty: str) -> bool | None:
    """Whether a process of the pty's foreground group sleeps waiting to read the tty; None if unknowable."""
    group = foreground_group(master_fd)
    if group is None:
        return False
    unknown = False
    for pid in session_processes(leader):
        stat = _stat(pid)
        if stat is None or stat[1] != group or stat[0] != "S":
            continue
        fds = reading_fds(pid)
        if fds is None:
            unknown = True
            continue
        if any(_fd_is(pid, fd, tty) for fd in fds):
            return True
    return None if unknown else False
