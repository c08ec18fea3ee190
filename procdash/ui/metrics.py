"""CPU and memory readings for the dashboard: sampled off the UI thread, delivered as one message per tick."""

from __future__ import annotations

from textual.message import Message

from procdash.view.usage import Metrics as Metrics
from procdash.view.usage import collect as collect


class MetricsSampled(Message):
    """Posted by the sampling worker once per tick (or by a remote view); ``error`` says why there is no reading."""

    def __init__(self, metrics: Metrics | None, error: str | None = None) -> None:
        super().__init__()
        self.metrics = metrics
        self.error = error
