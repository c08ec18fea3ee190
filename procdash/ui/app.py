"""The Textual dashboard: a process table and side-by-side log panes over a formation view (local or attached)."""

from __future__ import annotations

import argparse
import gc
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.timer import Timer
from textual.widgets import Footer

from procdash.core import events as ev
from procdash.core.instance import LIVE_STATES, State
from procdash.core.stats import StatsSampler, Usage
from procdash.ui import formatting as fmt
from procdash.ui import rows as tablerows
from procdash.ui.commands import ProcdashCommands
from procdash.ui.driver import quiet_driver
from procdash.ui.editloop_actions import EditLoopActions
from procdash.ui.feed import DashboardFeed
from procdash.ui.focus import FocusKeys
from procdash.ui.input_mode import InputModeActions
from procdash.ui.keys import APP_BINDINGS
from procdash.ui.pace import SamplePace
from procdash.ui.pane_actions import PaneActions
from procdash.ui.process_actions import ProcessActions
from procdash.ui.quit_actions import QuitActions
from procdash.ui.remembered import Remembered
from procdash.ui.sampling import Sampling
from procdash.ui.screens.help import HelpScreen
from procdash.ui.ticker import Ticker
from procdash.ui.views import ViewActions
from procdash.ui.widgets.header import DashHeader, display_path, header_text
from procdash.ui.widgets.panes import MERGED, EmptyPane, LogPane, PaneGrid
from procdash.ui.widgets.process_table import ProcessTable
from procdash.ui.widgets.prompt_bar import PromptBar
from procdash.view.formation import FormationError, FormationView, ViewHooks
from procdash.view.usage import Metrics

FLUSH_HZ = 25
# A pane that redrew less than this long ago waits for a later flush: a flooding child then costs
# at most 10 full-pane repaints a second, while a quiet pane still shows a new line within one flush.
PANE_MIN_INTERVAL = 0.1


class ProcdashApp(
    InputModeActions,
    FocusKeys,
    ProcessActions,
    ViewActions,
    PaneActions,
    EditLoopActions,
    QuitActions,
    Sampling,
    Remembered,
    App[int],
):
    """Shows and steers one formation view; every widget update happens in the flush timer, never per line."""

    # Absolute, so subclasses defined elsewhere (tests, benchmarks) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "procdash"
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS
    COMMANDS = App.COMMANDS | {ProcdashCommands}

    def __init__(
        self,
        formation: FormationView,
        args: argparse.Namespace | None = None,
        *,
        sampler: StatsSampler | None = None,
        handle_signals: bool = False,
        settings_path: Path | None = None,
    ) -> None:
        # ansi_color: a child's colours 0-15 stay palette colours, drawn in the person's terminal palette
        # rather than converted to the theme's RGB; the dashboard's own colours come from the theme.
        super().__init__(ansi_color=True)
        self.settings_path = settings_path
        self.wrap_default = False  # wrap in new panes (w in a pane changes it)
        self.formation = formation
        self.handle_signals = handle_signals
        args = args or argparse.Namespace()
        self.stats_interval = float(getattr(args, "stats_interval", 1.0) or 0.0)
        self.sampler = sampler if sampler is not None else (StatsSampler() if self.stats_interval > 0 else None)
        names = [f"{t.name}.{max(1, n)}" for t, n in zip(formation.types, formation.desired.values(), strict=False)]
        self.feed = DashboardFeed(names, scrollback=formation.scrollback)
        self.metrics: Metrics | None = None
        # "type": panes of the selected type; "pinned": the pinned processes; "all": merged; "focus": one.
        self.mode = "type"
        self.focus_name: str | None = None
        self.timestamps = False  # lines start with their arrival time (t)
        self.pinned: list[str] = []  # instance names pinned side by side (p), in pinning order
        self.order = tablerows.Order()  # the table's sort (C M N T) and name filter (ctrl+f)
        self._cells = tablerows.CellCache()  # the table's cells, kept so an unchanged one is the same object
        self._columns: list[tablerows.Column] = []  # the columns the table was last given
        self._moved: tuple[object, ...] = ()  # what moved by itself at the last numbers refresh
        self._sized: tuple[object, ...] = ()  # what the pty sizes were last synced for
        self._partials_shown: list[LogPane] = []  # the panes whose unfinished lines were last drawn
        self.project_root = formation.root  # where ctrl+s saves a pane's log
        self.selected_type = formation.types[0].name if formation.types else ""
        self.panes: dict[str, LogPane] = {}
        self.merged_pane = LogPane(MERGED, self.feed.merged)
        self.empty_pane = EmptyPane()
        where = formation.where
        self._procfile = display_path(formation.procfile) + (f" · {where}" if where else "")
        self._sampling = False
        self.pace = SamplePace()
        self._unsubscribe: list[object] = []
        self._pty_sent: dict[str, tuple[int | None, int, int]] = {}
        self._pty_guessed: dict[str, tuple[int | None, int, int]] = {}
        self._default_size: tuple[int, int] | None = None
        self._flush_timer: Timer | None = None
        self._ticker = Ticker(1.0, self._tick, self._handle_exception)
        self._executor = None
        self._flush_paused = False
        self.init_input_mode(getattr(args, "detach_key", None))
        self.label_quit_keys()

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, with an input thread that sleeps while nothing is typed."""
        return quiet_driver(super().get_driver_class())

    # ----- lifecycle ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, table, panes, prompt and footer."""
        yield DashHeader(id="header")
        yield ProcessTable(id="processes")
        with PaneGrid(id="panes"):
            yield self.merged_pane
            yield self.empty_pane
        yield PromptBar(id="prompt")
        yield Footer()

    async def on_mount(self) -> None:
        """Open the formation view on this loop (a local one starts its processes), then the timers."""
        self._unsubscribe.append(self.formation.subscribe(self._on_event))
        hooks = ViewHooks(quit_requested=self._quit_from_ctl, usage=self._latest_usage, ended=self._formation_ended)
        try:
            warnings = await self.formation.open(hooks)
        except FormationError as exc:
            self.ended_reason = str(exc)
            self.exit(1)
            return
        for warning in warnings:
            self.notify(warning, title="service failed", severity="error")
        if not self.selected_type and self.formation.types:
            self.selected_type = self.formation.types[0].name
        if self.handle_signals:
            self.install_signal_handlers()
        self._flush_timer = self.set_interval(1 / FLUSH_HZ, self.flush)
        # One beat a second for uptimes and, at the default interval, the sampler, on the loop turn the
        # orphan reaper's beat wakes anyway: each wake-up of an idle dashboard is most of what it costs.
        self._ticker.start()
        if self.formation.watch_usage(self.stats_interval, self._usage_arrived):
            self.sampler = None  # readings come with the view
        elif self.sampler is not None and self.stats_interval > 0:
            if self.stats_interval != 1.0:
                self.set_interval(self.stats_interval, self._sample)
            self._sample()
        self.apply_settings()
        self.flush()
        self.table.focus()
        # Everything built so far (Textual, the widgets, the formation) lives as long as the app: keep it
        # out of the collector's passes. A flood makes many short-lived objects (Textual keeps several
        # caches per drawn strip), and with the default thresholds full passes over them stalled a key for
        # 50-200 ms (measured with bench/dashboard.py); collecting less often keeps each pause short.
        gc.freeze()
        gc.set_threshold(10_000, 50, 100)

    async def on_unmount(self) -> None:
        """Backstop: whatever way the app ends, a local formation leaves no process behind."""
        for unsubscribe in self._unsubscribe:
            if callable(unsubscribe):
                unsubscribe()
        self._ticker.stop()
        if self.handle_signals:
            self.remove_signal_handlers()
        await self.formation.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _latest_usage(self) -> Mapping[str, Usage] | None:
        """The newest per-instance CPU and memory, for `procdash ctl status`."""
        return self.metrics.snapshot.instances if self.metrics is not None else None

    def _usage_arrived(self, metrics: Metrics) -> None:
        """A reading that came with the view (an attached one): the table shows it at the next flush."""
        self.metrics = metrics
        self.mark_numbers_dirty()

    # ----- flushing ----------------------------------------------------------------------------------

    @property
    def table(self) -> ProcessTable:
        """The process table."""
        return self.query_one(ProcessTable)

    @property
    def grid(self) -> PaneGrid:
        """The container of the log panes."""
        return self.query_one(PaneGrid)

    def flush(self) -> None:
        """The one timer that moves engine state onto the screen, at most FLUSH_HZ times a second."""
        try:
            self._flush_engine_state()
        except NoMatches:  # the screen's widgets are gone while the app shuts down: nothing to draw on
            return

    def _flush_engine_state(self) -> None:
        """What ``flush`` does while the screen is there."""
        feed = self.feed
        if feed.structure_dirty:
            feed.structure_dirty = False
            self._forget_removed()
            self._sync_panes()
        if feed.table_dirty:
            feed.table_dirty = feed.numbers_dirty = False
            self._refresh_table()
        elif feed.numbers_dirty:
            feed.numbers_dirty = False
            self._refresh_numbers()
        now = time.monotonic()
        visible = self.visible_panes()
        due = [
            pane
            for pane in visible
            if (feed.merged_dirty if pane is self.merged_pane else pane.key in feed.dirty_logs)
            and now - pane.refreshed_at >= PANE_MIN_INTERVAL
        ]
        # Spread busy panes over flushes (the longest-waiting first), so one frame never repaints all
        # of them at once: a frame's length is what a key press may have to wait for.
        budget = max(1, math.ceil(len(visible) / (PANE_MIN_INTERVAL * FLUSH_HZ)))
        for pane in sorted(due, key=lambda p: p.refreshed_at)[:budget]:
            merged = pane is self.merged_pane
            pane.refreshed_at = now
            pane.view.refresh_from_buffer()
            if pane.search_term:
                pane.refresh_flags()
            if merged:
                feed.merged_dirty = False
            else:
                feed.dirty_logs.discard(pane.key)
        # Hidden panes catch up when shown (layout_panes refreshes them), so their marks can go.
        shown = {pane.key for pane in visible}
        feed.dirty_logs.intersection_update(shown)
        if self.mode != "all":
            feed.merged_dirty = False
        if feed.dirty_partials or visible != self._partials_shown:
            # A pane just shown needs its unfinished line too; otherwise only a changed one is redrawn.
            self._partials_shown = visible
            self.flush_partials()
        for toast in feed.take_toasts():
            self.notify(toast.message, title=toast.title, severity=toast.severity)  # type: ignore[arg-type]
        pending = (
            feed.dirty_logs
            or feed.merged_dirty
            or feed.table_dirty
            or feed.numbers_dirty
            or feed.structure_dirty
            or feed.dirty_partials
        )
        if not pending and self._flush_timer is not None:
            # Nothing waits: sleep until the next event instead of waking 25 times a second for nothing.
            self._flush_paused = True
            self._flush_timer.pause()

    def _forget_removed(self) -> None:
        """Instances scaled away lose their CPU history, so a later slot of the same name starts empty."""
        for name in self.feed.removed:
            if self.sampler is not None:
                self.sampler.forget(name)
            if self.metrics is not None:
                self.metrics.history.pop(name, None)
        self.feed.removed.clear()

    def _on_event(self, event: ev.Event) -> None:
        """A supervisor event: record it (never touching a widget) and make sure a flush will come."""
        self.feed(event)
        self.pace.moved()
        if self._flush_paused:
            self._wake()

    def _wake(self) -> None:
        """Resume the paused flush timer; it fires at once."""
        self._flush_paused = False
        if self._flush_timer is not None:
            self._flush_timer.resume()

    def mark_table_dirty(self) -> None:
        """Redraw the table and header at the next flush."""
        self.feed.table_dirty = True
        if self._flush_paused:
            self._wake()

    def mark_numbers_dirty(self) -> None:
        """Only time passed or a reading came: the table's cells and the header, now if the flush sleeps.

        An idle dashboard's once-a-second update then costs one call, not a timer resumed, run and paused.
        """
        self.feed.numbers_dirty = True
        if self._flush_paused:
            self._flush_paused = False
            self.flush()
            if not self._flush_paused:
                # Something still waits (a pane repainted too recently to repaint again): the timer comes back.
                self._wake()

    def _tick(self) -> None:
        """Once a second: uptimes and backoff countdowns move, the sampler reads, the pty size follows the pane."""
        sampled = False
        if self.sampler is not None and self.stats_interval == 1.0 and self.pace.due():
            self._sample(self.pace.slots())
            sampled = True
        sampling_often = self.sampler is not None and 0 < self.stats_interval < 1.0
        moving = any(inst.state in LIVE_STATES or inst.state is State.BACKOFF for inst in self.formation.instances())
        if moving and not sampled and not sampling_often:  # else the sample redraws the table anyway
            self.mark_numbers_dirty()
        try:
            grid = self.grid
        except NoMatches:  # the screen's widgets are gone while the app shuts down
            return
        # Pane sizes settle after a layout; they depend only on the grid and on which panes it shows.
        sized = (grid.size, self.mode, self.focus_name, self.selected_type, len(self.pinned), self.feed.generation)
        if sized != self._sized:
            self._sized = sized
            self._sync_pty_size()

    def _refresh_table(self) -> None:
        """Table, header and selection from the supervisor's current state."""
        sup = self.formation
        width = (self.table.size.width or self.size.width) - 1
        columns = tablerows.fit_columns(width, tablerows.name_width(sup))
        self._columns = tablerows.mark_sorted(columns, self.order)
        self.table.sync(self._columns, self._build_rows(), tablerows.fallbacks(sup))
        self._refresh_titles()
        self._refresh_header()
        self._selection_changed(self.table.selected_key)
        self._sync_pty_size()

    def _build_rows(self) -> list[tablerows.Row]:
        """The table's rows for the columns it was last given."""
        spark = next((c.width for c in self._columns if c.key == "spark"), 0)
        return tablerows.build_rows(self.formation, self.metrics, spark, set(self.pinned), self.order, self._cells)

    def _refresh_numbers(self) -> None:
        """Uptimes and readings moved, nothing else: the table's cells, pane titles and header, no layout work.

        Rows that change order (a table sorted by CPU) take the whole refresh, with its selection handling.
        """
        moved = self._moving()
        if moved == self._moved:
            return  # every uptime, countdown and reading reads as it did: nothing on screen would change
        self._moved = moved
        rows = self._build_rows() if self._columns else []
        if not rows or tablerows.keys_of(rows) != self.table.row_keys:
            self._refresh_table()
            return
        self.table.sync(self._columns, rows)
        self._refresh_titles()  # a backoff countdown moves with time
        self._refresh_header()

    def _refresh_titles(self) -> None:
        """The border titles of the panes on screen (each pane redraws only when its title changed)."""
        for pane in self.visible_panes():
            pane.show_title(self._pane_title(pane), pane.flags())

    def _moving(self) -> tuple[object, ...]:
        """Everything the table, titles and header show that changes with no event: the uptimes as worded,
        backoff countdowns, and the readings with their histories (compared by value, not by tick)."""
        instances = self.formation.instances()
        words = tuple(
            fmt.state_words(inst) if inst.state is State.BACKOFF else fmt.duration(inst.uptime) for inst in instances
        )
        metrics = self.metrics
        if metrics is None:
            return (self.feed.generation, words)
        snapshot = metrics.snapshot
        return (self.feed.generation, words, snapshot.instances, snapshot.types, metrics.history, metrics.type_history)

    def _refresh_header(self) -> None:
        """The header line."""
        header = self.query_one(DashHeader)
        width = header.size.width or self.size.width
        header.show(header_text(self._procfile, self.formation, self.metrics, width, quitting=self._quitting))

    def on_resize(self) -> None:
        """A new terminal size: columns may fit differently."""
        self.mark_table_dirty()

    # ----- selection ---------------------------------------------------------------------------------

    def on_process_table_highlighted(self, event: ProcessTable.Highlighted) -> None:
        """The cursor moved: the panes follow the selected type."""
        self._selection_changed(event.key)

    def on_process_table_selected(self, event: ProcessTable.Selected) -> None:
        """A double click on a row: focus view of that process."""
        self.action_focus_view()

    @on(LogPane.Focused)
    def _pane_focused(self, event: LogPane.Focused) -> None:
        """Focusing a pane selects its process in the table."""
        if event.pane.key in self.panes:
            self.table.select_key(tablerows.instance_key(event.pane.key))

    def _selection_changed(self, key: str | None) -> None:
        """Show the selected type's panes when the selection moved to another type."""
        if key is None:
            return
        kind, name = tablerows.parse_key(key)
        type_name = name if kind == "type" else name.rpartition(".")[0]
        if type_name != self.selected_type:
            self.selected_type = type_name
            if self.mode == "type":
                self.layout_panes()
        elif self.mode == "type":
            panes = self.visible_panes()
            for pane in panes:
                pane.set_class(key == tablerows.instance_key(pane.key) and len(panes) > 1, "-selected")

    def names_of_type(self, type_name: str) -> list[str]:
        """Instance names of a type, in number order."""
        return [inst.name for inst in self.formation.slots.get(type_name, [])]

    def selected_names(self) -> list[str]:
        """The instances the selected row stands for."""
        return tablerows.selected_names(self.formation, self.table.selected_key)

    def action_help(self) -> None:
        """?: the key list."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
