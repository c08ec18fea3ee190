"""compose.yaml: valid against the Compose specification's schema, values intact after interpolation."""

from __future__ import annotations

import importlib.util
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from procdash.core.shell import exec_form
from procdash.export import compose
from tests.export.helpers import TRICKY_ENV, formation, make_project

# The Compose specification's schema as check-jsonschema (PyPI) vendors it from the compose-spec project.
SCHEMA_PACKAGE = "check_jsonschema.builtin_schemas.vendor"
needs_schema = pytest.mark.skipif(
    importlib.util.find_spec("check_jsonschema") is None,
    reason="check-jsonschema 0.39+ (which carries the Compose schema) needs Python 3.11+",
)


def compose_schema() -> dict[str, Any]:
    """Load compose-spec.json from the installed check-jsonschema package."""
    schema: dict[str, Any] = json.loads((resources.files(SCHEMA_PACKAGE) / "compose-spec.json").read_text())
    return schema


def validate(document: object) -> None:
    """Raise unless ``document`` satisfies the Compose specification."""
    import jsonschema  # installed with check-jsonschema

    schema = compose_schema()
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def interpolate(value: str) -> str:
    """Compose's interpolation for text without variables: "$$" is a literal "$"; a lone "$" is not ours."""
    assert re.search(r"(?<!\$)(\$\$)*\$(?!\$)", value) is None, f"unescaped $ in {value!r}"
    return value.replace("$$", "$")


def project(tmp_path: Path) -> Path:
    """A three-type project: one serving $PORT, one worker, one scaled to zero."""
    return make_project(
        tmp_path / "My_Proj", "web: serve --port ${PORT:-1} 100%\nworker: work && echo $HOME\nidle: nap\n"
    )


@needs_schema
def test_compose_file_matches_the_specification(tmp_path: Path) -> None:
    rendered = compose.render(formation(project(tmp_path), env=TRICKY_ENV, user="1000:1000", timeout=2.5), tmp_path)
    assert [f.name for f in rendered.files] == ["compose.yaml"]
    document = yaml.safe_load(rendered.files[0].text)
    validate(document)
    assert document["name"] == "my_proj"
    services = document["services"]
    assert list(services) == ["web", "worker", "idle"]
    assert [services[name]["deploy"]["replicas"] for name in services] == [2, 1, 0]
    assert services["web"]["expose"] == ["5000"]
    assert "expose" not in services["worker"]
    assert services["web"]["build"] == "My_Proj"
    assert services["web"]["stop_grace_period"] == "2500ms"
    assert services["web"]["restart"] == "always"
    assert services["worker"]["user"] == "1000:1000"


@needs_schema
def test_schema_check_is_strict_enough_to_fail(tmp_path: Path) -> None:
    import jsonschema

    rendered = compose.render(formation(project(tmp_path)), tmp_path)
    document = yaml.safe_load(rendered.files[0].text)
    document["services"]["web"]["deploy"]["replicas"] = "two"
    document["services"]["web"]["no_such_key"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate(document)


def test_env_and_commands_survive_yaml_and_interpolation(tmp_path: Path) -> None:
    model = formation(project(tmp_path), env=TRICKY_ENV, image="registry.example/app:1.2")
    document = yaml.safe_load(compose.render(model, tmp_path).files[0].text)
    for spec in model.types:
        service = document["services"][spec.name]
        assert service["image"] == "registry.example/app:1.2" and "build" not in service
        environment = {key: interpolate(value) for key, value in service["environment"].items()}
        assert environment == {**TRICKY_ENV, "PORT": str(spec.port), "PS": spec.name}
        command = [interpolate(word) for word in service["command"]]
        assert command == ["/bin/sh", "-c", exec_form(spec.command)]
