"""The shared beat: periodic jobs fall due on multiples of their interval, so they wake the loop together."""

from __future__ import annotations

import asyncio
import sys

import pytest

from procdash.core.beat import next_beat
from procdash.core.reaper import OrphanReaper


def test_next_beat_is_the_next_multiple_of_the_interval() -> None:
    assert next_beat(10.2, 1.0) == 11.0
    assert next_beat(11.0, 1.0) == 12.0  # on a beat: the next one, never the same instant again
    assert next_beat(0.33, 0.25) == 0.5
    assert next_beat(7.99, 4.0) == 8.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="child subreapers are Linux's")
def test_the_reaper_scans_on_the_beat() -> None:
    loop = asyncio.new_event_loop()
    reaper = OrphanReaper(interval=1.0)
    try:
        reaper.start(loop)
        timer = reaper._timer
        assert timer is not None
        assert timer.when() % 1.0 == 0.0
    finally:
        reaper.stop()
        loop.close()
