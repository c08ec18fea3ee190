"""Spawning one child in its own session with a pty (or pipes) as its controlling terminal."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import pty
import signal
import struct
import subprocess
import termios
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from procdash.core import reaper
from procdash.core.groups import group_alive as group_alive
from procdash.core.shell import exec_form

READ_SIZE = 65_536


@dataclass
class Child:
    """A running child: its Popen, the fd its output arrives on, and the pty master that anchors it."""

    popen: subprocess.Popen[bytes]
    output_fd: int
    anchor_fd: int  # pty master; closing it (or procdash dying) hangs up the child's session
    uses_pty: bool
    # In pipe mode procdash keeps the pty's slave open too, so that what a child writes to /dev/tty can
    # be read from the master (never EIO while nobody else has it open) instead of blocking the child.
    tty_slave_fd: int | None = None

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process group and session id."""
        return self.popen.pid


def spawn(
    command: str,
    *,
    env: Mapping[str, str],
    cwd: Path,
    use_pty: bool,
    size: tuple[int, int] = (120, 40),
    stop_signal: int = signal.SIGTERM,
) -> Child:
    """Start ``sh -c command`` as a session leader whose controlling terminal is a pty we hold."""
    master, slave = pty.openpty()
    try:
        _set_winsize(master, size)
        tty_path = os.ttyname(slave)
        # Opening the tty by path after setsid() makes it the controlling terminal: a tiny trampoline
        # in the shell itself, since preexec_fn is unsafe in a threaded program. When procdash dies,
        # the kernel closes the master and hangs up the whole session.
        if use_pty:
            prelude = f"exec 0<>{tty_path} 1>&0 2>&0"
            stdin, stdout = slave, slave
        else:
            prelude = f"exec 3<>{tty_path} 3>&-"
            stdin, stdout = subprocess.DEVNULL, subprocess.PIPE
        # One line, so the shell's own errors name line 1 of the user's command, not the trampoline's.
        runnable = functools.partial(_runnable, path=env.get("PATH", os.defpath), cwd=cwd)
        script = f"{prelude}; {stop_trap(stop_signal)}; {exec_form(command, runnable)}"
        popen = subprocess.Popen(
            ["/bin/sh", "-c", script],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    reaper.OWN.add(popen.pid)
    if use_pty:
        os.close(slave)
        output_fd = master
        tty_slave_fd = None
    else:
        assert popen.stdout is not None
        output_fd = popen.stdout.fileno()
        os.set_blocking(master, False)
        tty_slave_fd = slave
    os.set_blocking(output_fd, False)
    return Child(popen=popen, output_fd=output_fd, anchor_fd=master, uses_pty=use_pty, tty_slave_fd=tty_slave_fd)


def _runnable(program: str, *, path: str, cwd: Path) -> bool:
    """Whether ``exec program`` would find an executable (as the child would, from its PATH and cwd)."""
    if "/" in program:
        target = cwd / program
        return target.is_file() and os.access(target, os.X_OK)
    return _on_path(program, path)


def _on_path(program: str, path: str) -> bool:
    """Whether ``program`` is an executable in one of ``path``'s directories, by shutil.which's rule.

    Written out because importing shutil loads three compression libraries (0.7 MB) for this one call.
    """
    for directory in path.split(os.pathsep) if path else ():
        candidate = os.path.join(directory, program)
        if os.path.exists(candidate) and os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return True
    return False


def stop_trap(stop_signal: int) -> str:
    """A trap that makes a shell which stays (pipelines, lists) outlive its children on a stop signal.

    Without it the shell dies of the signal first and, as the session leader, hangs the session up,
    so the app gets SIGHUP in the middle of its graceful stop. dash runs a trap only once the foreground
    command has finished; the handler then waits for background jobs too and ends the way the command
    did (dying of the stop signal if the command did). A trap with a handler, unlike an ignored signal,
    is reset to the default in the programs the shell starts, so they still get the signal.
    """
    name = signal.Signals(stop_signal).name.removeprefix("SIG")
    number = int(stop_signal)
    handler = f"s=$?; wait; if [ $s -eq {128 + number} ]; then trap - {name}; kill -{name} $$; fi; exit $s"
    signals = name if stop_signal == signal.SIGINT else f"{name} INT"
    return f"trap '{handler}' {signals}"


def read_chunk(fd: int) -> bytes | None:
    """Read what is available: bytes, b"" when nothing is ready yet, or None at end of stream."""
    try:
        data = os.read(fd, READ_SIZE)
    except BlockingIOError:
        return b""
    except OSError as exc:
        # A pty master reads EIO once every slave is closed: that is end of stream on Linux.
        if exc.errno == errno.EIO:
            return None
        raise
    return data if data else None


def close_child_fds(child: Child) -> None:
    """Close the output pipe and the pty master; the child's session is hung up if still alive."""
    if child.popen.stdout is not None:
        with contextlib.suppress(OSError):
            child.popen.stdout.close()
    with contextlib.suppress(OSError):
        os.close(child.anchor_fd)
    if child.tty_slave_fd is not None:
        with contextlib.suppress(OSError):
            os.close(child.tty_slave_fd)


def signal_group(pgid: int, sig: int) -> bool:
    """Send a signal to a whole process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def resize(child: Child, size: tuple[int, int]) -> None:
    """Tell the child its terminal is now columns x rows; the kernel sends it SIGWINCH."""
    if child.uses_pty:
        with contextlib.suppress(OSError):
            _set_winsize(child.anchor_fd, size)


def _set_winsize(fd: int, size: tuple[int, int]) -> None:
    """Set a pty's window size."""
    columns, rows = size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


# The shell's own statuses when it cannot run the program (POSIX: 127 not found, 126 found but not run).
SHELL_STATUSES = {127: "command not found", 126: "not executable"}


def describe_status(returncode: int) -> tuple[int, str]:
    """Turn Popen's returncode into a shell-style exit code and a human description."""
    if returncode < 0:
        signum = -returncode
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return 128 + signum, name
    return returncode, SHELL_STATUSES.get(returncode, f"exit {returncode}")
