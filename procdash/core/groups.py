"""Whether a process group still has live members, and whether a group id still names the group registered."""

from __future__ import annotations

import os


def group_alive(pgid: int) -> bool:
    """Whether any live process is still in the group; zombies nobody has reaped yet do not count."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # Fields after the parenthesised command: state, ppid, pgrp, ...
        fields = stat[stat.rfind(b")") + 2 :].split(b" ", 3)
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def start_time(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (field 22 of its stat), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


def still_ours(pgid: int, leader_start: int | None) -> bool:
    """Whether group ``pgid`` is alive and still the one whose leader started at ``leader_start``.

    The kernel never reuses a pid while a group of that id has members, so a group whose leader has
    exited is still the same group; a leader with another start time means the id was recycled.
    """
    if not group_alive(pgid):
        return False
    if leader_start is None:
        return True
    now = start_time(pgid)
    return now is None or now == leader_start
