"""Supervisor tunables and the restart policy's arithmetic (exponential backoff, the fatal limit)."""

from __future__ import annotations

from dataclasses import dataclass

from procdash.core.lines import DEFAULT_MAX_LINE
from procdash.core.logbuffer import DEFAULT_SCROLLBACK

RESTART_POLICIES = ("no", "on-failure", "always")


@dataclass
class SupervisorOptions:
    """Tunables for the supervisor; the defaults follow Foreman, honcho and overmind."""

    timeout: float = 5.0
    restart: str = "no"
    use_pty: bool = True
    color: bool = True
    scrollback: int = DEFAULT_SCROLLBACK
    max_line: int = DEFAULT_MAX_LINE
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    reset_after: float = 10.0
    max_fast_failures: int = 5
    pty_size: tuple[int, int] = (120, 40)
    drain_grace: float = 0.5
    watchdog: bool = True


def wants_restart(options: SupervisorOptions, *, failed: bool) -> bool:
    """Whether the policy restarts a process that ended on its own with this outcome."""
    return options.restart == "always" or (options.restart == "on-failure" and failed)


def count_failure(options: SupervisorOptions, fast_failures: int, uptime: float) -> int:
    """The consecutive fast-failure count after one more exit (a long enough run starts a new count)."""
    return (0 if uptime >= options.reset_after else fast_failures) + 1


def backoff_delay(options: SupervisorOptions, fast_failures: int) -> float | None:
    """Seconds before the next start (1, 2, 4 ... capped), or None once the failures make it fatal."""
    if fast_failures >= options.max_fast_failures:
        return None
    return float(min(options.backoff_base * 2 ** (fast_failures - 1), options.backoff_cap))
