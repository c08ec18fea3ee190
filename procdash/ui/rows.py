"""The process table's content: which columns fit a width, and one row per type and per instance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from procdash.core.instance import LIVE_STATES, State
from procdash.core.supervisor import Supervisor
from procdash.ui import formatting as fmt
from procdash.ui.metrics import Metrics

TYPE_PREFIX = "t:"
INSTANCE_PREFIX = "i:"
# DataTable pads every cell by one column on each side.
CELL_PADDING = 2


@dataclass(frozen=True)
class Column:
    """A table column: key, header, width, and its priority for staying visible when space is short."""

    key: str
    label: str
    width: int
    priority: int  # lower stays longer
    right: bool = False


COLUMNS = (
    Column("name", "PROCESS", 10, 0),
    Column("pid", "PID", 7, 4, right=True),
    Column("port", "PORT", 11, 5),
    Column("state", "STATE", 18, 1),
    Column("uptime", "UP", 6, 6, right=True),
    Column("restarts", "RST", 3, 7, right=True),
    Column("exit", "EXIT", 11, 8),  # fits "was SIGTERM", a live instance's previous exit
    Column("cpu", "CPU", 5, 2, right=True),
    Column("mem", "MEM", 6, 3, right=True),
    Column("spark", "CPU HISTORY", 12, 9),
)

Row = tuple[str, dict[str, Text]]


def type_key(type_name: str) -> str:
    """The row key of a type row."""
    return TYPE_PREFIX + type_name


def instance_key(name: str) -> str:
    """The row key of an instance row."""
    return INSTANCE_PREFIX + name


def parse_key(key: str) -> tuple[str, str]:
    """("type", "web") or ("instance", "web.1") from a row key."""
    if key.startswith(TYPE_PREFIX):
        return "type", key[len(TYPE_PREFIX) :]
    return "instance", key[len(INSTANCE_PREFIX) :]


def name_width(supervisor: Supervisor) -> int:
    """Width of the name column: the longest "web 10/10" or "  web.10"."""
    widths = [COLUMNS[0].width]
    for t in supervisor.types:
        count = max(supervisor.desired[t.name], len(supervisor.slots[t.name]))
        widths.append(len(t.name) + 1 + 2 * len(str(count)) + 1)
        widths.append(len(t.name) + 3 + len(str(max(count, 1))))
    return max(widths)


def fit_columns(width: int, first_width: int) -> list[Column]:
    """The columns that fit ``width`` cells, dropping the least important first, in display order."""
    columns = [Column(c.key, c.label, first_width, c.priority, c.right) if c.key == "name" else c for c in COLUMNS]
    chosen: set[str] = set()
    used = 0
    for column in sorted(columns, key=lambda c: c.priority):
        need = column.width + CELL_PADDING
        if used + need > width and chosen:
            continue
        chosen.add(column.key)
        used += need
    return [c for c in columns if c.key in chosen]


def _cell(text: str | Text, style: str = "", right: bool = False) -> Text:
    """A cell as rich Text (DataTable compares cells to skip unchanged updates)."""
    cell = text if isinstance(text, Text) else Text(text, style=style)
    if right:
        cell.justify = "right"
    return cell


def build_rows(supervisor: Supervisor, metrics: Metrics | None, spark_width: int = 12) -> list[Row]:
    """A row per type (count, port range, state summary, totals) followed by a row per instance."""
    rows: list[Row] = []
    for t in supervisor.types:
        color = fmt.type_color(supervisor.type_index[t.name])
        slots = supervisor.slots[t.name]
        desired = supervisor.desired[t.name]
        running = sum(1 for inst in slots if inst.state is State.RUNNING)
        live = any(inst.state in LIVE_STATES for inst in slots)
        # A reading outlives its process by up to one tick: show none for what no longer runs.
        usage = metrics.type_usage(t.name) if metrics and live else None
        name = Text(t.name, style=f"bold {color}")
        name.append(f" {running}/{desired}", style="bold" if running == desired else "yellow")
        history = metrics.type_history.get(t.name, []) if metrics and live else []
        rows.append(
            (
                type_key(t.name),
                {
                    "name": name,
                    "pid": _cell(""),
                    "port": _cell(fmt.port_range([inst.port for inst in slots]), "dim"),
                    "state": fmt.type_state_text([inst.state for inst in slots], desired),
                    "uptime": _cell(""),
                    "restarts": _cell(str(sum(inst.restarts for inst in slots) or ""), "dim", right=True),
                    "exit": _cell(""),
                    "cpu": _cell(fmt.percent(usage.cpu_percent) if usage else "", "bold", right=True),
                    "mem": _cell(fmt.size(usage.rss) if usage else "", "bold", right=True),
                    "spark": _cell(fmt.sparkline(history, spark_width), color),
                },
            )
        )
        for inst in slots:
            alive = inst.state in LIVE_STATES
            usage = metrics.usage(inst.name) if metrics and alive else None
            history = metrics.history.get(inst.name, []) if metrics and alive else []
            exit_style = "dim" if alive or inst.exit_code in (0, None) else "red"
            rows.append(
                (
                    instance_key(inst.name),
                    {
                        "name": _cell(f"  {inst.name}", color),
                        "pid": _cell(str(inst.pid) if inst.pid else "", right=True),
                        "port": _cell(str(inst.port) if inst.port is not None else "", "dim"),
                        "state": fmt.state_text(inst),
                        "uptime": _cell(fmt.duration(inst.uptime), right=True),
                        "restarts": _cell(str(inst.restarts or ""), "yellow" if inst.restarts else "", right=True),
                        "exit": _cell(fmt.exit_text(inst), exit_style),
                        "cpu": _cell(fmt.percent(usage.cpu_percent) if usage else "", right=True),
                        "mem": _cell(fmt.size(usage.rss) if usage else "", right=True),
                        "spark": _cell(fmt.sparkline(history, spark_width), color),
                    },
                )
            )
    return rows


def selected_names(supervisor: Supervisor, key: str | None) -> list[str]:
    """The instance names a row stands for: itself, or every instance of a type row."""
    if key is None:
        return []
    kind, name = parse_key(key)
    if kind == "type":
        return [inst.name for inst in supervisor.slots.get(name, [])]
    return [name] if supervisor.find(name) is not None else []


def keys_of(rows: Sequence[Row]) -> list[str]:
    """The row keys in order."""
    return [key for key, _ in rows]
