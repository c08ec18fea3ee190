"""The dependency graph between process types: cycles, start order, and whether a dependent may start now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Graph = Mapping[str, Mapping[str, str]]  # type -> {dependency type: condition}


def find_cycle(names: Sequence[str], graph: Graph) -> list[str] | None:
    """A dependency cycle as a path that ends where it starts (web, api, web), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for dep in graph.get(name, {}):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if state.get(dep) is None:
                found = visit(dep)
                if found is not None:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in names:
        if state.get(name) is None:
            found = visit(name)
            if found is not None:
                return found
    return None


def start_levels(names: Sequence[str], graph: Graph) -> list[list[str]]:
    """Types grouped by depth: level 0 depends on nothing, level N on something in level N-1 at most.

    Types within a level keep Procfile order; stopping walks the levels backwards. The graph must be
    acyclic (the loader refuses cycles).
    """
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            deps = [dep for dep in graph.get(name, {}) if dep in names]
            depth[name] = 1 + max((level(dep) for dep in deps), default=-1)
        return depth[name]

    for name in names:
        level(name)
    levels: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in names:
        levels[depth[name]].append(name)
    return levels


@dataclass(frozen=True)
class Gate:
    """Whether a dependent may start: ``open``, else why not and whether it can still change by itself."""

    open: bool
    reason: str = ""  # "waiting for db (ready)" or "blocked (migrate exited 1)"
    blocked: bool = False


OPEN = Gate(True)


@dataclass(frozen=True)
class DepView:
    """What the gate needs to know about one instance of a dependency."""

    name: str
    started: bool  # running now, or has run
    running: bool
    ready: bool  # its probe passed (or it has none and is running)
    completed: bool  # exited with a success code
    failed_for_good: str | None  # "exited 1" when it ended and will not be restarted by itself


def evaluate(depends_on: Mapping[str, str], instances_of: Mapping[str, Iterable[DepView]]) -> Gate:
    """The gate for a dependent whose dependencies' instances are given by type.

    ``started``: every instance has started; ``ready``: every instance is ready; ``completed``: every
    instance exited with success. A dependency with no instances (count 0) does not hold anyone back.
    """
    waiting: list[str] = []
    for dep, condition in depends_on.items():
        views = list(instances_of.get(dep, ()))
        for view in views:
            if condition == "started" and view.started:
                continue
            if condition == "ready" and view.ready:
                continue
            if condition == "completed" and view.completed:
                continue
            if view.failed_for_good is not None and not (condition == "started" and view.started):
                return Gate(False, f"blocked ({view.name} {view.failed_for_good})", blocked=True)
            waiting.append(f"{dep} ({condition})")
            break
    if waiting:
        return Gate(False, "waiting for " + ", ".join(waiting))
    return OPEN
