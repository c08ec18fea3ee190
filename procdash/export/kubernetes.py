"""Kubernetes export: a ConfigMap from .env, a Deployment per type and a Service for types serving $PORT."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from procdash.core.errors import ConfigError
from procdash.core.shell import exec_form
from procdash.core.typeoptions import Probe
from procdash.export.model import (
    Formation,
    OutputFile,
    Rendered,
    check_env_names,
    clean_name,
    refuse_option,
    whole_seconds,
)
from procdash.export.readiness import exportable_probe, whole
from procdash.export.yamlout import dump_documents

ENGINE = "Kubernetes"
# Names end up in DNS: lowercase letters, digits and '-', a letter first (Services need one), 63 at most.
LABEL_INVALID = r"[^a-z0-9-]"
MAX_NAME = 63
CONFIGMAP_KEY = re.compile(r"[-._a-zA-Z0-9]+\Z")
NUMERIC_USER = re.compile(r"(\d+)(?::(\d+))?\Z")
IMAGE = re.compile(r"\S+\Z")
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"


def dns_label(text: str) -> str:
    """Lowercase, '-' for anything else, and a letter first so the name also suits a Service."""
    cleaned = clean_name(text, LABEL_INVALID, lower=True, edges="-")
    if cleaned and not cleaned[0].isalpha():
        cleaned = f"app-{cleaned}"
    return cleaned


def literal_dollars(text: str) -> str:
    """Escape ``$`` as ``$$`` so Kubernetes' $(VAR) expansion in commands leaves the text unchanged."""
    return text.replace("$", "$$")


def render(formation: Formation, target: Path) -> Rendered:
    """Write APP.yaml: ConfigMap, then a Deployment (and Service when it serves $PORT) per type."""
    options = formation.options
    refuse_option(options.log, "-l", ENGINE, "logs go to `kubectl logs`")
    if options.image is None:
        raise ConfigError("kubernetes: --image is required (the container image that holds the app)")
    if IMAGE.match(options.image) is None:
        raise ConfigError(f"--image: {options.image!r} is not an image reference")
    if options.restart != "always":
        raise ConfigError(f"--restart {options.restart}: Kubernetes Deployments always restart their pods")
    security = _security_context(options.user)
    for spec in formation.types:
        check_env_names(formation.env_of(spec), CONFIGMAP_KEY, ENGINE, "letters, digits, '-', '_' or '.'")
    app = formation.app_name(ENGINE, dns_label)
    components = _components(formation, app)
    documents: list[object] = []
    notes: list[str] = []
    for spec in formation.types:
        if spec.opts.restart not in (None, "always"):
            raise ConfigError(
                f"{spec.name}: restart = {spec.opts.restart!r}: Kubernetes Deployments always restart their pods"
            )
    config_name = f"{app}-env"
    if formation.env:
        documents.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": config_name, "labels": {NAME_LABEL: app}},
                "data": dict(formation.env),
            }
        )
    for spec in formation.types:
        component = components[spec.name]
        name = f"{app}-{component}"
        labels = {NAME_LABEL: app, COMPONENT_LABEL: component}
        container: dict[str, object] = {
            "name": component,
            "image": options.image,
            "command": ["/bin/sh", "-c", literal_dollars(spec.in_cwd(exec_form(spec.command)))],
            # Pods have their own addresses, so every replica listens on the type's port.
            "env": [
                {"name": "PORT", "value": str(spec.port)},
                {"name": "PS", "value": spec.name},
                *({"name": key, "value": value} for key, value in spec.opts.env.items()),
            ],
        }
        if formation.env:
            container["envFrom"] = [{"configMapRef": {"name": config_name}}]
        if spec.serves_port:
            container["ports"] = [{"containerPort": spec.port, "protocol": "TCP"}]
        probe = spec.opts.ready
        if probe is not None and exportable_probe(probe):
            container["readinessProbe"] = readiness_probe(probe, spec.probe_port)
        elif probe is not None:
            notes.append(f"{ENGINE}: {spec.name}'s log readiness has no probe equivalent; not exported")
        if spec.stop_signal != "TERM":
            # The kubelet sends only SIGTERM; a preStop hook sends the type's own signal first and waits
            # (within the grace period) for the app, PID 1 of its container, to end.
            stop = f"kill -{spec.stop_signal} 1; while kill -0 1 2>/dev/null; do sleep 1; done"
            container["lifecycle"] = {"preStop": {"exec": {"command": ["/bin/sh", "-c", stop]}}}
        if spec.opts.depends_on:
            deps = ", ".join(f"{dep} ({cond})" for dep, cond in spec.opts.depends_on.items())
            notes.append(
                f"{ENGINE}: {spec.name} depends on {deps}; Kubernetes has no start order, so the app must retry"
                " until they answer (readiness probes keep traffic away meanwhile)"
            )
        pod: dict[str, object] = {"terminationGracePeriodSeconds": whole_seconds(spec.stop_timeout(options))}
        if security:
            pod["securityContext"] = security
        pod["containers"] = [container]
        documents.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    # autostart = false: defined, scaled up with kubectl scale when wanted.
                    "replicas": spec.count if spec.opts.autostart else 0,
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                },
            }
        )
        if spec.serves_port:
            documents.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "labels": labels},
                    "spec": {
                        "selector": labels,
                        "ports": [{"port": spec.port, "targetPort": spec.port, "protocol": "TCP"}],
                    },
                }
            )
    file_name = f"{app}.yaml"
    written = shlex.quote(str(target / file_name))
    return Rendered(
        files=[OutputFile(file_name, dump_documents(documents))],
        notes=notes,
        next_steps=[f"kubectl apply -f {written}"],
    )


def readiness_probe(probe: Probe, port: int) -> dict[str, object]:
    """A Kubernetes readinessProbe: httpGet, tcpSocket or exec, with whole-second timings."""
    if probe.kind == "http":
        action: dict[str, object] = {"httpGet": {"path": probe.path, "port": port}}
    elif probe.kind == "tcp":
        action = {"tcpSocket": {"port": port}}
    else:
        action = {"exec": {"command": ["/bin/sh", "-c", probe.command]}}
    return {
        **action,
        "initialDelaySeconds": whole(probe.initial_delay),
        "periodSeconds": whole(probe.interval, 1),
        "timeoutSeconds": whole(probe.timeout, 1),
        "failureThreshold": probe.retries,
    }


def _components(formation: Formation, app: str) -> dict[str, str]:
    """Each type's DNS-safe name, refusing two types that clean to the same name or names too long."""
    seen: dict[str, str] = {}
    components: dict[str, str] = {}
    for spec in formation.types:
        component = clean_name(spec.name, LABEL_INVALID, lower=True, edges="-")
        if not component:
            raise ConfigError(f"kubernetes: process type {spec.name!r} has no letters or digits to name it by")
        if component in seen:
            raise ConfigError(f"kubernetes: types {seen[component]!r} and {spec.name!r} both become {component!r}")
        if len(app) + 1 + len(component) > MAX_NAME:
            raise ConfigError(f"kubernetes: {app}-{component} is longer than {MAX_NAME} characters; use a shorter -a")
        seen[component] = spec.name
        components[spec.name] = component
    return components


def _security_context(user: str | None) -> dict[str, int]:
    """runAsUser (and runAsGroup) from -u, which Kubernetes only takes as numbers."""
    if user is None:
        return {}
    match = NUMERIC_USER.match(user)
    if match is None:
        raise ConfigError(f"-u: Kubernetes needs a numeric user id (UID or UID:GID), got {user!r}")
    context = {"runAsUser": int(match.group(1))}
    if match.group(2) is not None:
        context["runAsGroup"] = int(match.group(2))
    return context
