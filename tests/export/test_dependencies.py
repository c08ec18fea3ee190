"""Procfile.toml's readiness, dependencies and stop signals in every export, checked by each engine's own tools."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from procdash.core.errors import ConfigError
from procdash.core.project import load_project
from procdash.export import compose, kubernetes, supervisord, systemd
from procdash.export.model import ExportOptions, Formation, build_formation
from tests.export.test_compose import validate as validate_compose
from tests.export.test_kubernetes import IMAGE, KUBERNETES_VERSION
from tests.export.test_supervisord import install, parsed_processes
from tests.export.test_systemd import needs_analyze, verify, write_units
from tests.helpers import write

PROCFILE = "web: serve --port $PORT\nworker: work\ndb: postgres -p $PORT\nmigrate: migrate\ntool: shell\n"
OPTIONS = """
[web]
depends_on = { db = "ready", migrate = "completed" }
ready = { http = "/healthz", interval = 2, timeout = 1.5, initial_delay = 3, retries = 4 }
stop_signal = "INT"
stop_timeout = 12
env = { WEB_ONLY = "1" }
cwd = "app"

[worker]
depends_on = ["web"]
ready = { log = "started" }
success_exit_codes = [0, 3]
restart = "on-failure"

[db]
ready = "tcp"

[migrate]
depends_on = { db = "ready" }
ready = { exec = "test -f /tmp/migrated" }

[tool]
autostart = false
"""


def model(tmp_path: Path, **options: object) -> Formation:
    """The sample project with its Procfile.toml, as exporters see it."""
    root = tmp_path / "shop"
    write(root / "Procfile", PROCFILE)
    write(root / "Procfile.toml", OPTIONS)
    (root / "app").mkdir()
    project = load_project(procfile=None, root=str(root), env=None, formation=None, port=None, environ={})
    return build_formation(project, ExportOptions(**options))  # type: ignore[arg-type]


def test_compose_depends_on_conditions_and_healthchecks(tmp_path: Path) -> None:
    rendered = compose.render(model(tmp_path), tmp_path)
    document = yaml.safe_load(rendered.files[0].text)
    validate_compose(document)
    services = document["services"]
    assert services["web"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["worker"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert services["web"]["healthcheck"] == {
        "test": [
            "CMD-SHELL",
            "curl -fsS -o /dev/null 'http://127.0.0.1:5000/healthz' || wget -q -O /dev/null 'http://127.0.0.1:5000/healthz'",
        ],
        "interval": "2s",
        "timeout": "1500ms",
        "retries": 4,
        "start_period": "3s",
    }
    assert services["db"]["healthcheck"]["test"] == ["CMD-SHELL", "nc -z 127.0.0.1 5200"]
    assert services["migrate"]["healthcheck"]["test"] == ["CMD-SHELL", "test -f /tmp/migrated"]
    assert "healthcheck" not in services["worker"]
    assert services["web"]["stop_signal"] == "SIGINT" and services["web"]["stop_grace_period"] == "12s"
    assert services["web"]["environment"]["WEB_ONLY"] == "1"
    assert services["web"]["command"][2] == "cd app && exec serve --port $$PORT"
    assert services["worker"]["restart"] == "on-failure"
    assert services["tool"]["profiles"] == ["manual"]
    assert any("worker's log readiness" in note for note in rendered.notes)


def test_kubernetes_readiness_probes_and_stop_signal_validate(tmp_path: Path) -> None:
    rendered = kubernetes.render(always_restarting(model(tmp_path, image=IMAGE)), tmp_path)
    manifests = list(yaml.safe_load_all(rendered.files[0].text))
    for manifest in manifests:
        assert kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True) == "1.30"
    deployments = {m["metadata"]["name"].removeprefix("shop-"): m for m in manifests if m["kind"] == "Deployment"}

    def container(name: str) -> dict[str, object]:
        return deployments[name]["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]

    assert container("web")["readinessProbe"] == {
        "httpGet": {"path": "/healthz", "port": 5000},
        "initialDelaySeconds": 3,
        "periodSeconds": 2,
        "timeoutSeconds": 2,
        "failureThreshold": 4,
    }
    assert container("db")["readinessProbe"]["tcpSocket"] == {"port": 5200}  # type: ignore[index]
    assert container("migrate")["readinessProbe"]["exec"] == {  # type: ignore[index]
        "command": ["/bin/sh", "-c", "test -f /tmp/migrated"]
    }
    assert "readinessProbe" not in container("worker")
    assert container("web")["lifecycle"] == {
        "preStop": {
            "exec": {"command": ["/bin/sh", "-c", "kill -INT 1; while kill -0 1 2>/dev/null; do sleep 1; done"]}
        }
    }
    assert deployments["web"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 12
    assert deployments["tool"]["spec"]["replicas"] == 0
    assert {"name": "WEB_ONLY", "value": "1"} in container("web")["env"]  # type: ignore[operator]
    assert any(
        "Kubernetes has no start order" in note and note.startswith("Kubernetes: web") for note in rendered.notes
    )


def test_kubernetes_refuses_a_type_that_must_not_restart(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="worker: restart = 'on-failure': Kubernetes Deployments always restart"):
        kubernetes.render(model(tmp_path, image=IMAGE), tmp_path)


def always_restarting(formation: Formation) -> Formation:
    """The model with worker's own restart policy dropped (Kubernetes only restarts)."""
    types = [replace(t, opts=replace(t.opts, restart=None)) for t in formation.types]
    return replace(formation, types=types)


@needs_analyze
def test_systemd_after_requires_kill_signal_and_oneshot_dependency_verify(tmp_path: Path) -> None:
    rendered = systemd.render(model(tmp_path), tmp_path)
    units = tmp_path / "units"
    units.mkdir()
    write_units(rendered, units)
    done = verify(units, "shop.target", "shop-web@1.service", "shop-migrate@1.service", "shop-worker@1.service")
    assert done.returncode == 0, done.stderr
    web = (units / "shop-web@.service").read_text().splitlines()
    assert "After=network.target shop-db@1.service shop-migrate@1.service" in web
    assert "Requires=shop-db@1.service shop-migrate@1.service" in web
    assert "KillSignal=SIGINT" in web and "TimeoutStopSec=12s" in web
    assert f"WorkingDirectory={tmp_path}/shop/app" in web
    migrate = (units / "shop-migrate@.service").read_text().splitlines()
    assert "Type=oneshot" in migrate and "RemainAfterExit=yes" in migrate and "Restart=on-failure" in migrate
    assert 'ExecStartPost=/bin/sh -c "until test -f /tmp/migrated; do sleep 1; done"' in migrate
    target = (units / "shop.target").read_text()
    assert "shop-web@1.service" in target and "shop-tool@" not in target
    worker = (units / "shop-worker@.service").read_text().splitlines()
    assert "SuccessExitStatus=0 3" in worker
    assert any("web's http readiness is not exported" in note for note in rendered.notes)


def test_supervisord_priority_stopsignal_and_exit_codes_as_its_parser_reads_them(tmp_path: Path) -> None:
    rendered = supervisord.render(model(tmp_path), tmp_path)
    processes = parsed_processes(install(rendered, tmp_path))
    web, worker = processes["shop-web-1"], processes["shop-worker-1"]
    db, migrate, tool = processes["shop-db-1"], processes["shop-migrate-1"], processes["shop-tool-1"]
    assert (db.priority, migrate.priority, web.priority, worker.priority) == (900, 910, 920, 930)
    assert web.stopsignal == 2 and web.stopwaitsecs == 12
    assert web.directory == f"{tmp_path}/shop/app" and web.environment["WEB_ONLY"] == "1"
    assert worker.exitcodes == [0, 3]
    assert tool.autostart is False and db.autostart is True
    assert any("priority=" in note for note in rendered.notes)
