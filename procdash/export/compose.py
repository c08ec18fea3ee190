"""Docker Compose export: compose.yaml with a service per type and deploy.replicas from the formation."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path, PurePath

from procdash.core.errors import ConfigError
from procdash.core.shell import exec_form
from procdash.export.model import Formation, OutputFile, Rendered, clean_name, duration, refuse_option
from procdash.export.readiness import compose_condition, exportable_probe, probe_shell
from procdash.export.yamlout import dump_documents

ENGINE = "Docker Compose"
FILE_NAME = "compose.yaml"
# Compose project names: lowercase letters, digits, '_' and '-', starting with a letter or digit.
PROJECT_INVALID = r"[^a-z0-9_-]"
USER_SPEC = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?\Z")
IMAGE = re.compile(r"\S+\Z")


def literal_dollars(text: str) -> str:
    """Escape ``$`` as ``$$`` so Compose's variable interpolation hands the text over unchanged."""
    return text.replace("$", "$$")


def build_context(root: Path, target: Path) -> str:
    """The project root relative to where compose.yaml lands, as Compose resolves build paths."""
    relative = os.path.relpath(root, target.absolute())
    return PurePath(relative).as_posix() if relative != "." else "."


def render(formation: Formation, target: Path) -> Rendered:
    """Write compose.yaml; each service runs ``sh -c`` on its command with the .env values inline."""
    options = formation.options
    refuse_option(options.log, "-l", ENGINE, "logs go to `docker compose logs`")
    if options.user is not None and USER_SPEC.match(options.user) is None:
        raise ConfigError(f"-u: {options.user!r} is not a Compose user (NAME, UID or NAME:GROUP)")
    if options.image is not None and IMAGE.match(options.image) is None:
        raise ConfigError(f"--image: {options.image!r} is not an image reference")
    app = formation.app_name(ENGINE, lambda text: clean_name(text, PROJECT_INVALID, lower=True, edges="-_"))
    services: dict[str, object] = {}
    notes: list[str] = []
    for spec in formation.types:
        service: dict[str, object] = {}
        if options.image is not None:
            service["image"] = options.image
        else:
            service["build"] = build_context(formation.root, target)
        service["command"] = ["/bin/sh", "-c", literal_dollars(spec.in_cwd(exec_form(spec.command)))]
        environment = {key: literal_dollars(value) for key, value in formation.env_of(spec).items()}
        # Every replica has its own network namespace, so all of them listen on the type's port.
        environment["PORT"] = str(spec.port)
        environment["PS"] = spec.name
        service["environment"] = environment
        if spec.serves_port:
            service["expose"] = [str(spec.port)]
        service["deploy"] = {"replicas": spec.count}
        service["restart"] = spec.restart(options)
        service["init"] = True
        if spec.stop_signal != "TERM":
            service["stop_signal"] = f"SIG{spec.stop_signal}" if not spec.stop_signal.isdigit() else spec.stop_signal
        service["stop_grace_period"] = duration(spec.stop_timeout(options))
        probe = spec.opts.ready
        if probe is not None and exportable_probe(probe):
            service["healthcheck"] = {
                "test": ["CMD-SHELL", literal_dollars(probe_shell(probe, spec.probe_port))],
                "interval": duration(probe.interval),
                "timeout": duration(probe.timeout),
                "retries": probe.retries,
                "start_period": duration(probe.initial_delay),
            }
        elif probe is not None:
            notes.append(f"{ENGINE}: {spec.name}'s log readiness has no health check equivalent; not exported")
        if spec.opts.depends_on:
            service["depends_on"] = {
                dep: {"condition": compose_condition(cond, formation.spec(dep))}
                for dep, cond in spec.opts.depends_on.items()
            }
        if not spec.opts.autostart:
            # Compose starts a service with a profile only when asked: `docker compose --profile manual up`.
            service["profiles"] = ["manual"]
        if options.user is not None:
            service["user"] = options.user
        services[spec.name] = service
    text = dump_documents([{"name": app, "services": services}])
    written = shlex.quote(str(target / FILE_NAME))
    return Rendered(files=[OutputFile(FILE_NAME, text)], notes=notes, next_steps=[f"docker compose -f {written} up -d"])
