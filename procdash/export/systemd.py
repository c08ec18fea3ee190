"""systemd export: APP.target plus an APP-TYPE@.service template per type; instance N runs TYPE.N."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from procdash.core.errors import ConfigError
from procdash.core.shell import exec_form
from procdash.export.model import (
    SHELL_NAME,
    Formation,
    OutputFile,
    Rendered,
    TypeSpec,
    check_env_names,
    check_plain_path,
    clean_name,
    duration,
    refuse_option,
)

ENGINE = "systemd"
# Unit names allow [A-Za-z0-9:_.\-]; ':' and '\' are left out because they read as escapes elsewhere.
UNIT_INVALID = r"[^A-Za-z0-9_.-]"
USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system")
RESTART = {"always": "always", "on-failure": "on-failure", "no": "no"}
C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b"}
C_ESCAPES |= {"\f": "\\f", "\v": "\\v"}


def quote(value: str, *, dollars: bool = False) -> str:
    """One double-quoted word per systemd.syntax: C escapes, ``%%`` for ``%``, ``$$`` in command lines."""
    return f'"{escape(value, dollars=dollars)}"'


def escape(value: str, *, dollars: bool = False) -> str:
    """The inside of a double-quoted systemd word that unquotes, unescapes and expands to ``value``."""
    out = []
    for ch in value:
        if ch in C_ESCAPES:
            out.append(C_ESCAPES[ch])
        elif ch == "%":
            out.append("%%")
        elif ch == "$" and dollars:
            out.append("$$")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def plain_value(value: str, what: str) -> str:
    """A setting taken verbatim after specifier expansion (paths, names): only ``%`` needs escaping."""
    if value != value.strip() or re.search(r"[\x00-\x1f\x7f]", value):
        raise ConfigError(f"{ENGINE}: {what} {value!r} has leading/trailing blanks or control characters")
    return value.replace("%", "%%")


def render(formation: Formation, target: Path) -> Rendered:
    """Write the target and one template per type; the target wants every instance of the formation."""
    options = formation.options
    refuse_option(options.image, "--image", ENGINE, "it runs the commands on the host")
    if options.user is not None and USER_NAME.match(options.user) is None:
        raise ConfigError(f"-u: {options.user!r} is not a user name systemd accepts")
    for spec in formation.types:
        check_env_names(
            formation.env_of(spec), SHELL_NAME, ENGINE, "letters, digits and '_', not starting with a digit"
        )
    app = formation.app_name(ENGINE, lambda text: clean_name(text, UNIT_INVALID))
    # An autostart = false type has its template, but the target does not start it (systemctl start does).
    wants = [f"{app}-{t.name}@{n}.service" for t in formation.types if t.opts.autostart for n in range(1, t.count + 1)]
    target_unit = "\n".join(
        [
            "[Unit]",
            f"Description={app} (procdash formation)",
            *([f"Wants={' '.join(wants)}"] if wants else []),
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )
    files = [OutputFile(f"{app}.target", target_unit)]
    notes: list[str] = []
    files += [OutputFile(f"{app}-{t.name}@.service", _service(formation, app, t, notes)) for t in formation.types]
    steps = ["systemctl daemon-reload", f"systemctl enable --now {app}.target"]
    if str(target) not in UNIT_DIRS:
        names = " ".join(shlex.quote(str(target / item.name)) for item in files)
        steps.insert(0, f"cp {names} /etc/systemd/system/")
    return Rendered(files=files, notes=notes, next_steps=steps)


def _service(formation: Formation, app: str, spec: TypeSpec, notes: list[str]) -> str:
    """The template unit of one type: %i is the instance number, PORT follows the Foreman rule."""
    options = formation.options
    # PORT cannot be written per instance in a template, so the shell computes base + N - 1 from %i.
    prefix = f"PORT=$$(({spec.port} + %i - 1)); export PORT; "
    exec_start = f'/bin/sh -c "{prefix}{escape(exec_form(spec.command), dollars=True)}"'
    # After= orders the start (and, reversed, the stop); Requires= stops a dependent whose dependency fails.
    deps = [f"{app}-{dep}@{n}.service" for dep in spec.opts.depends_on for n in range(1, formation.spec(dep).count + 1)]
    lines = [
        "[Unit]",
        f"Description={app} {spec.name}.%i",
        f"PartOf={app}.target",
        f"After={' '.join(['network.target', *deps])}",
        *([f"Requires={' '.join(deps)}"] if deps else []),
        "",
        "[Service]",
        f"WorkingDirectory={plain_value(str(formation.root / (spec.opts.cwd or '.')), 'working directory')}",
    ]
    restart = spec.restart(options)
    completed_by = [t.name for t in formation.types if t.opts.depends_on.get(spec.name) == "completed"]
    if completed_by:
        # A oneshot unit is "started" only once it has exited successfully, so After= waits for that.
        lines += ["Type=oneshot", "RemainAfterExit=yes"]
        if restart == "always":
            restart = "on-failure"
            notes.append(f"{ENGINE}: {spec.name} runs once for {', '.join(completed_by)}: Restart=on-failure")
    if options.user is not None:
        lines.append(f"User={options.user}")
    lines.append(f'Environment="PS={spec.name}.%i"')
    lines += [f"Environment={quote(f'{key}={value}')}" for key, value in formation.env_of(spec).items()]
    lines.append(f"ExecStart={exec_start}")
    probe = spec.opts.ready
    if probe is not None and probe.kind == "exec":
        # The unit turns active (and its dependents start) only once the probe passes.
        check = f"until {probe.command}; do sleep {probe.interval:g}; done"
        lines.append(f'ExecStartPost=/bin/sh -c "{escape(check, dollars=True)}"')
    elif probe is not None:
        notes.append(
            f"{ENGINE}: {spec.name}'s {probe.kind} readiness is not exported (systemd has no such check);"
            " its dependents start once it has started"
        )
    lines += [
        f"Restart={RESTART[restart]}",
        "RestartSec=1",
        "KillMode=mixed",
        *([f"KillSignal=SIG{spec.stop_signal}"] if spec.stop_signal != "TERM" else []),
        f"TimeoutStopSec={duration(spec.stop_timeout(options))}",
        f"SyslogIdentifier={spec.name}.%i",
    ]
    if spec.opts.success_exit_codes != frozenset({0}):
        codes = " ".join(str(code) for code in sorted(spec.opts.success_exit_codes))
        lines.append(f"SuccessExitStatus={codes}")
    if options.log is not None:
        log_dir = check_plain_path(options.log, "-l")
        lines.append(f"StandardOutput=append:{log_dir}/{spec.name}.%i.log")
    lines += ["", "[Install]", f"WantedBy={app}.target", ""]
    return "\n".join(lines)
