"""Supervisor tunables and the restart policy's arithmetic (exponential backoff, the fatal limit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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


class Policy(Protocol):
    """What the restart arithmetic reads: SupervisorOptions, or one type's RestartPolicy."""

    @property
    def restart(self) -> str: ...
    @property
    def backoff_base(self) -> float: ...
    @property
    def backoff_cap(self) -> float: ...
    @property
    def reset_after(self) -> float: ...
    @property
    def max_fast_failures(self) -> int: ...


@dataclass(frozen=True)
class RestartPolicy:
    """One type's restart policy: procdash's options with that type's Procfile.toml overrides."""

    restart: str
    backoff_base: float
    backoff_cap: float
    reset_after: float
    max_fast_failures: int


def policy_for(
    options: SupervisorOptions,
    *,
    restart: str | None = None,
    max_restarts: int | None = None,
    backoff: tuple[float, float] | None = None,
) -> RestartPolicy:
    """The policy of a type: ``max_restarts`` quick restarts in a row are allowed, the next failure is fatal."""
    base, cap = backoff if backoff is not None else (options.backoff_base, options.backoff_cap)
    return RestartPolicy(
        restart=restart if restart is not None else options.restart,
        backoff_base=base,
        backoff_cap=cap,
        reset_after=options.reset_after,
        max_fast_failures=max_restarts + 1 if max_restarts is not None else options.max_fast_failures,
    )


def wants_restart(options: Policy, *, failed: bool) -> bool:
    """Whether the policy restarts a process that ended on its own with this outcome."""
    return options.restart == "always" or (options.restart == "on-failure" and failed)


def count_failure(options: Policy, fast_failures: int, uptime: float) -> int:
    """The consecutive fast-failure count after one more exit (a long enough run starts a new count)."""
    return (0 if uptime >= options.reset_after else fast_failures) + 1


def backoff_delay(options: Policy, fast_failures: int) -> float | None:
    """Seconds before the next start (1, 2, 4 ... capped), or None once the failures make it fatal."""
    if fast_failures >= options.max_fast_failures:
        return None
    return float(min(options.backoff_base * 2 ** (fast_failures - 1), options.backoff_cap))
