"""Log pane benchmark: procdash's LogView against Textual's RichLog on the same lines, in the same run.

Run from the repository root with the project's venv:  .venv/bin/python bench/logview.py [--quick]
Every figure is a median. RichLog lays out each line as it is written (about 2k lines/s here), so it
writes a slice of the same lines and its time is scaled linearly to the full count; the table says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import RichLog

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import median, rate, ratio, seconds, table, verdict

from procdash.core.logbuffer import LogBuffer
from procdash.ui.widgets.logview import LogView

SIZE = (120, 40)
FLUSH_HZ = 25
STREAM_RATE = 50_000  # lines per second arriving during the key-latency test
TARGET_INGEST = 0.05  # "tens of ms" for 100k lines
TARGET_KEY = 0.010  # key handling while 50k lines/s arrive
KEY_INTERVAL = 0.05  # a key every 50 ms, like a held-down arrow key


def make_lines(count: int, colour: bool) -> list[str]:
    """Log-like lines of about 90 characters, optionally with the SGR colours a logger adds."""
    level = "\x1b[32mINFO\x1b[0m" if colour else "INFO"
    return [
        f"2024-05-01 12:00:{i % 60:02d} {level} worker.{i % 7} handled request id={i} path=/api/items/{i * 7} "
        f"in {i % 97} ms"
        for i in range(count)
    ]


class TimedLogView(LogView):
    """LogView that reports when a scroll key's action runs."""

    on_key_action: Callable[[], None] = staticmethod(lambda: None)

    def action_scroll_up(self) -> None:
        """Record, then scroll."""
        self.on_key_action()
        super().action_scroll_up()

    def action_scroll_down(self) -> None:
        """Record, then scroll."""
        self.on_key_action()
        super().action_scroll_down()


class TimedRichLog(RichLog):
    """RichLog that reports when a scroll key's action runs."""

    on_key_action: Callable[[], None] = staticmethod(lambda: None)

    def action_scroll_up(self) -> None:
        """Record, then scroll."""
        self.on_key_action()
        super().action_scroll_up()

    def action_scroll_down(self) -> None:
        """Record, then scroll."""
        self.on_key_action()
        super().action_scroll_down()


class Bench(App[None]):
    """A screen holding one widget under test."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        """Just the widget."""
        yield self.widget


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def frame(widget: Widget) -> None:
    """Draw every row of the viewport, as Textual does for a full repaint."""
    for y in range(SIZE[1]):
        widget.render_line(y)


async def logview_ingest(lines: list[str], runs: int, *, wrap: bool = False, filtered: bool = False) -> float:
    """Median seconds for refresh_from_buffer to take in every line at once."""
    view = LogView()
    async with Bench(view).run_test(size=SIZE) as pilot:
        await pilot.pause()
        view.wrap = wrap
        times = []
        for _ in range(runs):
            buffer = LogBuffer(len(lines))
            view.set_buffer(buffer)
            if filtered:
                view.set_filter("worker.3")
            buffer.extend(lines)
            times.append(timed(view.refresh_from_buffer))
        return median(times)


async def richlog_ingest(lines: list[str]) -> float:
    """Seconds for RichLog to write the lines (one write per line, colours parsed as it needs)."""
    log = RichLog(max_lines=len(lines))
    async with Bench(log).run_test(size=SIZE) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        for line in lines:
            log.write(Text.from_ansi(line))
        return time.perf_counter() - start


async def frames(lines: list[str], runs: int) -> list[tuple[str, float]]:
    """Median time to draw one 120x40 frame: LogView with cold and warm caches, RichLog (always warm)."""
    view = LogView()
    results = []
    async with Bench(view).run_test(size=SIZE) as pilot:
        await pilot.pause()
        buffer = LogBuffer(len(lines))
        buffer.extend(lines)
        view.set_buffer(buffer)
        cold = []
        for _ in range(runs * 20):
            view._model.forget_drawn()
            cold.append(timed(lambda: frame(view)))
        warm = [timed(lambda: frame(view)) for _ in range(runs * 20)]
        results += [("LogView, new lines (cold cache)", median(cold)), ("LogView, redraw (warm cache)", median(warm))]
    log = RichLog(max_lines=len(lines))
    async with Bench(log).run_test(size=SIZE) as pilot:
        await pilot.pause()
        for line in lines[-2000:]:
            log.write(Text.from_ansi(line))
        await pilot.pause()
        warm = [timed(lambda: frame(log)) for _ in range(runs * 20)]
        results.append(("RichLog, redraw (lines pre-rendered)", median(warm)))
    return results


async def streaming(
    widget: Widget, lines: list[str], duration: float, per_second: int
) -> tuple[list[float], list[float], int]:
    """Key latencies and flush costs while ``per_second`` lines arrive through a FLUSH_HZ timer.

    Returns (seconds per key press, seconds per flush, lines shown).
    """
    per_flush = per_second // FLUSH_HZ
    flushes: list[float] = []
    shown = 0
    app = Bench(widget)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        buffer = LogBuffer()
        # Start with a screenful and more, so every key press really scrolls.
        if isinstance(widget, LogView):
            buffer.extend(lines)
            widget.set_buffer(buffer)
        elif isinstance(widget, RichLog):
            for line in lines[:200]:
                widget.write(Text.from_ansi(line))
        await pilot.pause()

        def flush() -> None:
            """The app's flush timer: a batch arrives and the widget takes it in."""
            nonlocal shown
            batch = [lines[(shown + i) % len(lines)] for i in range(per_flush)]
            start = time.perf_counter()
            if isinstance(widget, LogView):
                buffer.extend(batch)
                widget.refresh_from_buffer()
            elif isinstance(widget, RichLog):
                for line in batch:
                    widget.write(Text.from_ansi(line))
            flushes.append(time.perf_counter() - start)
            shown += per_flush

        timer = app.set_interval(1 / FLUSH_HZ, flush)
        widget.focus()
        await pilot.pause()
        keys: list[float] = []
        sent: deque[float] = deque()  # keys are handled in order, so the oldest unhandled is this one

        def handled() -> None:
            """A scroll key's action ran: record how long after it was sent."""
            if sent:
                keys.append(time.perf_counter() - sent.popleft())

        widget.on_key_action = handled  # type: ignore[attr-defined]
        driver = app._driver
        assert driver is not None
        end = time.perf_counter() + duration
        presses = 0
        while time.perf_counter() < end:
            # Up twice, down twice, as someone reading back a few lines would.
            key = "up" if presses % 4 < 2 else "down"
            presses += 1
            sent.append(time.perf_counter())
            event = events.Key(key, None)
            event.set_sender(app)
            driver.send_message(event)
            await asyncio.sleep(KEY_INTERVAL)
        timer.stop()
        deadline = time.perf_counter() + 10.0
        while sent and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        await pilot.pause()
    return keys, flushes, shown


def p95(values: list[float]) -> float:
    """The 95th percentile (the slow end a person notices)."""
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> int:
    """Run every part and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs, 2 s of streaming")
    parser.add_argument("--lines", type=int, default=100_000, help="lines to ingest (default 100k)")
    parser.add_argument("--richlog-lines", type=int, default=5_000, help="lines RichLog writes (scaled up)")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    stream_for = 2.0 if args.quick else 5.0
    started = time.perf_counter()
    print(f"procdash log pane benchmark: {runs} runs, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

    count = args.lines
    sample = min(args.richlog_lines, count)
    rows: list[list[object]] = []
    ingest_ok = True
    for colour in (False, True):
        lines = make_lines(count, colour)
        baseline = asyncio.run(richlog_ingest(lines[:sample])) * count / sample
        kind = "coloured" if colour else "plain"
        rows.append([f"RichLog.write, {kind} (baseline, {sample // 1000}k scaled)", seconds(baseline), "1.00x", ""])
        for label, kwargs in (("", {}), (", wrap", {"wrap": True}), (", filter", {"filtered": True})):
            took = asyncio.run(logview_ingest(lines, runs, **kwargs))
            if not kwargs:
                ingest_ok = ingest_ok and took <= TARGET_INGEST
            rows.append(
                [
                    f"LogView.refresh_from_buffer, {kind}{label}",
                    seconds(took),
                    ratio(baseline, took),
                    rate(count / took),
                ]
            )
    print()
    print(
        table(
            f"Ingest {count // 1000}k lines at once ({SIZE[0]}x{SIZE[1]})",
            ["widget", "median", "RichLog / this", "lines/s"],
            rows,
        )
    )

    frame_rows = asyncio.run(frames(make_lines(count, True), runs))
    baseline_frame = frame_rows[-1][1]
    print()
    print(
        table(
            f"Draw one {SIZE[0]}x{SIZE[1]} frame (coloured lines)",
            ["widget", "median", "vs RichLog"],
            [[label, seconds(took), ratio(took, baseline_frame)] for label, took in frame_rows],
        )
    )

    stream_rows: list[list[object]] = []
    key_ok = True
    lines = make_lines(10_000, True)
    cases: list[tuple[str, Widget, int]] = [
        ("LogView, nothing arriving", TimedLogView(), 0),
        ("RichLog (baseline)", TimedRichLog(max_lines=10_000), STREAM_RATE),
        ("LogView", TimedLogView(), STREAM_RATE),
    ]
    for name, widget, per_second in cases:
        keys, flushes, shown = asyncio.run(streaming(widget, lines, stream_for, per_second))
        if per_second and isinstance(widget, LogView):
            key_ok = median(keys) <= TARGET_KEY
        stream_rows.append(
            [
                name,
                len(keys),
                seconds(median(keys)),
                seconds(p95(keys)),
                seconds(median(flushes)) if per_second else "-",
                rate(shown / stream_for),
            ]
        )
    print()
    title = f"Key presses while {STREAM_RATE // 1000}k lines/s arrive, flushed at {FLUSH_HZ} Hz, for {stream_for:g} s"
    print(table(title, ["widget", "keys", "key median", "key p95", "flush median", "lines taken"], stream_rows))

    print()
    targets: list[list[object]] = [
        [f"ingest {count // 1000}k lines <= {seconds(TARGET_INGEST)}", rows[1][1], verdict(ingest_ok)],
        [f"key handling at 50k lines/s <= {seconds(TARGET_KEY)}", stream_rows[-1][2], verdict(key_ok)],
    ]
    print(table("Targets", ["target", "measured", ""], targets))
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")
    return 0 if ingest_ok and key_ok else 1


if __name__ == "__main__":
    sys.exit(main())
