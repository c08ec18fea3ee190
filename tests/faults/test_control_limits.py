"""Guarantee: the control socket cannot be used to exhaust procdash's memory or to lock ``ctl`` out."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.control.support import ctl, running

# A type that ignores SIGTERM keeps procdash in its stop for the whole -t timeout (3 s in running()).
STUBBORN = "web: trap '' TERM; while :; do sleep 0.1; done\nworker: sleep 300\n"


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """procdash's environment with a fresh private XDG_RUNTIME_DIR short enough for a socket path."""
    runtime = tempfile.mkdtemp(prefix="pdlim-")
    os.chmod(runtime, 0o700)
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "PORT")}
    environ["XDG_RUNTIME_DIR"] = runtime
    try:
        yield environ
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def test_scale_start_and_restart_while_quitting_are_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, STUBBORN) as formation:
        client = formation.client()
        assert client.call("quit")["quitting"] is True
        for args in (("scale", "web=3"), ("start", "worker"), ("restart", "web")):
            result = ctl(*args, cwd=tmp_path, env=env)
            assert result.returncode == 1, (args, result)
            assert result.stderr == "procdash: ctl: procdash is stopping; nothing can be started now\n", args
        client.wait_closed()
        client.close()
        assert formation.proc.wait(timeout=15) is not None
