"""The sampling pace: each second while readings move, every other second once they have read alike a while."""

from __future__ import annotations

import time

import pytest

from procdash.core import events as ev
from procdash.core.stats import Snapshot, Usage
from procdash.ui import sampling
from procdash.ui.pace import SamplePace
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp, all_running, hold_still
from tests.ui.test_idle import SLEEPERS


def snapshot(cpu: float = 0.0, rss: int = 1000) -> Snapshot:
    """A reading of one instance."""
    usage = Usage(cpu, rss, 1)
    return Snapshot(time.monotonic(), {"web.1": usage}, {"web": usage}, usage)


def seconds(pace: SamplePace, count: int) -> list[bool]:
    """Which of the next ``count`` seconds take a reading (each one taken reads as before)."""
    taken = []
    for _ in range(count):
        due = pace.due()
        taken.append(due)
        if due:
            pace.slots()
            pace.read(snapshot())
    return taken


def test_readings_that_read_alike_slow_the_pace_to_every_other_second() -> None:
    pace = SamplePace(still_after=3, still_every=2)
    # The first reading is new; three more alike make it still; then every other second.
    assert seconds(pace, 4) == [True] * 4
    assert seconds(pace, 6) == [False, True] * 3


def test_a_reading_that_differs_or_an_event_restores_each_second() -> None:
    pace = SamplePace(still_after=2, still_every=2)
    seconds(pace, 5)
    assert pace.still >= 2
    assert pace.due() is False
    assert pace.due() is True
    assert pace.slots() == 2  # it stands for the skipped second too
    pace.read(snapshot(cpu=3.0))  # something ran: the screen changes
    assert pace.still == 0
    assert seconds(pace, 3) == [True] * 3
    pace.moved()  # a line, a start, an exit
    assert pace.still == 0 and pace.due() is True


def test_cpu_shown_to_a_tenth_and_every_byte_of_memory_count_as_change() -> None:
    pace = SamplePace(still_after=1, still_every=2)
    pace.read(snapshot(cpu=0.01))
    pace.read(snapshot(cpu=0.04))  # both read 0.0% in the table
    assert pace.still == 1
    pace.read(snapshot(cpu=0.04, rss=1001))
    assert pace.still == 0


async def test_a_still_dashboard_reads_every_other_second_and_an_event_brings_back_each_second(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[int] = []
    collect = sampling.collect  # type: ignore[attr-defined]

    def recorded(sampler: object, roots: object, slots: int = 1) -> object:
        taken.append(slots)
        return collect(sampler, roots, slots)  # type: ignore[arg-type]

    monkeypatch.setattr(sampling, "collect", recorded)
    app = make_app(SLEEPERS, formation="web=2", stats_interval=1.0)
    async with app.run_test(size=(120, 30)):
        await all_running(app, 2)
        hold_still(app)  # the test plays the seconds itself

        async def second() -> None:
            count = len(taken)
            app._tick()
            if len(taken) > count:
                await wait_until(lambda: not app._sampling)

        # Sleepers read alike after their first readings (a process's first is its average since it began).
        for _ in range(30):
            await second()
            if app.pace.still >= app.pace.still_after:
                break
        assert app.pace.still >= app.pace.still_after
        before = len(taken)
        for _ in range(6):
            await second()
        assert len(taken) - before == 3
        assert taken[-3:] == [2, 2, 2]  # each reading fills the second skipped before it
        history = app.metrics.history["web.1"] if app.metrics is not None else []
        assert len(history) == sum(taken)
        app._on_event(ev.Notice("a line, a start, an exit"))
        before = len(taken)
        for _ in range(2):
            await second()
        assert len(taken) - before == 2
