"""``procdash export`` on the command line: where output goes, what it says, and bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.export.helpers import make_project, run_cli

PROCFILE = "web: serve --port $PORT\nworker: work\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose directory name needs cleaning for every engine, with a quirky .env."""
    env = "SINGLE='$HOME stays 100%'\nMULTI=\"one\\ntwo\"\nPORT=6000\nPS=ignored\n"
    return make_project(tmp_path / "My App.v2", PROCFILE, env)


def test_one_file_formats_print_to_stdout_without_dir(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, err = run_cli(capsys, "export", "compose", "-d", str(project), "-m", "web=3")
    assert (code, err) == (0, "")
    document = yaml.safe_load(out)
    assert document["name"] == "my-app-v2"
    web = document["services"]["web"]
    assert web["deploy"]["replicas"] == 3
    assert web["environment"] == {"SINGLE": "$$HOME stays 100%", "MULTI": "one\ntwo", "PORT": "6000", "PS": "web"}
    assert document["services"]["worker"]["environment"]["PORT"] == "6100"


def test_dash_means_stdout(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, _ = run_cli(capsys, "export", "supervisord", "-", "-d", str(project), "-p", "7000")
    assert code == 0
    assert "[group:My-App.v2]" in out and "PORT=$((7000 + %(process_num)d - 1))" in out


def test_systemd_needs_a_directory(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, err = run_cli(capsys, "export", "systemd", "-d", str(project))
    assert code == 2 and out == ""
    assert err == "procdash: error: systemd writes several files: name a directory, e.g. procdash export systemd out\n"


def test_writes_then_overwrites_and_says_so(capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "deep" / "units"
    code, out, _ = run_cli(capsys, "export", "systemd", str(out_dir), "-d", str(project), "-a", "shop", "-u", "shop")
    assert code == 0
    assert f"wrote {out_dir}/shop.target\n" in out
    assert f"wrote {out_dir}/shop-web@.service\n" in out
    assert "systemctl enable --now shop.target" in out
    assert sorted(os.listdir(out_dir)) == ["shop-web@.service", "shop-worker@.service", "shop.target"]
    assert "User=shop\n" in (out_dir / "shop-web@.service").read_text()
    code, out, _ = run_cli(capsys, "export", "systemd", str(out_dir), "-d", str(project), "-a", "shop")
    assert code == 0
    assert f"overwrote {out_dir}/shop.target\n" in out
    assert "User=" not in (out_dir / "shop-web@.service").read_text()


def test_relative_dir_and_build_context(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    code, out, _ = run_cli(capsys, "export", "compose", "deploy")
    assert code == 0 and "wrote " in out
    document = yaml.safe_load((project / "deploy" / "compose.yaml").read_text())
    assert document["services"]["web"]["build"] == ".."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kubernetes"], "kubernetes: --image is required"),
        (["compose", "-a", "My App"], "-a: 'My App' is not a valid Docker Compose name; try -a my-app"),
        (["systemd", "out", "-a", "a@b"], "-a: 'a@b' is not a valid systemd name; try -a a-b"),
        (["compose", "-l", "logs"], "-l: not used by Docker Compose"),
        (["supervisord", "--image", "x"], "--image: not used by supervisord"),
        (["supervisord", "-m", "nope=1"], "-m: unknown process type 'nope'"),
        (["systemd", "out", "-u", "bad user"], "-u: 'bad user' is not a user name systemd accepts"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], project: Path, args: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, "export", *args, "-d", str(project))
    assert code == 2 and out == ""
    assert err.startswith("procdash: error: " + message) and err.count("\n") == 1


@pytest.mark.parametrize("args", [["docker"], ["compose", "-t", "-1"], ["compose", "--restart", "sometimes"]])
def test_argument_errors_exit_2(capsys: pytest.CaptureFixture[str], project: Path, args: list[str]) -> None:
    code, out, err = run_cli(capsys, "export", *args, "-d", str(project))
    assert code == 2 and out == "" and err.startswith("procdash: error:")


def test_dir_that_is_a_file_is_refused(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, _, err = run_cli(capsys, "export", "compose", str(project / "Procfile"), "-d", str(project))
    assert code == 2 and "not a directory" in err
