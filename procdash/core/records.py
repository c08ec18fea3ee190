"""``record``: the dataclass form of the supervisor's events, immutable to the type checker and cheap at run time.

A frozen dataclass assigns each field through ``object.__setattr__``: creating a frozen event takes
about three times as long as a slotted one (the supervisor creates one per batch of output), and
defining a frozen, slotted class about twice as long, which every ``procdash start`` pays before its
first process runs. So events are slotted, not frozen, at run time, while mypy sees them frozen and
refuses any assignment. They compare by identity, as nothing needs more.
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
