"""The guardian takes down the groups procdash registered, and never a group whose id was recycled."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from procdash.core import watchdog
from procdash.core.groups import start_time


def run_guardian(registrations: str) -> None:
    """Run the guardian script as procdash does, feed it lines, then close its stdin as procdash's death would."""
    subprocess.run(
        [sys.executable, "-I", "-S", watchdog.__file__, "1"],
        input=registrations.encode(),
        timeout=15,
        check=True,
        start_new_session=True,
    )


@pytest.mark.parametrize("recycled", [False, True], ids=["same group", "recycled id"])
def test_guardian_spares_a_recycled_group_id(recycled: bool) -> None:
    group = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        start = start_time(group.pid)
        assert start is not None
        # A registration whose leader started at another time stands for a group that is gone.
        registered = start - 1 if recycled else start
        run_guardian(f"+{group.pid} {registered}\n")
        if recycled:
            assert group.poll() is None and psutil.pid_exists(group.pid)
        else:
            assert group.wait(timeout=5) == -15
    finally:
        group.kill()
        group.wait()
