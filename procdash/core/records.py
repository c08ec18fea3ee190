"""``record``: the dataclass form of the supervisor's events, immutable to the type checker and cheap at run time.

A frozen dataclass assigns each field through ``object.__setattr__``, which makes every event the
supervisor publishes (one per batch of output) about twice as slow to create, and defining a frozen,
slotted dataclass costs about four times what a slotted one does: 13 of them held up the first process
of every ``procdash start`` by several milliseconds. So events are slotted, not frozen, at run time;
mypy still sees them frozen and refuses any assignment. They compare by identity, as nothing needs more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    @dataclass_transform(frozen_default=True, eq_default=False)
    def record(cls: type[T], /) -> type[T]:
        """A frozen dataclass to mypy."""

else:

    def record(cls: type[T], /) -> type[T]:
        """A slotted dataclass with identity comparison."""
        return dataclass(slots=True, eq=False)(cls)
