"""Words, colours and compact numbers the dashboard shows for states, uptimes, ports and resources."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from procdash.core.instance import LIVE_STATES, Instance, State
from procdash.core.units import duration as duration
from procdash.core.units import size as size

# One colour per type, in Procfile order: no red (the dashboard keeps it for crashes), and magenta,
# which Textual's dark themes draw close to red, only after every other colour.
UI_PALETTE = ("36", "33", "32", "34", "96", "93", "92", "94", "35", "95")
_SGR_TO_RICH = {
    "32": "green",
    "33": "yellow",
    "34": "blue",
    "35": "magenta",
    "36": "cyan",
    "92": "bright_green",
    "93": "bright_yellow",
    "94": "bright_blue",
    "95": "bright_magenta",
    "96": "bright_cyan",
}
SPARK_CHARS = " ▁▂▃▄▅▆▇█"
# A sparkline's top is at least this CPU%, so idle noise stays flat instead of filling the column.
SPARK_FLOOR = 10.0

STATE_STYLES = {
    State.STARTING: "yellow",
    State.RUNNING: "green",
    State.STOPPING: "yellow",
    State.STOPPED: "dim",
    State.EXITED: "dim",
    State.CRASHED: "bold red",
    State.BACKOFF: "bold magenta",
    State.FATAL: "bold white on red",
    State.WAITING: "cyan",
    State.BLOCKED: "bold red",
    State.UNREADY: "bold yellow",
}
WAITING_STYLE = "bold black on cyan"
# Short words for a type row that mixes states; the worst state colours the summary.
_SHORT = {
    State.STARTING: "starting",
    State.RUNNING: "up",
    State.STOPPING: "stopping",
    State.STOPPED: "stopped",
    State.EXITED: "exited",
    State.CRASHED: "crashed",
    State.BACKOFF: "retry",
    State.FATAL: "fatal",
    State.WAITING: "waiting",
    State.BLOCKED: "blocked",
    State.UNREADY: "unready",
}
_SEVERITY = [
    State.FATAL,
    State.BLOCKED,
    State.CRASHED,
    State.UNREADY,
    State.BACKOFF,
    State.STOPPING,
    State.STARTING,
    State.WAITING,
    State.RUNNING,
    State.EXITED,
    State.STOPPED,
]


def type_sgr(type_index: int) -> str:
    """The SGR colour code of a type."""
    return UI_PALETTE[type_index % len(UI_PALETTE)]


def type_color(type_index: int) -> str:
    """The rich colour name of a type."""
    return _SGR_TO_RICH.get(type_sgr(type_index), "default")


def state_words(inst: Instance) -> str:
    """The worded state of an instance: running, exited 0, crashed (SIGSEGV), retry in 4s, fatal (exit 3)."""
    state = inst.state
    if state is State.EXITED:
        return f"exited {inst.exit_code if inst.exit_code is not None else 0}"
    if state is State.CRASHED:
        return f"crashed ({inst.exit_description or 'failed'})"
    if state is State.BACKOFF:
        wait = inst.retry_in
        return f"retry in {math.ceil(wait)}s" if wait is not None else "retry soon"
    if state is State.FATAL:
        return f"fatal ({inst.exit_description})" if inst.exit_description else "fatal"
    if state is State.RUNNING and inst.waiting:
        return "ready · waiting for input" if inst.ready else "running · waiting for input"
    if state is State.RUNNING and inst.ready:
        return "ready ✓"
    return inst.status_text


def state_text(inst: Instance) -> Text:
    """The worded state in its colour (waiting for input stands out: someone has to answer it)."""
    style = WAITING_STYLE if inst.state is State.RUNNING and inst.waiting else STATE_STYLES[inst.state]
    return Text(state_words(inst), style=style)


def type_state_text(states: Sequence[State], desired: int) -> Text:
    """A type row's summary: "2 running" when all agree, else counts per state like "1 up, 1 crashed"."""
    if not states:
        return Text("scaled to 0" if desired == 0 else "pending", style="dim")
    counts = {state: states.count(state) for state in _SEVERITY if state in states}
    worst = next(iter(counts))
    if len(counts) == 1:
        word = str(worst.value) if worst is not State.BACKOFF else "in backoff"
        return Text(f"{counts[worst]} {word}", style=STATE_STYLES[worst])
    text = Text()
    for index, (state, count) in enumerate(counts.items()):
        if index:
            text.append(", ", style="dim")
        text.append(f"{count} {_SHORT[state]}", style=STATE_STYLES[state])
    return text


def exit_text(inst: Instance) -> str:
    """The last exit as a code (1) or a signal name (SIGSEGV), as history ("was 1") while a new run is live."""
    if inst.exit_code is None:
        return ""
    description = inst.exit_description
    text = description[5:] if description.startswith("exit ") else description or str(inst.exit_code)
    return f"was {text}" if inst.state in LIVE_STATES else text


def percent(value: float | None) -> str:
    """A CPU percentage (100 = one core): 0.4%, 12%, 250%."""
    if value is None:
        return ""
    if value < 10:
        return f"{value:.1f}%"
    return f"{value:.0f}%"


def sparkline(values: Sequence[float], width: int) -> str:
    """The newest ``width`` values as block characters, scaled to their maximum (at least SPARK_FLOOR)."""
    if width <= 0:
        return ""
    recent = list(values)[-width:]
    top = max([SPARK_FLOOR, *recent])
    steps = len(SPARK_CHARS) - 1
    chars = []
    for value in recent:
        # Every reading is at least the lowest bar, so "sampled and idle" differs from "not running".
        level = max(1, math.ceil(max(0.0, value) / top * steps))
        chars.append(SPARK_CHARS[min(steps, level)])
    return "".join(chars).rjust(width)


def port_range(ports: Sequence[int | None]) -> str:
    """5000, or 5000-5002 for a type with several instances; empty without ports."""
    known = sorted(p for p in ports if p is not None)
    if not known:
        return ""
    if known[0] == known[-1]:
        return str(known[0])
    return f"{known[0]}-{known[-1]}"


def port_text(assigned: int | None, listening: Sequence[int]) -> Text:
    """The port cell: $PORT (bold green once something listens on it), then other ports the tree listens on."""
    text = Text()
    if assigned is not None:
        text.append(str(assigned), style="bold green" if assigned in listening else "dim")
    for port in listening:
        if port != assigned:
            text.append(f"{' ' if text else ''}{port}", style="green")
    return text


def formation_summary(running: dict[str, int], desired: dict[str, int]) -> str:
    """Every type with its count: "web 2 · worker 1 · clock 0/1" (running/desired when they differ)."""
    parts = []
    for name, want in desired.items():
        have = running.get(name, 0)
        parts.append(f"{name} {have}" if have == want else f"{name} {have}/{want}")
    return " · ".join(parts)
