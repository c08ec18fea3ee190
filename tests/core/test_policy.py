"""The restart policy's arithmetic: who restarts, the doubling delay, the reset and the fatal limit."""

from __future__ import annotations

import pytest

from procdash.core.options import SupervisorOptions, backoff_delay, count_failure, wants_restart


@pytest.mark.parametrize(
    ("policy", "failed", "expected"),
    [("no", True, False), ("on-failure", True, True), ("on-failure", False, False), ("always", False, True)],
)
def test_who_restarts(policy: str, failed: bool, expected: bool) -> None:
    assert wants_restart(SupervisorOptions(restart=policy), failed=failed) is expected


def test_delays_double_cap_and_turn_fatal() -> None:
    opts = SupervisorOptions(backoff_base=1, backoff_cap=5, max_fast_failures=6)
    assert [backoff_delay(opts, n) for n in range(1, 7)] == [1, 2, 4, 5, 5, None]


def test_a_long_run_resets_the_failure_count() -> None:
    opts = SupervisorOptions(reset_after=10)
    assert count_failure(opts, 3, uptime=2) == 4
    assert count_failure(opts, 3, uptime=10) == 1
