"""A real headless procdash driven by the real ``procdash ctl``: status, scale, restart, logs, quit, refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

import psutil

from tests.control.support import PROCDASH, LineReader, Running, ctl, running
from tests.helpers import wait_until_sync, write


def status(formation: Running) -> dict[str, Any]:
    """``procdash ctl status --json`` parsed."""
    result = ctl("status", "--json", cwd=formation.procfile.parent, env=formation.env)
    assert result.returncode == 0, result.stderr
    reply: dict[str, Any] = json.loads(result.stdout)
    return reply


def by_name(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Instances of a status reply keyed by name."""
    return {inst["name"]: inst for inst in reply["instances"]}


def test_status_scale_restart_stop_and_start(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env) as formation:

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return ctl(*args, cwd=tmp_path, env=formation.env)

        human = run("status")
        assert human.returncode == 0, human.stderr
        lines = human.stdout.splitlines()
        assert f"(pid {formation.proc.pid})" in lines[0]
        assert lines[1].split() == ["NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "EXIT", "CPU", "MEM"]
        assert lines[2].split()[:2] == ["web.1", "running"] and lines[3].split()[:2] == ["worker.1", "running"]

        first = by_name(status(formation))
        assert first["web.1"]["port"] == 5000 and first["worker.1"]["port"] == 5100
        assert psutil.pid_exists(first["web.1"]["pid"])

        scaled = run("scale", "web=3,worker=+1")
        assert scaled.returncode == 0, scaled.stderr
        assert scaled.stdout.strip() == "formation: web=3, worker=2"
        everything = ["web.1", "web.2", "web.3", "worker.1", "worker.2"]
        wait_until_sync(lambda: sorted(by_name(status(formation))) == everything)
        assert by_name(status(formation))["web.3"]["port"] == 5002
        assert run("scale", "web=-2", "worker=1").returncode == 0
        wait_until_sync(lambda: sorted(by_name(status(formation))) == ["web.1", "worker.1"])

        restarted = run("restart", "web.1")
        assert restarted.stdout.strip() == "restarting: web.1"

        def new_pid() -> bool:
            web = by_name(status(formation))["web.1"]
            return web["state"] == "running" and web["pid"] not in (None, first["web.1"]["pid"])

        wait_until_sync(new_pid)
        assert by_name(status(formation))["web.1"]["restarts"] == 1
        # The exit of the run before the restart is history, not the running one's.
        web_row = next(line for line in run("status").stdout.splitlines() if line.startswith("web.1 "))
        assert "was SIGTERM" in web_row
        assert not psutil.pid_exists(first["web.1"]["pid"])

        assert run("stop", "web").stdout.strip() == "stopping: web.1"
        wait_until_sync(lambda: by_name(status(formation))["web.1"]["state"] == "stopped")
        assert run("start", "web.*").returncode == 0
        wait_until_sync(lambda: by_name(status(formation))["web.1"]["state"] == "running")

        for args, words in [
            (("scale", "db=2"), "no process type 'db'"),
            (("restart", "web.9"), "no process or type called 'web.9'"),
            (("logs", "nope.1"), "no process called 'nope.1'"),
            (("stop", "zz*"), "nothing matches 'zz*'"),
        ]:
            failed = run(*args)
            assert failed.returncode == 1, args
            assert failed.stderr.startswith(f"procdash: ctl: {words}")
            assert failed.stderr.count("\n") == 1
        bad = run("scale", "web")
        assert bad.returncode == 2 and "TYPE=N" in bad.stderr
        assert formation.proc.poll() is None


def test_logs_tail_and_follow(tmp_path: Path, env: dict[str, str]) -> None:
    procfile = "burst: seq 1 20; exec sleep 300\nticker: i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done\n"
    with running(tmp_path, env, procfile) as formation:
        wait_until_sync(lambda: by_name(status(formation))["burst.1"]["log_seq"] >= 20)
        tail = ctl("logs", "burst.1", "-n", "5", cwd=tmp_path, env=formation.env)
        assert tail.returncode == 0, tail.stderr
        assert tail.stdout.splitlines() == [f"{i}" for i in range(16, 21)]
        assert ctl("logs", "burst", "-n", "0", cwd=tmp_path, env=formation.env).stdout == ""

        follower = subprocess.Popen(
            [*PROCDASH, "ctl", "logs", "ticker.1", "-n", "1", "-f"],
            cwd=tmp_path,
            env=formation.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        follower_out = LineReader(follower)
        try:
            seen = follower_out.read(4, timeout=15)
            numbers = [int(line.split()[1]) for line in seen]
            assert all(line.startswith("tick ") for line in seen)
            assert numbers == list(range(numbers[0], numbers[0] + 4)), "lines are consecutive, none lost or doubled"
            # A second follower killed mid-stream leaves procdash and the first follower unharmed.
            vanishing = subprocess.Popen(
                [*PROCDASH, "ctl", "logs", "ticker.1", "-f"],
                cwd=tmp_path,
                env=formation.env,
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
            LineReader(vanishing).read(1, timeout=15)
            vanishing.kill()
            vanishing.wait(timeout=5)
            assert by_name(status(formation))["ticker.1"]["state"] == "running"
            later = follower_out.read(2, timeout=15)
            assert int(later[0].split()[1]) == numbers[-1] + 1
            # Quitting procdash ends the stream, and the follower exits by itself.
            assert ctl("quit", cwd=tmp_path, env=formation.env).returncode == 0
            _out, err = follower.communicate(timeout=15)
            assert follower.returncode == 0
            assert err.decode() == "procdash: ctl: procdash stopped\n"
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait()
        assert formation.proc.wait(timeout=15) == 0


def test_quit_ends_procdash_and_every_process(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env) as formation:
        pids = [inst["pid"] for inst in status(formation)["instances"]]
        path = formation.socket
        result = ctl("quit", cwd=tmp_path, env=formation.env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "procdash stopped"
        # ctl quit returns once procdash has closed the socket; procdash itself exits right after.
        assert formation.proc.wait(timeout=10) == 0
        assert not path.exists()
        assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
        gone = ctl("status", cwd=tmp_path, env=formation.env)
        assert gone.returncode == 1
        assert gone.stderr == f"procdash: ctl: nothing is running for {tmp_path / 'Procfile'}\n"


def test_socket_and_directory_are_private(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env) as formation:
        path = formation.socket
        assert path.parent == Path(formation.env["XDG_RUNTIME_DIR"]) / "procdash"
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.stat().st_uid == os.geteuid()


def test_a_second_procdash_on_the_same_procfile_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env) as formation:
        before = sorted(inst["pid"] for inst in status(formation)["instances"])
        second = subprocess.run(
            [*PROCDASH, "start", "--headless"],
            cwd=tmp_path,
            env=formation.env,
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
        assert second.returncode == 2
        assert second.stdout == ""
        assert second.stderr == (
            f"procdash: error: procdash is already running for {tmp_path / 'Procfile'} "
            f"(pid {formation.proc.pid}); control it with `procdash ctl` or stop it first\n"
        )
        assert sorted(inst["pid"] for inst in status(formation)["instances"]) == before
        # --no-control opts out of the socket, so a second formation may run beside (used briefly here).
        write(tmp_path / "Procfile.once", "once: true\n")
        other = subprocess.run(
            [*PROCDASH, "start", "--headless", "--no-control", "-f", "Procfile.once"],
            cwd=tmp_path,
            env=formation.env,
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
        assert other.returncode == 0, other.stderr


def test_a_stale_socket_is_cleaned_up_at_start(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", "web: sleep 300\n")
    from procdash.control.paths import ensure_private_dir, socket_path

    path = socket_path(tmp_path / "Procfile", env)
    ensure_private_dir(path.parent)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # what a SIGKILLed procdash leaves behind
    with running(tmp_path, env, "web: sleep 300\n") as formation:
        assert formation.socket == path
        assert [inst["name"] for inst in status(formation)["instances"]] == ["web.1"]


def test_killed_procdash_leaves_a_socket_the_next_one_reclaims(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "web: sleep 300\n") as formation:
        path = formation.socket
        formation.proc.send_signal(signal.SIGKILL)
        formation.proc.wait(timeout=10)
        assert path.exists()
        gone = ctl("status", cwd=tmp_path, env=formation.env)
        assert gone.returncode == 1 and "stale socket" in gone.stderr
    with running(tmp_path, env, "web: sleep 300\n") as again:
        assert again.socket == path


def test_nothing_running_is_a_clear_error(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", "web: sleep 300\n")
    result = ctl("status", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr == f"procdash: ctl: nothing is running for {tmp_path / 'Procfile'}\n"
    explicit = ctl("--socket", str(tmp_path / "none.sock"), "status", cwd=tmp_path, env=env)
    assert explicit.returncode == 1 and explicit.stderr.count("\n") == 1


def test_a_loose_socket_directory_is_used_by_neither_server_nor_client(tmp_path: Path, env: dict[str, str]) -> None:
    directory = Path(env["XDG_RUNTIME_DIR"]) / "procdash"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    with running(tmp_path, env) as formation:
        assert formation.socket.parent == Path(env["XDG_STATE_HOME"]) / "procdash"
        assert list(directory.iterdir()) == []
        result = ctl("status", "--json", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["server"]["socket"] == str(formation.socket)
    # With nothing running, the client names the directory it would not trust.
    result = ctl("status", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr == (
        f"procdash: error: {directory}: the control directory has loose permissions 0755; run chmod 700 on it\n"
    )


def test_status_shows_cpu_and_memory_when_headless_samples(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "web: sleep 30\n", "--stats", "30", "--stats-interval", "0.2") as formation:
        wait_until_sync(lambda: by_name(status(formation))["web.1"]["rss"] is not None, 10)
        web = by_name(status(formation))["web.1"]
        assert web["rss"] > 100_000 and web["cpu"] is not None and status(formation)["sampled"]
        human = ctl("status", cwd=tmp_path, env=formation.env).stdout.splitlines()
        assert human[2].split()[-1] != "-"


def test_ctl_finds_the_procdash_of_the_procfile_that_dotenv_names(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile.dev", "dev: sleep 300\n")
    write(tmp_path / ".env", "PROCFILE=Procfile.dev\n")
    proc = subprocess.Popen(
        [*PROCDASH, "start", "--headless", "-t", "3"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    formation = Running(proc, tmp_path / "Procfile.dev", env)
    try:
        formation.wait_listening()
        assert [inst["name"] for inst in status(formation)["instances"]] == ["dev.1"]
    finally:
        formation.stop()
