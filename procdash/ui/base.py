"""What the dashboard's mixins may rely on, declared once for the type checker (plain ``object`` at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from textual.app import App

    from procdash.core.stats import StatsSampler
    from procdash.ui.feed import DashboardFeed
    from procdash.ui.pace import SamplePace
    from procdash.ui.rows import Order
    from procdash.ui.widgets.panes import EmptyPane, LogPane, PaneGrid
    from procdash.ui.widgets.process_table import ProcessTable
    from procdash.view.formation import FormationView
    from procdash.view.usage import Metrics

    class DashboardBase(App[int]):
        """The app's state and helpers as the mixins (process, view and pane actions) see them."""

        formation: FormationView
        feed: DashboardFeed
        metrics: Metrics | None
        mode: str
        timestamps: bool
        pinned: list[str]
        order: Order
        project_root: Path
        wrap_default: bool
        focus_name: str | None
        selected_type: str
        panes: dict[str, LogPane]
        merged_pane: LogPane
        empty_pane: EmptyPane
        _pty_sent: dict[str, tuple[int | None, int, int]]
        _pty_guessed: dict[str, tuple[int | None, int, int]]
        _default_size: tuple[int, int] | None
        sampler: StatsSampler | None
        stats_interval: float
        _sampling: bool
        pace: SamplePace
        _executor: ThreadPoolExecutor | None

        @property
        def table(self) -> ProcessTable: ...

        @property
        def grid(self) -> PaneGrid: ...

        def visible_panes(self) -> list[LogPane]: ...

        def layout_panes(self) -> None: ...

        def selected_names(self) -> list[str]: ...

        def names_of_type(self, type_name: str) -> list[str]: ...

        def focused_pane(self) -> LogPane | None: ...

        def _refresh_header(self) -> None: ...

        def clear_search(self) -> bool: ...

        def cancel_selection(self) -> bool: ...

        def remember(self) -> None: ...

        def apply_timestamps(self) -> None: ...

        def mark_table_dirty(self) -> None: ...

        def mark_numbers_dirty(self) -> None: ...

else:
    DashboardBase = object
