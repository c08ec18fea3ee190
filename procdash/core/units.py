"""Compact durations and memory sizes for tables, shared by the dashboard and ``procdash ctl``."""

from __future__ import annotations


def duration(seconds: float | None) -> str:
    """A compact uptime: 42s, 4m, 34m, 1h02m, 3d04h; empty when not running.

    Seconds show for the first minute only (a process that just restarted reads "3s"); after that an
    idle table changes once a minute, not every second, and so costs nothing to redraw in between.
    """
    if seconds is None:
        return ""
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def size(num_bytes: int | None) -> str:
    """A memory size that fits six columns: 812K, 45.2M, 1.3G."""
    if num_bytes is None:
        return ""
    value = float(num_bytes)
    for unit in ("B", "K", "M", "G"):
        if value < 1000 or unit == "G":
            if unit in ("B", "K") or value >= 100:
                return f"{value:.0f}{unit}"
            return f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"  # pragma: no cover - the loop returns at G
