"""Logs on disk: every instance's lines, timestamped, in DIR/web.1.log (and a type's log_file), rotated by size.

The engine only appends each batch of lines to a queue; a writer thread of its own formats and writes
them, so a slow or full disk never stalls the formation. If the disk falls so far behind that the queue
holds ``max_pending`` lines, new lines are counted instead of queued, and the file says how many it missed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from procdash.core import events as ev
from procdash.core.errors import ConfigError
from procdash.core.lines import strip_sgr
from procdash.core.wording import describe_exit

if TYPE_CHECKING:
    from procdash.core.supervisor import Supervisor

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_KEEP = 5
FLUSH_INTERVAL = 0.2  # seconds: how stale a file may be behind what the dashboard shows
WAKE_LINES = 2000  # lines queued that wake the writer early, so a flood is written while it happens
WRITE_CHUNK = 64 * 1024  # bytes per write() call
GROUP_LINES = 256  # lines formatted at once: small enough that the buffers stay in the CPU cache
MAX_PENDING = 1_000_000  # lines queued for the writer before new ones are counted as missed
JOIN_TIMEOUT = 10.0

# (wall time, instance name, type name, lines, from procdash itself)
Batch = tuple[float, str, str, list[str], bool]


@dataclass(frozen=True)
class LogSettings:
    """Where and how logs are written: a directory for per-instance files and/or per-type files."""

    directory: Path | None = None
    type_files: dict[str, Path] | None = None  # type name -> file every instance of it writes to, named
    color: bool = False
    max_size: int = DEFAULT_MAX_SIZE
    keep: int = DEFAULT_KEEP

    @property
    def enabled(self) -> bool:
        """Whether any file is to be written."""
        return self.directory is not None or bool(self.type_files)


class RotatingFile:
    """One log file opened for appending; past ``max_size`` it becomes NAME.1 (NAME.1 becomes NAME.2 ...)."""

    def __init__(self, path: Path, max_size: int, keep: int) -> None:
        self.path = path
        self.max_size = max_size
        self.keep = keep
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.size = os.fstat(self._fd).st_size

    def write(self, data: bytes) -> None:
        """Append whole lines, rotating at a line boundary whenever the next line would pass the limit."""
        while self.size + len(data) > self.max_size:
            room = self.max_size - self.size
            cut = data.rfind(b"\n", 0, room) + 1  # the whole lines that still fit
            if cut == 0 and self.size == 0:
                cut = data.find(b"\n") + 1 or len(data)  # one line longer than the limit goes alone
            if cut:
                self._append(data[:cut])
                self.size += cut
                data = data[cut:]
            self.rotate()
            if not data:
                return
        self._append(data)
        self.size += len(data)

    def _append(self, data: bytes) -> None:
        """Every byte, resuming after a partial write (os.write releases the GIL while it waits)."""
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def rotate(self) -> None:
        """Shift NAME.k to NAME.k+1 (dropping what passes ``keep``) and start an empty NAME."""
        os.close(self._fd)
        if self.keep == 0:
            self.path.unlink(missing_ok=True)
        else:
            for index in range(self.keep - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.size = 0

    def close(self) -> None:
        """Close the file (every write went straight to the kernel)."""
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _missed_note(count: int) -> str:
    """What a file says where lines are missing because its writer fell behind."""
    return f"{count} lines were not written here: the disk fell behind (they are in the scrollback)"


class LogFiles:
    """Subscribes to a supervisor and writes its output to files from a writer thread (a Service)."""

    def __init__(self, settings: LogSettings, *, on_error: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.on_error = on_error
        if settings.directory is not None:
            try:
                settings.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the log directory: {exc.strerror}", path=str(settings.directory)
                ) from None
        self._queue: collections.deque[Batch] = collections.deque()
        self._queued = 0  # lines put in the queue (engine thread only)
        self._taken = 0  # lines taken out (writer thread only)
        self._woken = 0  # self._queued when the writer was last woken early
        self._missed: dict[str, int] = {}
        self._missed_types: dict[str, str] = {}
        self._files: dict[Path, RotatingFile] = {}
        self._paths: dict[str, Path] = {}
        self._pending: dict[Path, list[bytes]] = {}  # writer thread only
        self._sizes: dict[Path, int] = {}
        self._failed: set[Path] = set()
        self._wake = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="procdash-logfiles", daemon=True)
        self._unsubscribe: Callable[[], None] | None = None
        self.written = 0  # lines written, for tests and the bench

    def attach(self, supervisor: Supervisor) -> None:
        """Start the writer and subscribe now, before the formation starts, so no first line is missed."""
        if self._unsubscribe is None:
            self._thread.start()
            self._unsubscribe = supervisor.subscribe(self)
            if self.on_error is None:
                self.on_error = supervisor.announce_threadsafe

    async def start(self, supervisor: Supervisor) -> None:
        """Service start: attach if that has not happened yet."""
        self.attach(supervisor)

    async def stop(self) -> None:
        """Write what is queued, close every file and end the writer (without blocking the loop)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        now = time.time()
        for name, missed in self._missed.items():  # the engine is unsubscribed: nothing else touches these
            self._queue.append((now, name, self._missed_types.get(name, ""), [_missed_note(missed)], True))
        self._missed.clear()
        self._done = True
        self._wake.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, JOIN_TIMEOUT)

    # ----- engine side: constant work per event --------------------------------------------------------

    def __call__(self, event: ev.Event) -> None:
        """Queue what an event means for the files; never touches the disk."""
        if isinstance(event, ev.Output):
            inst = event.instance
            self._put(inst.name, inst.type_name, event.lines, False)
        elif isinstance(event, ev.Started):
            inst = event.instance
            self._put(inst.name, inst.type_name, [f"{inst.name} started (pid {inst.pid})"], True)
        elif isinstance(event, ev.Exited):
            self._put(event.instance.name, event.instance.type_name, [describe_exit(event)], True)
        elif isinstance(event, ev.Notice) and event.instance is not None:
            self._put(event.instance.name, event.instance.type_name, [event.text], True)

    def _put(self, name: str, type_name: str, lines: list[str], system: bool) -> None:
        """Queue one batch, or count it as missed while the writer is too far behind."""
        if self._queued - self._taken > MAX_PENDING:
            self._missed[name] = self._missed.get(name, 0) + len(lines)
            self._missed_types[name] = type_name
            return
        missed = self._missed.pop(name, 0)
        now = time.time()
        if missed:
            self._queue.append((now, name, type_name, [_missed_note(missed)], True))
        self._queue.append((now, name, type_name, lines, system))
        self._queued += len(lines)
        if self._queued - self._woken >= WAKE_LINES:
            self._woken = self._queued
            self._wake.set()

    # ----- writer thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        """Drain the queue every FLUSH_INTERVAL until stopped, then once more."""
        while not self._done:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            self._drain()
        self._drain()
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def _drain(self) -> None:
        """Format everything queued and write it in pieces of about WRITE_CHUNK bytes per file.

        Batches of one instance within the same millisecond are formatted together, and whole groups go
        through C string operations: the fewer Python steps here, the less the engine thread waits for
        the GIL. Each write releases the GIL.
        """
        self._pending = {}
        self._sizes = {}
        queue = self._queue
        groups: dict[tuple[str, str], list[str]] = {}
        current = -1
        second = -1
        day = stamp = ""
        while queue:
            wall, name, type_name, lines, system = queue.popleft()
            self._taken += len(lines)
            self.written += len(lines)
            millis = int(wall * 1000)
            if millis != current:
                self._flush_groups(groups, stamp)
                current = millis
                if millis // 1000 != second:
                    second = millis // 1000
                    day = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
                stamp = f"{day}.{millis % 1000:03d}"
            if system:  # rare; written in place so it stays between the output around it
                self._flush_groups(groups, stamp)
                self._format(name, type_name, [f"[procdash] {line}" for line in lines], stamp, strip=False)
                continue
            key = (name, type_name)
            group = groups.get(key)
            if group is None:
                groups[key] = group = list(lines)
            else:
                group.extend(lines)
            if len(group) >= GROUP_LINES:
                self._format(name, type_name, group, stamp, strip=not self.settings.color)
                del groups[key]
        self._flush_groups(groups, stamp)
        for path, parts in self._pending.items():
            if parts:
                self._write(path, b"".join(parts))

    def _flush_groups(self, groups: dict[tuple[str, str], list[str]], stamp: str) -> None:
        """Format the output lines gathered for one millisecond, instance by instance."""
        strip = not self.settings.color
        for (name, type_name), lines in groups.items():
            self._format(name, type_name, lines, stamp, strip=strip)
        groups.clear()

    def _format(self, name: str, type_name: str, lines: list[str], stamp: str, *, strip: bool) -> None:
        """Prefix every line for each of the instance's files and queue the bytes for writing.

        One join makes the prefixed text (a join and a replace would copy it twice), and the prefix and
        the final newline are separate pieces that the write's b"".join puts together.
        """
        for path, head in self._targets(name, type_name, stamp):
            body = ("\n" + head).join(lines)
            if strip and "\x1b" in body:
                body = strip_sgr(body)  # the prefix has no escapes, so stripping the whole body is the same
            data = body.encode("utf-8", "replace")
            parts = self._pending.setdefault(path, [])
            parts += (head.encode(), data, b"\n")
            self._sizes[path] = size = self._sizes.get(path, 0) + len(data) + len(head) + 1
            if size >= WRITE_CHUNK:
                self._write(path, b"".join(parts))
                parts.clear()
                self._sizes[path] = 0

    def _targets(self, name: str, type_name: str, stamp: str) -> list[tuple[Path, str]]:
        """The files one instance's batch goes to, each with its line prefix."""
        targets: list[tuple[Path, str]] = []
        if self.settings.directory is not None:
            path = self._paths.get(name)
            if path is None:
                path = self._paths[name] = self.settings.directory / f"{name}.log"
            targets.append((path, stamp + " "))
        shared = self.settings.type_files.get(type_name) if self.settings.type_files else None
        if shared is not None:
            targets.append((shared, f"{stamp} {name} | "))
        return targets

    def _write(self, path: Path, data: bytes) -> None:
        """Append to one file; a failing file is reported once and skipped, never fatal."""
        if path in self._failed:
            return
        try:
            handle = self._files.get(path)
            if handle is None:
                handle = self._files[path] = RotatingFile(path, self.settings.max_size, self.settings.keep)
            handle.write(data)
        except OSError as exc:
            self._failed.add(path)
            self._files.pop(path, None)
            self._report(f"cannot write {path}: {exc.strerror or exc} (its lines stay in the scrollback)")

    def _report(self, text: str) -> None:
        """Tell the person, from the writer thread, through the loop."""
        callback = self.on_error
        if callback is not None:
            callback(text)
