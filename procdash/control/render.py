"""Human output for ``procdash ctl``: the status table and its cells."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from procdash.core.instance import LIVE_STATES
from procdash.core.units import duration, size

SGR = re.compile(r"\x1b\[[0-9;:]*m")
LIVE_STATE_NAMES = frozenset(state.value for state in LIVE_STATES)
COLUMNS = ("NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "EXIT", "CPU", "MEM")


def state_cell(inst: dict[str, Any]) -> str:
    """The state, with the retry countdown for backoff."""
    state = str(inst.get("state"))
    retry = inst.get("retry_in")
    if state == "backoff" and isinstance(retry, (int, float)):
        return f"backoff ({retry:.0f}s)"
    if state == "running" and inst.get("input_wait"):
        return "running · waiting for input"
    return str(inst.get("status") or state)


def port_cell(inst: dict[str, Any]) -> str:
    """$PORT, then any other port the instance's processes listen on (when sampled)."""
    port = inst.get("port")
    cells = [] if port is None else [str(port)]
    cells += [str(p) for p in inst.get("listening") or () if p != port]
    return " ".join(cells) or "-"


def exit_cell(inst: dict[str, Any]) -> str:
    """The last exit: code, or the signal name when one killed it."""
    code = inst.get("exit_code")
    if code is None:
        return "-"
    description = inst.get("exit_description") or ""
    text = description if description.startswith("SIG") else str(code)
    # A live instance's exit belongs to its previous run.
    return f"was {text}" if inst.get("state") in LIVE_STATE_NAMES else text


def row(inst: dict[str, Any]) -> list[str]:
    """One instance as table cells."""

    def text(value: object) -> str:
        return "-" if value is None else str(value)

    cpu = inst.get("cpu")
    return [
        text(inst.get("name")),
        state_cell(inst),
        text(inst.get("pid")),
        port_cell(inst),
        duration(inst.get("uptime")) or "-",
        text(inst.get("restarts")),
        exit_cell(inst),
        "-" if cpu is None else f"{cpu:.1f}%",
        size(inst.get("rss")) or "-",
    ]


def table(rows: Sequence[Sequence[str]], header: Sequence[str] = COLUMNS) -> str:
    """Left-aligned columns separated by two spaces, without trailing blanks."""
    everything = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in everything) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip() for r in everything]
    return "\n".join(lines)


def status_text(reply: dict[str, Any]) -> str:
    """The whole ``ctl status`` output: who serves, the instance table, and types scaled to zero."""
    server = reply.get("server") or {}
    lines = [f"procdash {server.get('version', '?')} (pid {server.get('pid')}) running {server.get('procfile')}"]
    instances = reply.get("instances") or []
    if instances:
        lines.append(table([row(inst) for inst in instances]))
    desired = reply.get("desired") or {}
    idle = [name for name, count in desired.items() if count == 0 and not any(i.get("type") == name for i in instances)]
    if idle:
        lines.append(f"scaled to 0: {', '.join(idle)}")
    for inst in instances:
        if inst.get("reason") and inst.get("restarts"):
            lines.append(f"{inst.get('name')} last restarted by procdash: {inst.get('reason')}")
    if not instances and not idle:
        lines.append("no processes")
    return "\n".join(lines)


def strip_sgr(text: str) -> str:
    """Drop colour escapes (the only escapes log lines keep) for output that is not a terminal."""
    return SGR.sub("", text)
