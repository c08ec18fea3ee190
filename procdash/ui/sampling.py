"""CPU and memory sampling for the dashboard: small formations on the loop, large ones in one long-lived thread."""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

from procdash.core.stats import StatsSampler, live_roots
from procdash.ui.base import DashboardBase
from procdash.view.usage import Metrics, collect

# A tick that walks (or, idle, re-reads) this many processes or fewer costs well under a millisecond: it
# runs on the loop, in the turn the second's beat woke, rather than waking a thread and then the loop again.
INLINE_LIMIT = 64


def _reading(sampler: StatsSampler, roots: dict[str, int], slots: int) -> tuple[Metrics | None, str | None]:
    """One sample, or why there is none: a failed read is reported and the dashboard goes on."""
    try:
        return collect(sampler, roots, slots), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


class Sampling(DashboardBase):
    """Mixed into the app: starts a sample per tick unless one is running, and takes in its result."""

    def _sample(self, slots: int = 1) -> None:
        """Take one sample (on the loop for a small formation, else in the thread) unless one is still busy.

        ``slots``: the seconds of CPU history the sample fills (more when the pace let seconds pass).
        """
        if self._sampling or self.sampler is None:
            return
        self._sampling = True
        roots = live_roots(self.formation.instances())
        sampler = self.sampler
        if sampler.path in ("idle", "walk") and sampler.read <= INLINE_LIMIT:
            # A whole-machine scan can take milliseconds: that, and a big formation, stay in the thread.
            self._metrics_sampled(*_reading(sampler, roots, slots))
            return
        if self._executor is None:
            # One long-lived thread: a Textual worker per tick would cost a thread and three messages a second.
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="procdash-stats")
        # The result is taken in under the app's context (Textual finds its app through a context variable).
        self._executor.submit(
            self._sample_in_thread, asyncio.get_running_loop(), contextvars.copy_context(), sampler, roots, slots
        )

    def _sample_in_thread(
        self,
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context,
        sampler: StatsSampler,
        roots: dict[str, int],
        slots: int,
    ) -> None:
        """Runs in the sampling thread: read /proc, hand the result to the loop.

        A plain loop callback rather than a Textual message: once a second, the message's queueing and
        dispatch cost more than taking the reading in.
        """
        metrics, error = _reading(sampler, roots, slots)
        try:
            loop.call_soon_threadsafe(self._metrics_sampled, metrics, error, context=context)
        except RuntimeError:
            pass  # the loop has closed: the app is gone

    def _metrics_sampled(self, metrics: Metrics | None, error: str | None) -> None:
        """A tick's readings arrived: the table and header show them at the next flush."""
        self._sampling = False
        if metrics is not None:
            self.pace.read(metrics.snapshot)
            self.metrics = metrics
            self.mark_numbers_dirty()
        elif error:
            self.log.warning(f"stats sample failed: {error}")
