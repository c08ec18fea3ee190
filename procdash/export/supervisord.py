"""supervisord export: one program per type with numprocs, grouped under the app, PORT per instance."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from procdash.core.errors import ConfigError
from procdash.core.shell import exec_form, sh_quote
from procdash.export.model import (
    SHELL_NAME,
    Formation,
    OutputFile,
    Rendered,
    TypeSpec,
    check_env_names,
    check_plain_path,
    clean_name,
    refuse_option,
    whole_seconds,
)

ENGINE = "supervisord"
# Program and group names: ':' separates group from process in supervisorctl, so keep to a safe set.
NAME_INVALID = r"[^A-Za-z0-9_.-]"
USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
AUTORESTART = {"always": "true", "on-failure": "unexpected", "no": "false"}
PRIORITY_BASE = 900  # supervisord's default is 999; dependency levels step up from here
PRIORITY_STEP = 10
CONF_DIR = "/etc/supervisor/conf.d"  # Debian's and Ubuntu's include directory
CONTINUATION = "\n    "
# supervisord reads its files with inline comments on: ';' or '#' after a blank ends the value.
INLINE_COMMENT = re.compile(r"\s[;#]")


def percent(text: str) -> str:
    """Escape ``%`` for supervisord's own %(name)s expansion of every value."""
    return text.replace("%", "%%")


def command_word(text: str) -> str:
    """Encode ``text`` as one word for supervisord's ``shlex.split`` that its ini reader keeps intact.

    Double quotes carry most of it; a ';' or '#' after a blank and each newline are written outside
    the quotes as backslash escapes, so the ini reader neither cuts a comment nor ends the value.
    """
    out: list[str] = []
    quoted = False
    previous = ""
    for ch in text:
        outside = ch == "\n" or (ch in ";#" and previous.isspace())
        if outside and quoted:
            out.append('"')
            quoted = False
        if ch == "\n":
            out.append("\\" + CONTINUATION)
        elif outside:
            out.append("\\" + ch)
        else:
            if not quoted:
                out.append('"')
                quoted = True
            out.append("\\" + ch if ch in '"\\' else ch)
        previous = ch
    if quoted or not out:
        out.append('"' if quoted else '""')
    elif out[-1].endswith(CONTINUATION):
        out.append('""')
    return "".join(out)


def env_entry(key: str, value: str) -> str | None:
    """``KEY="value"`` for supervisord's environment=, or None when that syntax cannot carry the value.

    supervisord splits environment= with a non-POSIX shlex and then strips quote characters from
    both ends, so values with newlines, both kinds of quote, an edge quote or a comment marker
    after a blank are passed through the shell command instead.
    """
    if "\n" in value or "\r" in value or INLINE_COMMENT.search(value):
        return None
    if value and (value[0] in "'\"" or value[-1] in "'\""):
        return None
    if '"' not in value:
        return f'{key}="{percent(value)}"'
    if "'" not in value:
        return f"{key}='{percent(value)}'"
    return None


def plain_value(value: str, what: str) -> str:
    """A setting supervisord takes as written (directory, user): reject what its ini reader would mangle."""
    if value != value.strip() or INLINE_COMMENT.search(value) or re.search(r"[\x00-\x1f\x7f]", value):
        raise ConfigError(f"{ENGINE}: {what} {value!r} has blanks at an edge, control characters or ' ;'/' #'")
    return percent(value)


def render(formation: Formation, target: Path) -> Rendered:
    """Write APP.conf: a group and one numprocs program per type, ready for ``supervisorctl update``."""
    options = formation.options
    refuse_option(options.image, "--image", ENGINE, "it runs the commands on the host")
    if options.user is not None and USER_NAME.match(options.user) is None:
        raise ConfigError(f"-u: {options.user!r} is not a user name supervisord accepts")
    for spec in formation.types:
        check_env_names(
            formation.env_of(spec), SHELL_NAME, ENGINE, "letters, digits and '_', not starting with a digit"
        )
    for key, value in formation.env.items():
        if "\r" in value:
            raise ConfigError(f"{ENGINE}: cannot export {key}: a carriage return does not survive an ini file")
    app = formation.app_name(ENGINE, lambda text: clean_name(text, NAME_INVALID))
    entries = {key: env_entry(key, value) for key, value in formation.env.items()}
    in_shell = [key for key, entry in entries.items() if entry is None]
    programs = [f"{app}-{t.name}" for t in formation.types]
    sections = [
        f"; procdash export for {app}: supervisorctl reread && supervisorctl update",
        f"[group:{app}]\nprograms={','.join(programs)}\n",
    ]
    sections += [_program(formation, app, t, entries) for t in formation.types]
    steps = ["supervisorctl reread", "supervisorctl update", f"supervisorctl status '{app}:*'"]
    if str(target) != CONF_DIR:
        steps.insert(0, f"cp {shlex.quote(str(target / f'{app}.conf'))} {CONF_DIR}/")
    notes = []
    if any(t.opts.depends_on or t.opts.ready for t in formation.types):
        notes.append(
            f"{ENGINE}: start order is kept with priority=, but supervisord does not wait for a dependency to be"
            " ready or completed before starting the next"
        )
    if in_shell:
        notes.append(
            f"{ENGINE}: {', '.join(in_shell)} set in the command line, as environment= cannot hold their values"
        )
    return Rendered(
        files=[OutputFile(f"{app}.conf", "\n".join(sections))],
        notes=notes,
        next_steps=steps,
    )


def _program(formation: Formation, app: str, spec: TypeSpec, entries: dict[str, str | None]) -> str:
    """One [program:] section; process_num is the instance number and the shell derives PORT from it."""
    options = formation.options
    exports = "".join(
        f"export {key}={percent(sh_quote(formation.env[key]))}; " for key, entry in entries.items() if entry is None
    )
    own = {key: env_entry(key, value) for key, value in spec.opts.env.items()}
    exports += "".join(f"export {key}={percent(sh_quote(spec.opts.env[key]))}; " for key, e in own.items() if e is None)
    script = f"PORT=$(({spec.port} + %(process_num)d - 1)); export PORT; {exports}{percent(exec_form(spec.command))}"
    shared = [entry for key, entry in entries.items() if entry is not None and key not in own]
    environment = [
        f'PS="{spec.name}.%(process_num)d"',
        *shared,
        *(entry for entry in own.values() if entry is not None),
    ]
    codes = ",".join(str(code) for code in sorted(spec.opts.success_exit_codes))
    directory = formation.root / (spec.opts.cwd or ".")
    lines = [
        f"[program:{app}-{spec.name}]",
        f"command=/bin/sh -c {command_word(script)}",
        "process_name=%(program_name)s-%(process_num)d",
        f"numprocs={max(spec.count, 1)}",
        "numprocs_start=1",
        f"directory={plain_value(str(directory), 'working directory')}",
        # A type scaled to 0 (or autostart = false) is still defined, so `supervisorctl start` can start it.
        f"autostart={'true' if spec.count and spec.opts.autostart else 'false'}",
        f"autorestart={AUTORESTART[spec.restart(options)]}",
        f"exitcodes={codes}",
        # Lower priorities start first and stop last: dependencies before their dependents.
        f"priority={PRIORITY_BASE + PRIORITY_STEP * spec.level}",
        f"stopsignal={spec.stop_signal}",
        f"stopwaitsecs={whole_seconds(spec.stop_timeout(options))}",
        "stopasgroup=true",
        "killasgroup=true",
    ]
    if options.user is not None:
        lines.append(f"user={options.user}")
    lines.append(f"environment={','.join(environment)}")
    lines.append("redirect_stderr=true")
    if options.log is not None:
        log_dir = percent(check_plain_path(options.log, "-l"))
        lines.append(f"stdout_logfile={log_dir}/%(program_name)s-%(process_num)d.log")
    return "\n".join(lines) + "\n"
