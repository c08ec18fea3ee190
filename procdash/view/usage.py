"""CPU and memory readings as the dashboard shows them: one tick's snapshot and the CPU histories."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from procdash.core.stats import Snapshot, StatsSampler, Usage


@dataclass(frozen=True)
class Metrics:
    """One tick's snapshot with the CPU histories the sparklines need, read in the same thread."""

    snapshot: Snapshot
    history: dict[str, list[float]] = field(default_factory=dict)
    type_history: dict[str, list[float]] = field(default_factory=dict)

    def usage(self, name: str) -> Usage | None:
        """An instance's usage this tick, or None when its process is not running."""
        return self.snapshot.instances.get(name)

    def type_usage(self, type_name: str) -> Usage | None:
        """A type's summed usage this tick, or None when none of its processes runs."""
        return self.snapshot.types.get(type_name)


def collect(sampler: StatsSampler, roots: Mapping[str, int], slots: int = 1) -> Metrics:
    """Take one sample (filling ``slots`` seconds of history) and copy the histories; it reads /proc."""
    snapshot = sampler.sample(roots, slots=slots)
    history, type_history = sampler.histories(roots, dict.fromkeys(name.rpartition(".")[0] for name in roots))
    return Metrics(snapshot=snapshot, history=history, type_history=type_history)
