"""Small helpers for tests: bounded waits and project files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path


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
