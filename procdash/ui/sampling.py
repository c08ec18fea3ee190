"""CPU and memory sampling for the dashboard: one long-lived thread reads /proc, a message brings the result."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from textual.css.query import NoMatches

from procdash.core.stats import StatsSampler, live_roots
from procdash.ui.base import DashboardBase
from procdash.ui.metrics import MetricsSampled, collect


class Sampling(DashboardBase):
    """Mixed into the app: starts a sample per tick unless one is running, and takes in its result."""

    def _sample(self) -> None:
        """Start one sampling run in a thread unless the previous one is still busy."""
        if self._sampling or self.sampler is None:
            return
        try:
            names = self.selected_names()
        except NoMatches:
            return  # the app is shutting down: the table is already gone
        self._sampling = True
        roots = live_roots(self.formation.instances())
        uss_for = names[0] if len(names) == 1 else None
        if self._executor is None:
            # One long-lived thread: a Textual worker per tick would cost a thread and three messages a second.
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="procdash-stats")
        self._executor.submit(self._sample_in_thread, self.sampler, roots, uss_for)

    def _sample_in_thread(self, sampler: StatsSampler, roots: dict[str, int], uss_for: str | None) -> None:
        """Runs in the sampling thread: read /proc, post the result (post_message is thread-safe)."""
        try:
            self.post_message(MetricsSampled(collect(sampler, roots, uss_for)))
        except Exception as exc:  # report, keep the dashboard going
            self.post_message(MetricsSampled(None, f"{type(exc).__name__}: {exc}"))

    def on_metrics_sampled(self, message: MetricsSampled) -> None:
        """A tick's readings arrived: the table and header show them at the next flush."""
        self._sampling = False
        if message.metrics is not None:
            self.metrics = message.metrics
            self.mark_table_dirty()
        elif message.error:
            self.log.warning(f"stats sample failed: {message.error}")
