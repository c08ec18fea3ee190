"""Readiness probes and dependency conditions as each engine spells them."""

from __future__ import annotations

import math

from procdash.core.typeoptions import Probe
from procdash.export.model import TypeSpec

# Compose's depends_on condition for each procdash condition, when the dependency has a probe or not.
COMPOSE_CONDITION = {"started": "service_started", "completed": "service_completed_successfully"}


def compose_condition(condition: str, dependency: TypeSpec) -> str:
    """service_started / service_healthy / service_completed_successfully for one dependency."""
    if condition == "ready":
        return "service_healthy" if exportable_probe(dependency.opts.ready) else "service_started"
    return COMPOSE_CONDITION[condition]


def exportable_probe(probe: Probe | None) -> bool:
    """Whether an engine's health check can express the probe (a log line cannot be)."""
    return probe is not None and probe.kind != "log"


def probe_shell(probe: Probe, port: int) -> str:
    """A shell command that succeeds when the probe would, using curl or wget (HTTP) or nc (TCP) in the image."""
    if probe.kind == "exec":
        return probe.command
    if probe.kind == "http":
        url = f"http://127.0.0.1:{port}{probe.path}"
        return f"curl -fsS -o /dev/null '{url}' || wget -q -O /dev/null '{url}'"
    return f"nc -z 127.0.0.1 {port}"


def whole(seconds: float, minimum: int = 0) -> int:
    """Seconds rounded up, at least ``minimum`` (Kubernetes probe fields take whole seconds)."""
    return max(minimum, math.ceil(seconds))
