"""Guarantee 6: bad input is one clear line and exit 2 before anything starts; runtime trouble is never a crash."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from procdash.core import events as ev
from procdash.core.instance import State
from procdash.core.supervisor import Supervisor
from tests.faults.support import PtyProcdash, drive, make_supervisor, procdash_argv, procdash_env, run_procdash
from tests.helpers import wait_until

# Every type would leave a marker file the moment it ran, so "no process started" is checkable.
GOOD = "web: touch started-web; exec sleep 1000\nworker: touch started-worker; exec sleep 1000\n"


@dataclass(frozen=True)
class Case:
    """One bad input: files to write (None deletes), directories, arguments, and what the error must name."""

    args: tuple[str, ...]
    names: str
    files: dict[str, str | bytes | None] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()  # chmod 000 (and run without root's file capabilities)
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    # Procfile
    "procfile-missing": Case((), "Procfile: no such file", files={"Procfile": None}),
    "procfile-empty": Case((), "Procfile: no process types defined", files={"Procfile": ""}),
    "procfile-only-comments": Case((), "Procfile: no process types", files={"Procfile": "# web: x\n\n   \n"}),
    "procfile-no-colon": Case((), "Procfile:2: cannot parse", files={"Procfile": "web: true\nworker sleep 1\n"}),
    "procfile-bad-name": Case((), "Procfile:1: cannot parse", files={"Procfile": "we b: sleep 1\n"}),
    "procfile-dotted-name": Case((), "Procfile:3: cannot parse", files={"Procfile": "a: x\n\nweb.1: sleep 1\n"}),
    "procfile-empty-command": Case((), "Procfile:2: cannot parse", files={"Procfile": "web: x\nworker:   \n"}),
    "procfile-duplicate": Case((), "Procfile:3: duplicate", files={"Procfile": "web: a\n# c\nweb: b\n"}),
    "procfile-all-reserved": Case((), "Procfile:1: 'all' is reserved", files={"Procfile": "all: sleep 1\n"}),
    "procfile-invalid-utf8": Case((), "Procfile:2: is not valid UTF-8", files={"Procfile": b"web: a\nw: \xff\n"}),
    "procfile-nul-byte": Case((), "Procfile:1: command contains a NUL", files={"Procfile": b"web: echo a\x00b\n"}),
    "procfile-is-directory": Case((), "Procfile: is a directory", files={"Procfile": None}, dirs=("Procfile",)),
    "procfile-flag-missing": Case(("-f", "Nope"), "Nope: no such file"),
    "procfile-unreadable": Case((), "Procfile: cannot read: Permission denied", unreadable=("Procfile",)),
    # .env
    "env-flag-missing": Case(("-e", "missing.env"), "missing.env: no such env file"),
    "env-flag-second-missing": Case(("-e", ".env,gone.env"), "gone.env: no such env file", files={".env": "A=1\n"}),
    "env-flag-empty-list": Case(("-e", ","), "-e: expected a comma-separated list"),
    "env-is-directory": Case(("-e", "conf"), "conf: is a directory", dirs=("conf",)),
    "env-invalid-utf8": Case((), ".env: env file is not valid UTF-8", files={".env": b"A=\xff\n"}),
    "env-unparsable-line": Case((), ".env:3: cannot parse 'not a binding'", files={".env": "A=1\n\nnot a binding\n"}),
    "env-unclosed-quote": Case((), ".env:2: cannot parse", files={".env": "A=1\nB='open\n"}),
    "env-nul-byte": Case((), ".env: 'A' contains a NUL byte", files={".env": b"A=x\x00y\n"}),
    "env-unreadable": Case(
        (), ".env: cannot read env file: Permission denied", files={".env": "A=1\n"}, unreadable=(".env",)
    ),
    # formation
    "formation-not-a-number": Case(("-m", "web=x"), "-m web: count must be a whole number"),
    "formation-negative": Case(("-m", "web=-1"), "-m web: count must not be negative"),
    "formation-unknown-type": Case(("-m", "nosuch=1"), "-m: unknown process type 'nosuch'"),
    "formation-no-equals": Case(("-m", "web"), "-m: expected NAME=COUNT"),
    "formation-no-name": Case(("-m", "=2"), "-m: expected NAME=COUNT"),
    "formation-too-many": Case(("-m", "web=1001"), "-m web: count 1001 is more than 1000"),
    "formation-all-bad": Case(("-m", "all=many"), "-m all: count must be a whole number"),
    "formation-honcho-flag": Case(("-c", "worker=1.5"), "-c worker: count must be a whole number"),
    "formation-flag-without-value": Case(("-m",), "argument -m/--formation: expected one argument"),
    "type-argument-unknown": Case(("start", "nosuch"), "unknown process type 'nosuch'"),
    # ports
    "port-not-a-number": Case(("-p", "http"), "-p: port must be a number"),
    "port-zero": Case(("-p", "0"), "-p: port 0 is outside 1-65535"),
    "port-too-high": Case(("-p", "65536"), "-p: port 65536 is outside"),
    "port-negative": Case(("-p", "-5"), "-p: port -5 is outside"),
    "port-formation-overflows": Case(("-p", "65500"), "-p: worker.1 would get port 65600"),
    "port-scaled-overflows": Case(("-p", "65535", "-m", "web=2"), "-p: web.2 would get port 65536"),
    # Without -p, the message blames the type whose port passes 65535 and where the base port came from.
    "port-many-types-overflow": Case(
        (),
        "t7.1 would get port 65600, past 65535 (base port 65000 from PORT in .env, +100 for each of the 6 types",
        files={".env": "PORT=65000\n", "Procfile": "".join(f"t{i}: sleep 1\n" for i in range(1, 8))},
    ),
    "port-environment-overflow": Case(
        ("-m", "worker=2"),
        "worker.2 would get port 65536, past 65535 (base port 65435 from PORT in the environment",
        env={"PORT": "65435"},
    ),
    "port-in-dotenv": Case((), "PORT in .env: port must be a number", files={".env": "PORT=abc\n"}),
    "port-in-dotenv-range": Case((), "PORT in .env: port 70000 is outside", files={".env": "PORT=70000\n"}),
    "port-in-environment": Case((), "PORT in the environment: port must be a number", env={"PORT": "eighty"}),
    # timeouts
    "timeout-not-a-number": Case(("-t", "soon"), "argument -t/--timeout: expected seconds, got 'soon'"),
    "timeout-negative": Case(("-t", "-1"), "argument -t/--timeout: expected a non-negative number"),
    "timeout-nan": Case(("-t", "nan"), "argument -t/--timeout: expected a non-negative number"),
    "timeout-infinite": Case(("-t", "inf"), "argument -t/--timeout: expected a non-negative number"),
    "timeout-empty": Case(("-t", ""), "argument -t/--timeout: expected seconds, got ''"),
    # other flags
    "restart-policy-unknown": Case(("--restart", "sometimes"), "argument --restart: invalid choice: 'sometimes'"),
    "flag-unknown": Case(("--bogus",), "unrecognized arguments: --bogus"),
    "scrollback-zero": Case(("--scrollback", "0"), "argument --scrollback: expected at least 1"),
    "scrollback-not-a-number": Case(("--scrollback", "lots"), "argument --scrollback: expected a whole number"),
    # working directory
    "root-missing": Case(("-d", "nowhere"), "nowhere: -d: no such directory"),
    "root-is-a-file": Case(("-d", "afile"), "afile: -d: no such directory", files={"afile": "x"}),
    "root-without-procfile": Case(("-d", "empty"), "Procfile: no such file", dirs=("empty",)),
    "root-unreadable": Case(
        ("-d", "locked"),
        "locked/.env: cannot read env file: Permission denied",
        dirs=("locked",),
        unreadable=("locked",),
    ),
    # Procfile.toml and .foreman
    "options-unknown-key": Case(
        (),
        "Procfile.toml:2: web.restrat: unknown key (did you mean restart?)",
        files={"Procfile.toml": "[web]\nrestrat = 1\n"},
    ),
    "options-wrong-type": Case(
        (),
        "Procfile.toml:3: worker.count: expected a whole number",
        files={"Procfile.toml": "[web]\n[worker]\ncount = 'x'\n"},
    ),
    "options-unknown-type": Case(
        (),
        "Procfile.toml:1: wbe: no process type 'wbe' in the Procfile (did you mean web?)",
        files={"Procfile.toml": "[wbe]\n"},
    ),
    "options-cycle": Case(
        (),
        "Procfile.toml:2: web.depends_on: dependency cycle: web -> worker -> web",
        files={"Procfile.toml": "[web]\ndepends_on = ['worker']\n[worker]\ndepends_on = ['web']\n"},
    ),
    "options-bad-toml": Case((), "Procfile.toml:2: invalid TOML", files={"Procfile.toml": "[web]\nrestart = \n"}),
    "options-bad-probe": Case(
        (),
        "Procfile.toml:1: web.ready.interval: expected a positive number",
        files={"Procfile.toml": "web.ready = { tcp = 1, interval = 0 }\n"},
    ),
    "options-invalid-utf8": Case((), "Procfile.toml:1: is not valid UTF-8", files={"Procfile.toml": b"\xff = 1\n"}),
    "options-flag-missing": Case(("--options", "nope.toml"), "nope.toml: no such options file"),
    "options-default-bad": Case(
        (),
        "Procfile.toml:1: timeout: expected a non-negative number of seconds",
        files={"Procfile.toml": "timeout = -2\n"},
    ),
    "options-formation-bad": Case(
        (), "Procfile.toml:1: formation: unknown process type 'wbe'", files={"Procfile.toml": "formation = 'wbe=1'\n"}
    ),
    "foreman-bad-yaml": Case((), ".foreman:2: invalid YAML", files={".foreman": "port: [\n"}),
    "foreman-bad-timeout": Case((), ".foreman:1: timeout: expected seconds", files={".foreman": "timeout: later\n"}),
    # other commands read the same input the same way
    "check-duplicate": Case(("check",), "Procfile:2: duplicate", files={"Procfile": "web: a\nweb: b\n"}),
    "run-without-command": Case(("run",), "run: expected a command"),
}


# root reads any file: for the permission cases a root test drops the two capabilities that let it,
# from the bounding set before exec, so procdash meets the refusal an ordinary user would.
DROP_DAC = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH\n"
    "    if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP\n"
    "        sys.exit(99)\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'procdash', *sys.argv[1:]])\n"
)


def prepare(root: Path, case: Case) -> list[str]:
    """Lay out the case's files; return the command line to run (without privileges if needed)."""
    (root / "Procfile").write_text(GOOD)
    for name, content in case.files.items():
        path = root / name
        if content is None:
            path.unlink(missing_ok=True)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    for name in case.dirs:
        (root / name).mkdir()
        if name == "locked":
            (root / name / "Procfile").write_text(GOOD)
    for name in case.unreadable:
        (root / name).chmod(0o000)
    if case.unreadable and os.geteuid() == 0:
        return [sys.executable, "-c", DROP_DAC, *case.args]
    return procdash_argv(*case.args)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_starts_nothing(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    project = tmp_path
    argv = prepare(project, case)
    result = subprocess.run(
        argv, cwd=project, env=procdash_env(case.env), stdin=subprocess.DEVNULL, capture_output=True, timeout=30
    )
    if result.returncode == 99:
        pytest.skip("cannot drop root's file capabilities here")
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert len(stderr.splitlines()) == 1 and stderr.endswith("\n"), stderr
    assert stderr.startswith("procdash: error: ")
    assert "Traceback" not in stderr
    assert case.names in stderr
    assert result.stdout == b""
    assert sorted(p.name for p in project.glob("started-*")) == []


def test_corpus_is_large_and_covers_every_area() -> None:
    areas = {name.split("-")[0] for name in CASES}
    assert len(CASES) >= 30
    assert {"procfile", "env", "formation", "port", "timeout", "root", "flag", "options", "foreman"} <= areas


# ----- runtime trouble: the instance shows it, procdash does not crash --------------------------------


def test_command_not_found_and_not_executable_are_instance_crashes(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho never\n")
    script.chmod(0o644)
    sup = make_supervisor(
        {"missing": "no-such-command-xyz --flag", "noexec": "./script.sh", "ok": "echo fine"}, tmp_path
    )

    async def body(sup: Supervisor) -> None:
        await wait_until(sup.is_idle, timeout=20)

    drive(sup, body)
    missing, noexec, ok = (sup.find(n) for n in ("missing.1", "noexec.1", "ok.1"))
    assert missing is not None and noexec is not None and ok is not None
    assert (missing.state, missing.exit_code) == (State.CRASHED, 127)
    assert any("not found" in line for line in missing.log.tail(5))
    assert (noexec.state, noexec.exit_code) == (State.CRASHED, 126)  # even root cannot exec without an x bit
    assert any("ermission denied" in line for line in noexec.log.tail(5))
    assert (ok.state, ok.exit_code, ok.log.tail(1)) == (State.EXITED, 0, ["fine"])


def test_unusable_working_directory_is_an_instance_crash(tmp_path: Path) -> None:
    sup = make_supervisor({"web": "echo hi"}, tmp_path / "gone")
    notices: list[str] = []
    sup.subscribe(lambda e: notices.extend(e.lines) if isinstance(e, ev.Output) else None)

    async def body(sup: Supervisor) -> None:
        await wait_until(sup.is_idle, timeout=20)

    drive(sup, body)
    web = sup.find("web.1")
    assert web is not None and web.state is State.CRASHED and web.exit_code == 127
    assert notices == [
        f"procdash: cannot start web.1: working directory {tmp_path / 'gone'}: No such file or directory"
    ]


def test_port_in_use_is_the_instance_failing_not_procdash(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "bind.py").write_text(
            "import os, socket\nsocket.socket().bind(('127.0.0.1', int(os.environ['PORT'])))\n"
        )
        (tmp_path / "Procfile").write_text(f"web: exec {sys.executable} bind.py\n")
        result = run_procdash(["start", "--no-timestamp", "-p", str(port)], cwd=tmp_path, timeout=30)
    out = result.stdout.decode()
    assert result.returncode == 1
    assert "Address already in use" in out
    assert "web.1 exited with code 1" in out
    assert result.stderr == b""


def test_procdash_run_passes_exit_codes_and_reports_missing_commands(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("web: exit 7\n")
    env = procdash_env()
    ran = subprocess.run(procdash_argv("run", "web"), cwd=tmp_path, capture_output=True, timeout=30, env=env)
    assert ran.returncode == 7
    missing = subprocess.run(
        procdash_argv("run", "no-such-command-xyz"), cwd=tmp_path, capture_output=True, timeout=30, env=env
    )
    assert missing.returncode == 127
    assert missing.stderr.decode().count("\n") == 1 and "command not found" in missing.stderr.decode()


@pytest.mark.parametrize("closed", ["<&-", ">&-", "2>&-", "<&- >&- 2>&-"])
def test_closed_standard_streams_are_not_a_crash(tmp_path: Path, closed: str) -> None:
    (tmp_path / "Procfile").write_text("web: echo hi > out.txt\n")
    wrapper = ["/bin/sh", "-c", f'exec "$@" {closed}', "sh", *procdash_argv("start")]
    result = subprocess.run(wrapper, cwd=tmp_path, capture_output=True, timeout=30, env=procdash_env())
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert (tmp_path / "out.txt").read_text() == "hi\n"


def test_closed_stdin_on_a_terminal_runs_headless(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("web: echo hi from web\n")
    term = PtyProcdash(["<&-", "start"], cwd=tmp_path, env={"NO_COLOR": "1"})
    try:
        assert term.wait(30) == 0
        assert "web.1  | hi from web" in term.text()
        assert "Traceback" not in term.text()
    finally:
        term.close()
