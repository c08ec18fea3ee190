"""The dashboard's second: a loop callback on the shared beat that keeps ticking, and reports what fails."""

from __future__ import annotations

import asyncio
import contextvars

from procdash.ui.ticker import Ticker

INTERVAL = 0.02
MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="")


async def test_ticks_fall_on_beats_in_the_starting_context_and_an_error_does_not_stop_them() -> None:
    loop = asyncio.get_running_loop()
    ticks: list[tuple[float, str]] = []
    errors: list[Exception] = []
    done = asyncio.Event()

    def tick() -> None:
        ticks.append((loop.time(), MARK.get()))
        if len(ticks) == 2:
            raise RuntimeError("the second tick fails")
        if len(ticks) == 4:
            done.set()

    MARK.set("app")
    ticker = Ticker(INTERVAL, tick, errors.append)
    ticker.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        ticker.stop()
    assert [str(error) for error in errors] == ["the second tick fails"]
    assert [mark for _, mark in ticks] == ["app"] * 4
    # Each tick ran at or after a beat of its own: never two in one beat, never before one.
    beats = [int(at / INTERVAL + 1e-6) for at, _ in ticks]
    assert beats == sorted(set(beats)), beats


async def test_a_stopped_ticker_ticks_no_more() -> None:
    ticks: list[int] = []
    ticker = Ticker(INTERVAL, lambda: ticks.append(1), lambda error: None)
    ticker.start()
    ticker.stop()
    await asyncio.sleep(INTERVAL * 5)
    assert ticks == []
