"""Small helpers for tests: bounded waits and project files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from procdash.core import events as ev
    from procdash.core.supervisor import Supervisor


async def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.01) -> None:
    """Await until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def wait_until_sync(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Block until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def write(path: Path, text: str) -> Path:
    """Write a text file (creating parents) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run_supervisor(
    sup: Supervisor, body: Callable[[Supervisor], Awaitable[None]], *, timeout: float = 60.0
) -> list[ev.Event]:
    """Start the supervisor, run ``body`` (bounded), always stop every process; returns every event seen."""
    seen: list[ev.Event] = []
    sup.subscribe(seen.append)

    async def main() -> None:
        sup.start()
        try:
            await asyncio.wait_for(body(sup), timeout)
        finally:
            await sup.stop_all()
            sup.close()

    asyncio.run(main())
    return seen


async def environ_after_exec(pid: int, program: str, timeout: float = 5.0) -> dict[str, str]:
    """A process's environment, read once it runs ``program``: a read that spans an exec can mix two."""
    comm = Path(f"/proc/{pid}/comm")
    await wait_until(lambda: comm.read_text().strip() == program, timeout=timeout)
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(): value.decode() for key, value in pairs}
