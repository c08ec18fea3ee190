"""Kubernetes manifests: valid for a pinned Kubernetes version offline, names DNS-safe, values intact."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from procdash.core.errors import ConfigError
from procdash.core.shell import exec_form
from procdash.export import kubernetes
from tests.export.helpers import TRICKY_ENV, formation, make_project

KUBERNETES_VERSION = "1.30.0"
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?\Z")
IMAGE = "registry.example/app:1.2"


def expand(value: str) -> str:
    """Kubernetes' $(VAR) expansion for text that names no variable: "$$" becomes "$"."""
    out, i = [], 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        else:
            assert not value.startswith("$(", i), f"unescaped $( in {value!r}"
            out.append(value[i])
            i += 1
    return "".join(out)


def documents(tmp_path: Path, **options: Any) -> list[Any]:
    """Render the sample project and load every manifest."""
    root = make_project(tmp_path / "2nd_App", "web: serve --port $PORT $(echo x)\nbg_Worker: work\nidle: nap\n")
    model = formation(root, counts="web=2,idle=0", env=TRICKY_ENV, image=IMAGE, **options)
    rendered = kubernetes.render(model, tmp_path)
    assert [f.name for f in rendered.files] == ["app-2nd-app.yaml"]
    return list(yaml.safe_load_all(rendered.files[0].text))


def test_manifests_validate_strictly_for_a_pinned_version(tmp_path: Path) -> None:
    manifests = documents(tmp_path, user="1000:2000", timeout=2.5)
    assert [(m["kind"], m["metadata"]["name"]) for m in manifests] == [
        ("ConfigMap", "app-2nd-app-env"),
        ("Deployment", "app-2nd-app-web"),
        ("Service", "app-2nd-app-web"),
        ("Deployment", "app-2nd-app-bg-worker"),
        ("Deployment", "app-2nd-app-idle"),
    ]
    for manifest in manifests:
        assert kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True) == "1.30"
        assert DNS_LABEL.match(manifest["metadata"]["name"])
    web = manifests[1]["spec"]
    assert web["replicas"] == 2
    assert web["selector"]["matchLabels"] == web["template"]["metadata"]["labels"] == manifests[2]["spec"]["selector"]
    pod = web["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 3
    assert pod["securityContext"] == {"runAsUser": 1000, "runAsGroup": 2000}
    assert pod["containers"][0]["ports"] == [{"containerPort": 5000, "protocol": "TCP"}]
    assert manifests[2]["spec"]["ports"] == [{"port": 5000, "targetPort": 5000, "protocol": "TCP"}]
    assert manifests[4]["spec"]["replicas"] == 0


def test_validation_would_catch_a_bad_manifest(tmp_path: Path) -> None:
    deployment = documents(tmp_path)[1]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_env_and_commands_survive(tmp_path: Path) -> None:
    manifests = documents(tmp_path)
    assert manifests[0]["data"] == TRICKY_ENV
    commands = {"web": "serve --port $PORT $(echo x)", "bg_Worker": "work", "idle": "nap"}
    for deployment in (m for m in manifests if m["kind"] == "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: expand(item["value"]) for item in container["env"]}
        type_name = env["PS"]
        assert [expand(word) for word in container["command"]] == ["/bin/sh", "-c", exec_form(commands[type_name])]
        assert container["envFrom"] == [{"configMapRef": {"name": "app-2nd-app-env"}}]
        assert env["PORT"] == {"web": "5000", "bg_Worker": "5100", "idle": "5200"}[type_name]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"image": None}, "--image is required"),
        ({"restart": "no"}, "Deployments always restart"),
        ({"user": "www-data"}, "numeric user id"),
        ({"log": Path("logs")}, "-l: not used by Kubernetes"),
        ({"app": "Bad_Name"}, "try -a bad-name"),
    ],
)
def test_refusals(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    make_project(tmp_path / "p", "web: serve\n")
    settings: dict[str, Any] = {"image": IMAGE, **options}
    with pytest.raises(ConfigError, match=re.escape(message)):
        kubernetes.render(formation(tmp_path / "p", counts="", **settings), tmp_path)


def test_types_that_clash_once_cleaned_are_refused(tmp_path: Path) -> None:
    make_project(tmp_path / "p", "a_b: x\na-b: y\n")
    with pytest.raises(ConfigError, match="both become 'a-b'"):
        kubernetes.render(formation(tmp_path / "p", counts="", image=IMAGE), tmp_path)
