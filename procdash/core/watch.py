"""Following one running child on the event loop: its output until end of stream, and its exit."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from procdash.core import reaper
from procdash.core.lines import LineAssembler
from procdash.core.process import READ_SIZE, Child, group_alive, read_chunk

READS_PER_WAKEUP = 16  # a flooding child yields the loop after this many reads, so others get their turn
DRAIN_POLL = 0.02


class ChildWatch:
    """Reads a child's output into lines and reaps it; reports ``on_done`` once both have ended.

    The exit is seen through a pidfd (or polling where there is none). After the exit, output is
    drained until end of stream, but once the child's process group is gone only for ``drain_grace``
    seconds more, since an escaped daemon may hold the pty or pipe open for ever.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        child: Child,
        assembler: LineAssembler,
        *,
        on_lines: Callable[[list[str]], None],
        on_exit: Callable[[], None],
        on_done: Callable[[int], None],
        drain_grace: float,
        tty_assembler: LineAssembler | None = None,
        on_read: Callable[[list[bytes]], None] | None = None,
    ) -> None:
        self.loop = loop
        self.child = child
        self.assembler = assembler
        self.on_lines = on_lines
        self.on_exit = on_exit
        self.on_done = on_done
        self.drain_grace = drain_grace
        # Called after each read with the raw chunks: partial-line tracking and `connect` taps.
        self.on_read = on_read
        # Pipe mode only: lines a child writes to /dev/tty (a password prompt, say) join the same log.
        self.tty_assembler = tty_assembler if child.tty_slave_fd is not None else None
        self.eof = False
        self.tty_eof = self.tty_assembler is None
        self.returncode: int | None = None
        self.finished = False
        self._pidfd: int | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def reaped(self) -> bool:
        """Whether the main process has exited and been reaped (its pid may now be reused)."""
        return self.returncode is not None

    def start(self) -> None:
        """Begin watching output and exit."""
        self.loop.add_reader(self.child.output_fd, self.read)
        if self.tty_assembler is not None:
            self.loop.add_reader(self.child.anchor_fd, self.read_tty)
        try:
            self._pidfd = os.pidfd_open(self.child.pid)
        except (AttributeError, OSError):
            self._poll_exit()
            return
        self.loop.add_reader(self._pidfd, self._reap)

    def read(self) -> None:
        """Read what the child wrote (a few chunks at most, to stay fair) and publish complete lines."""
        if self.eof or self.finished:
            return
        lines: list[str] = []
        chunks: list[bytes] = []
        for _ in range(READS_PER_WAKEUP):
            data = read_chunk(self.child.output_fd)
            if data is None:
                self.loop.remove_reader(self.child.output_fd)
                self.eof = True
                lines.extend(self.assembler.flush())
                break
            if not data:
                break
            chunks.append(data)
            lines.extend(self.assembler.feed(data))
            if len(data) < READ_SIZE and not self.child.uses_pty:
                break
        if lines:
            self.on_lines(lines)
        if self.on_read is not None:
            self.on_read(chunks)
        if self.eof and self.tty_eof and self.reaped:
            self._finish()

    def read_tty(self) -> None:
        """Read what the child wrote to /dev/tty in pipe mode and publish complete lines."""
        if self.tty_assembler is None or self.tty_eof or self.finished:
            return
        lines: list[str] = []
        for _ in range(READS_PER_WAKEUP):
            data = read_chunk(self.child.anchor_fd)
            if data is None:
                # EIO: every slave is closed (ours too, after the exit), so nothing more can come.
                self.loop.remove_reader(self.child.anchor_fd)
                self.tty_eof = True
                lines.extend(self.tty_assembler.flush())
                break
            if not data:
                break
            lines.extend(self.tty_assembler.feed(data))
        if lines:
            self.on_lines(lines)
        if self.eof and self.tty_eof and self.reaped:
            self._finish()

    def _poll_exit(self) -> None:
        """Fallback exit detection for kernels without pidfd_open."""
        if self.finished or self.reaped:
            return
        if self.child.popen.poll() is not None:
            self._reap()
        else:
            self._timer = self.loop.call_later(0.05, self._poll_exit)

    def _reap(self) -> None:
        """The main process exited: reap it, let the owner deal with stragglers, then finish draining."""
        if self.reaped or self.finished:
            return
        if self._pidfd is not None:
            self.loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        returncode = self.child.popen.poll()
        self.returncode = returncode if returncode is not None else self.child.popen.wait()
        reaper.OWN.discard(self.child.pid)
        self.on_exit()
        if self.child.tty_slave_fd is not None:
            # Let the pty report end of stream once the child's own holders are gone too.
            os.close(self.child.tty_slave_fd)
            self.child.tty_slave_fd = None
        if self.eof and self.tty_eof:
            self._finish()
        else:
            self._drain(None)

    def _drain(self, group_gone_at: float | None) -> None:
        """Keep reading after the exit until end of stream, bounded once the group is gone."""
        self._timer = None
        self.read()
        self.read_tty()
        if self.finished:
            return
        now = time.monotonic()
        if group_gone_at is None and not group_alive(self.child.pid):
            group_gone_at = now
        if group_gone_at is not None and now - group_gone_at >= self.drain_grace:
            self._finish()
            return
        self._timer = self.loop.call_later(DRAIN_POLL, self._drain, group_gone_at)

    def _finish(self) -> None:
        """Stop watching, deliver the last partial line, and report the exit status once."""
        if self.finished:
            return
        self.finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rest: list[str] = []
        if self.tty_assembler is not None and not self.tty_eof:
            self.loop.remove_reader(self.child.anchor_fd)
            rest.extend(self.tty_assembler.flush())
        if not self.eof:
            self.loop.remove_reader(self.child.output_fd)
            rest.extend(self.assembler.flush())
        if rest:
            self.on_lines(rest)
        self.on_done(self.returncode if self.returncode is not None else 0)
