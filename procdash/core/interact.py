"""Talking to running children: their unfinished line, whether they wait for input, input, raw output taps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from procdash.core import events as ev
from procdash.core.input import InputError, InputWriter
from procdash.core.instance import Instance, State
from procdash.core.waiting import blocked_on_tty, pty_path

PARTIAL_INTERVAL = 0.01  # at most 100 partial-line updates a second per process
WAIT_POLL = 0.25  # how soon a process that printed (or was typed into) is checked for a pending read
WAIT_MAX = 8.0  # a process that stays as it is gets checked ever less often, down to this: idle costs ~nothing
PROMPT_QUIET = 1.0  # fallback without /proc access: a prompt left this long counts as waiting
NO_PTY_MESSAGE = "{name} runs with --no-pty: its stdin is /dev/null, so it cannot take input (start without --no-pty)"

RawCallback = Callable[[bytes], None]
EndCallback = Callable[[str], None]


@dataclass(eq=False)
class Tap:
    """One reader of an instance's raw pty output (``procdash connect``, the suspended dashboard)."""

    on_data: RawCallback
    on_end: EndCallback


@dataclass
class _Track:
    """Per-instance bookkeeping the hub keeps beside the Instance."""

    raw: str | None = None  # the assembler's unfinished text when last looked at
    emitted_at: float = 0.0
    timer: asyncio.TimerHandle | None = None
    lines: int = 0  # batches of complete lines published this run
    lines_seen: int = 0  # ... as of the last read
    lines_mark: int = 0  # ... when the pending partial-line timer was set
    tty: str | None = None
    last_output: float = field(default_factory=time.monotonic)
    output_since_check: bool = False
    interval: float = WAIT_POLL  # between checks while nothing happens; doubles up to WAIT_MAX
    next_check: float = 0.0
    writer: InputWriter | None = None
    taps: list[Tap] = field(default_factory=list)


class InteractionHub:
    """Partial lines, waiting-for-input detection, input writing and raw taps for a supervisor's instances."""

    def __init__(self, emit: Callable[[ev.Event], None], instances: Callable[[], list[Instance]]) -> None:
        self._emit = emit
        self._instances = instances
        self._tracks: dict[int, _Track] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poll: asyncio.TimerHandle | None = None
        self._poll_at = 0.0

    # ----- lifecycle ---------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin checking quiet processes for a pending read of their terminal."""
        self._loop = loop
        if self._poll is None:
            self._schedule(WAIT_POLL)

    def close(self) -> None:
        """Stop the periodic check and every timer."""
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
        for track in self._tracks.values():
            if track.timer is not None:
                track.timer.cancel()
            if track.writer is not None:
                track.writer.close()

    def _track(self, inst: Instance) -> _Track:
        """The bookkeeping of an instance, created on first use."""
        track = self._tracks.get(id(inst))
        if track is None:
            track = self._tracks[id(inst)] = _Track()
            inst.modes.reset()  # a track lives for one run of the process
        return track

    # ----- output ------------------------------------------------------------------------------------

    def after_read(self, inst: Instance, chunks: list[bytes]) -> None:
        """A read of the child's output finished: feed raw taps, then update the unfinished line."""
        track = self._track(inst)
        if chunks:
            track.last_output = time.monotonic()
            track.output_since_check = True
            self._soon(track, track.last_output)
            for chunk in chunks:
                inst.modes.feed(chunk)
            for tap in list(track.taps):
                for chunk in chunks:
                    tap.on_data(chunk)
        with_lines = track.lines != track.lines_seen
        track.lines_seen = track.lines
        raw = inst.assembler.pending
        if raw == track.raw:
            return
        track.raw = raw
        if track.timer is not None:
            return
        delay = track.emitted_at + PARTIAL_INTERVAL - time.monotonic()
        if (delay <= 0 and not with_lines) or self._loop is None:
            # Text without a newline on its own (a prompt, an echo, a progress step): show it now.
            self._emit_partial(inst)
        else:
            track.lines_mark = track.lines
            track.timer = self._loop.call_later(max(delay, PARTIAL_INTERVAL), self._settle_partial, inst)

    def lines_done(self, inst: Instance) -> None:
        """Complete lines were published: they end the unfinished line (an Output event implies it)."""
        inst.partial = ""
        track = self._track(inst)
        track.raw = None
        track.lines += 1

    def _settle_partial(self, inst: Instance) -> None:
        """The delayed update: while lines keep completing, the unfinished text is a flood's fragment."""
        track = self._track(inst)
        track.timer = None
        if track.lines != track.lines_mark and inst.assembler.pending and self._loop is not None:
            track.lines_mark = track.lines
            track.timer = self._loop.call_later(PARTIAL_INTERVAL, self._settle_partial, inst)
            return
        self._emit_partial(inst)

    def _emit_partial(self, inst: Instance) -> None:
        """Publish the unfinished line if it differs from what subscribers last saw."""
        track = self._track(inst)
        track.timer = None
        track.emitted_at = time.monotonic()
        text = inst.assembler.partial
        if text != inst.partial:
            inst.partial = text
            self._emit(ev.Partial(inst, text))

    # ----- input -------------------------------------------------------------------------------------

    def send(self, inst: Instance, data: bytes) -> None:
        """Write bytes to the instance's terminal, as if typed; raises InputError when it cannot take them."""
        child = inst.child
        if child is None or inst.reaped or inst.state not in (State.RUNNING, State.STOPPING):
            raise InputError(f"{inst.name} is not running")
        if not child.uses_pty:
            raise InputError(NO_PTY_MESSAGE.format(name=inst.name))
        track = self._track(inst)
        if track.writer is None or track.writer.fd != child.anchor_fd or track.writer.closed:
            loop = self._loop or asyncio.get_running_loop()
            track.writer = InputWriter(loop, child.anchor_fd)
        track.writer.write(data)
        self._soon(track, time.monotonic())

    def tap(self, inst: Instance, on_data: RawCallback, on_end: EndCallback) -> Callable[[], None]:
        """Receive the instance's raw output until it ends; returns a function that stops the tap."""
        if inst.child is None or inst.reaped:
            raise InputError(f"{inst.name} is not running")
        if not inst.child.uses_pty:
            raise InputError(NO_PTY_MESSAGE.format(name=inst.name))
        tap = Tap(on_data, on_end)
        taps = self._track(inst).taps
        taps.append(tap)
        return lambda: taps.remove(tap) if tap in taps else None

    def forget(self, inst: Instance, reason: str) -> None:
        """The process ended (before its fds close): drop its writer, end taps, clear partial and waiting."""
        track = self._tracks.pop(id(inst), None)
        if track is not None:
            if track.timer is not None:
                track.timer.cancel()
            if track.writer is not None:
                track.writer.close()
            for tap in list(track.taps):
                tap.on_end(reason)
        if inst.partial:
            inst.partial = ""
            self._emit(ev.Partial(inst, ""))
        self._set_waiting(inst, False)

    # ----- waiting for input -------------------------------------------------------------------------

    def _schedule(self, delay: float) -> None:
        """Run the next round of checks after ``delay`` seconds (replacing a later one)."""
        if self._loop is None:
            return
        if self._poll is not None:
            self._poll.cancel()
        self._poll_at = time.monotonic() + delay
        self._poll = self._loop.call_later(delay, self._check_all)

    def _soon(self, track: _Track, now: float) -> None:
        """Something happened to this process: look at it again within WAIT_POLL."""
        track.interval = WAIT_POLL
        track.next_check = min(track.next_check, now + WAIT_POLL)
        if self._poll_at > now + WAIT_POLL:
            self._schedule(WAIT_POLL)

    def _check_all(self) -> None:
        """Look at the running processes that are due; then sleep until the next one is."""
        self._poll = None
        now = time.monotonic()
        due = WAIT_MAX
        for inst in self._instances():
            track = self._tracks.get(id(inst))
            if track is None or track.next_check <= now:
                self.check(inst)
                track = self._tracks.get(id(inst))
                if track is not None and track.next_check <= now:
                    track.next_check = now + WAIT_MAX  # nothing to look at (no pty, not running)
            if track is not None:
                due = min(due, max(0.05, track.next_check - now))
        self._schedule(due)

    def check(self, inst: Instance) -> None:
        """Decide whether one instance waits for input; output since the last look keeps the old answer."""
        child = inst.child
        if child is None or inst.reaped or not child.uses_pty or inst.state is not State.RUNNING:
            self._set_waiting(inst, False)
            return
        track = self._track(inst)
        now = time.monotonic()
        if track.output_since_check:
            # Busy printing (or echoing what is typed): not the moment to look.
            track.output_since_check = False
            track.interval = WAIT_POLL
            track.next_check = now + WAIT_POLL
            return
        track.next_check = now + track.interval
        track.interval = min(track.interval * 2, WAIT_MAX)
        if track.tty is None:
            track.tty = pty_path(child.anchor_fd) or ""
        blocked = blocked_on_tty(child.pid, child.anchor_fd, track.tty) if track.tty else None
        if blocked is None:
            blocked = bool(inst.partial) and time.monotonic() - track.last_output >= PROMPT_QUIET
        self._set_waiting(inst, blocked)

    def _set_waiting(self, inst: Instance, waiting: bool) -> None:
        """Change the waiting flag and tell subscribers (the prompt goes with it)."""
        if inst.waiting == waiting:
            return
        inst.waiting = waiting
        self._emit(ev.Waiting(inst, waiting, inst.partial))
        self._emit(ev.StateChanged(inst))
