"""The process table's content: which columns fit a width, and one row per type and per instance."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rich.text import Text

from procdash.core.instance import LIVE_STATES, Instance, State
from procdash.ui import formatting as fmt
from procdash.view.formation import FormationView
from procdash.view.usage import Metrics

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
    # Only with room to spare (160+ columns): when the last exit happened, and the command, which then
    # takes all the width left.
    Column("exited", "EXITED AT", 9, 10),
    Column("command", "COMMAND", 24, 11),
)

Row = tuple[str, dict[str, Text]]
_K = TypeVar("_K", bound=Hashable)


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


def name_width(formation: FormationView) -> int:
    """Width of the name column: the longest "web 10/10" or "  web.10 *" (pinned)."""
    widths = [COLUMNS[0].width]
    for t in formation.types:
        count = max(formation.desired[t.name], len(formation.slots[t.name]))
        widths.append(len(t.name) + 1 + 2 * len(str(count)) + 1)
        widths.append(len(t.name) + 5 + len(str(max(count, 1))))  # "  web.1 *" when pinned
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
    shown = [c for c in columns if c.key in chosen]
    spare = width - used
    return [Column(c.key, c.label, c.width + spare, c.priority) if c.key == "command" else c for c in shown]


def _cell(text: str | Text, style: str = "", right: bool = False) -> Text:
    """A cell as rich Text (DataTable compares cells to skip unchanged updates)."""
    cell = text if isinstance(text, Text) else Text(text, style=style)
    if right:
        cell.justify = "right"
    return cell


class CellCache:
    """One Text object per distinct cell content, kept from one refresh to the next.

    An idle table rebuilt every second then hands the process table the very objects it already shows,
    so only the cells whose text moved (an uptime) differ, by identity, from what is on screen: nothing
    else is compared, laid out or drawn again. Cells are shared and must never be changed in place.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit  # past this many distinct cells a cache starts over (old uptimes, old PIDs)
        self._texts: dict[tuple[str, str, bool], Text] = {}
        self._made: dict[Hashable, Text] = {}  # apart from the one-style cells: a key of one never meets the other

    def text(self, text: str, style: str = "", right: bool = False) -> Text:
        """A one-style cell."""
        key = (text, style, right)
        cell = self._texts.get(key)
        if cell is None:
            cell = self._store(self._texts, key, _cell(text, style, right))
        return cell

    def made(self, key: Hashable, make: Callable[[], Text]) -> Text:
        """A cell built by ``make`` (several styles), once per distinct ``key`` naming everything it shows."""
        cell = self._made.get(key)
        if cell is None:
            cell = self._store(self._made, key, make())
        return cell

    def _store(self, cells: dict[_K, Text], key: _K, cell: Text) -> Text:
        """Keep a new cell, starting over when that cache is full."""
        if len(cells) >= self.limit:
            cells.clear()
        cells[key] = cell
        return cell


def single(formation: FormationView, type_name: str) -> Instance | None:
    """The one instance a type shows as a single row: exactly one slot and one wanted, else None."""
    slots = formation.slots[type_name]
    return slots[0] if len(slots) == 1 and formation.desired[type_name] == 1 else None


@dataclass(frozen=True)
class Order:
    """How the table is ordered and narrowed: a sort key ("cpu", "mem", "name", "state" or None for the
    Procfile's order), its direction, and a name filter (any case)."""

    key: str | None = None
    descending: bool = False
    name_filter: str = ""


def build_rows(
    formation: FormationView,
    metrics: Metrics | None,
    spark_width: int = 12,
    pinned: set[str] | frozenset[str] = frozenset(),
    order: Order = Order(),
    cells: CellCache | None = None,
) -> list[Row]:
    """One row for a type with a single instance; otherwise a type row (totals) and a row per instance.

    A type scaled to 0 (or still without instances) keeps its type row, so ``+`` has a row to act on.
    Sorting orders the types (by their totals) and the instances within each; a name filter keeps the
    instances whose name contains it, and a type row while any of its names does. With the same
    ``cells`` cache on every call, an unchanged cell is the same object as last time.
    """
    cells = cells if cells is not None else CellCache()
    groups: list[tuple[float | str, list[tuple[float | str, Row]]]] = []
    needle = order.name_filter.lower()
    for t in formation.types:
        color = fmt.type_color(formation.type_index[t.name])
        only = single(formation, t.name)
        if only is not None:
            if needle in only.name.lower():
                row = _instance_row(cells, only, metrics, spark_width, color, alone=True, pinned=only.name in pinned)
                groups.append((_sort_value(order.key, [only], metrics, only.name), []))
                groups[-1][1].append((0, row))
            continue
        slots = [inst for inst in formation.slots[t.name] if needle in inst.name.lower()]
        if needle and not slots and needle not in t.name.lower():
            continue
        members = [
            (
                _sort_value(order.key, [inst], metrics, inst.name),
                _instance_row(cells, inst, metrics, spark_width, color, pinned=inst.name in pinned),
            )
            for inst in slots
        ]
        if order.key is not None:
            members.sort(key=lambda member: member[0], reverse=order.descending)
        type_row = (0, _type_row(cells, formation, t.name, metrics, spark_width, color))
        groups.append((_sort_value(order.key, formation.slots[t.name], metrics, t.name), [type_row, *members]))
    if order.key is not None:
        groups.sort(key=lambda group: group[0], reverse=order.descending)
    return [row for _value, members in groups for _v, row in members]


def _sort_value(key: str | None, insts: list[Instance], metrics: Metrics | None, name: str) -> float | str:
    """What a row (a type: its instances summed, or worst state) sorts by."""
    if key == "name":
        return name
    if key == "state":
        return min((fmt.severity(inst.state) for inst in insts), default=len(State))
    if key in ("cpu", "mem") and metrics is not None:
        usages = [u for inst in insts if (u := metrics.usage(inst.name)) is not None]
        return sum(u.cpu_percent if key == "cpu" else u.rss for u in usages) if usages else -1.0
    return 0


def _type_row(
    cells: CellCache, formation: FormationView, type_name: str, metrics: Metrics | None, spark_width: int, color: str
) -> Row:
    """A type's summary row: count, port range, states, summed CPU and memory."""
    slots = formation.slots[type_name]
    desired = formation.desired[type_name]
    running = sum(1 for inst in slots if inst.state is State.RUNNING)
    live = any(inst.state in LIVE_STATES for inst in slots)
    # A reading outlives its process by up to one tick: show none for what no longer runs.
    usage = metrics.type_usage(type_name) if metrics and live else None
    done = fmt.all_done(slots, desired)

    def make_name() -> Text:
        name = Text(type_name, style=f"bold {color}")
        if done:
            name.append(" done", style="dim")
        else:
            name.append(f" {running}/{desired}", style="bold" if running == desired else "yellow")
        return name

    states = tuple(inst.state for inst in slots)
    history = metrics.type_history.get(type_name, []) if metrics and live else []
    text = cells.text
    return (
        type_key(type_name),
        {
            "name": cells.made(("type-name", type_name, color, done, running, desired), make_name),
            "pid": text(""),
            "port": text(fmt.port_range([inst.port for inst in slots]), "dim"),
            "state": cells.made(("type-state", states, desired), lambda: fmt.type_state_text(slots, desired)),
            "uptime": text(""),
            "restarts": text(str(sum(inst.restarts for inst in slots) or ""), "dim", right=True),
            "exit": text(""),
            "cpu": text(fmt.percent(usage.cpu_percent) if usage else "", "bold", right=True),
            "mem": text(fmt.size(usage.rss) if usage else "", "bold", right=True),
            "spark": text(fmt.sparkline(history, spark_width), color),
            "exited": text(""),
            "command": text(""),
        },
    )


def _instance_row(
    cells: CellCache,
    inst: Instance,
    metrics: Metrics | None,
    spark_width: int,
    color: str,
    *,
    alone: bool = False,
    pinned: bool = False,
) -> Row:
    """An instance's row; ``alone`` when it stands for its whole type (no type row above it), ``*`` if pinned."""
    alive = inst.state in LIVE_STATES
    usage = metrics.usage(inst.name) if metrics and alive else None
    history = metrics.history.get(inst.name, []) if metrics and alive else []
    exit_style = "dim" if alive or inst.exit_code in (0, None) else "red"
    name_text, name_style = (inst.name, f"bold {color}") if alone else (f"  {inst.name}", color)

    def make_name() -> Text:
        name = _cell(name_text, name_style)
        name.append(" *", style="bold")  # pinned: shown side by side with P
        return name

    listening = usage.ports if usage else ()
    words = fmt.state_words(inst)
    waiting = inst.state is State.RUNNING and inst.waiting
    text = cells.text
    return (
        instance_key(inst.name),
        {
            "name": cells.made(("pinned", name_text, name_style), make_name) if pinned else text(name_text, name_style),
            "pid": text(str(inst.pid) if inst.pid else "", right=True),
            "port": cells.made(("port", inst.port, listening), lambda: fmt.port_text(inst.port, listening)),
            "state": cells.made(("state", inst.state, waiting, words), lambda: fmt.state_text(inst)),
            "uptime": text(fmt.duration(inst.uptime), right=True),
            "restarts": text(str(inst.restarts or ""), "yellow" if inst.restarts else "", right=True),
            "exit": text(fmt.exit_text(inst), exit_style),
            "cpu": text(fmt.percent(usage.cpu_percent) if usage else "", right=True),
            "mem": text(fmt.size(usage.rss) if usage else "", right=True),
            "spark": text(fmt.sparkline(history, spark_width), color),
            "exited": text(fmt.clock(inst.exited_wall), "dim"),
            "command": text(inst.command, "dim"),
        },
    )


def mark_sorted(columns: list[Column], order: Order) -> list[Column]:
    """The columns with an arrow on the one the table is sorted by."""
    if order.key is None:
        return columns
    arrow = " ↓" if order.descending else " ↑"
    return [Column(c.key, c.label + arrow, c.width, c.priority, c.right) if c.key == order.key else c for c in columns]


def fallbacks(formation: FormationView) -> dict[str, str]:
    """Where the cursor goes when its row vanishes because a type changed between one row and a group."""
    out: dict[str, str] = {}
    for t in formation.types:
        first = instance_key(f"{t.name}.1")
        out[type_key(t.name)] = first
        out[first] = type_key(t.name)
    return out


def selected_names(formation: FormationView, key: str | None) -> list[str]:
    """The instance names a row stands for: itself, or every instance of a type row."""
    if key is None:
        return []
    kind, name = parse_key(key)
    if kind == "type":
        return [inst.name for inst in formation.slots.get(name, [])]
    return [name] if formation.find(name) is not None else []


def keys_of(rows: Sequence[Row]) -> list[str]:
    """The row keys in order."""
    return [key for key, _ in rows]
