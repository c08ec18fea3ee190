"""One beat for procdash's periodic jobs: each falls due on a multiple of its interval on the loop's clock."""

from __future__ import annotations

import math


def next_beat(now: float, interval: float) -> float:
    """The next multiple of ``interval`` on the loop's clock after ``now``.

    Jobs that keep to these beats (the orphan reaper, the dashboard's second) fall due at the same
    instant and run in one turn of the loop: an idle procdash wakes once a second, not once per job, and
    each wake-up of a process that slept is most of what idle costs.
    """
    return (math.floor(now / interval) + 1) * interval
