"""Where the control socket lives, and the refusal of directories others could reach."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from procdash.control.client import NotRunning, find_socket
from procdash.control.listener import bind_socket, clear_stale, unlink_if_ours
from procdash.control.paths import (
    MAX_SOCKET_PATH,
    candidate_dirs,
    ensure_private_dir,
    socket_address,
    socket_name,
    socket_path,
)
from procdash.core.errors import ConfigError


def runtime(tmp_path: Path) -> dict[str, str]:
    """An environment naming a usable private runtime directory."""
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    return {"XDG_RUNTIME_DIR": str(directory)}


def test_socket_goes_in_the_runtime_dir_named_by_a_hash_of_the_real_path(tmp_path: Path) -> None:
    env = runtime(tmp_path)
    project = tmp_path / "my app"
    project.mkdir()
    (project / "Procfile").write_text("web: true\n")
    (tmp_path / "link").symlink_to(project)
    path = socket_path(project / "Procfile", env)
    assert path.parent == Path(env["XDG_RUNTIME_DIR"]) / "procdash"
    assert path.name.startswith("my_app-") and path.name.endswith(".sock")
    assert socket_path(tmp_path / "link" / "Procfile", env) == path
    assert socket_name(project / "Procfile") != socket_name(tmp_path / "other" / "Procfile")
    assert len(os.fsencode(path)) <= MAX_SOCKET_PATH


@pytest.mark.parametrize("value", ["", "relative/dir", "/nonexistent/procdash-test"])
def test_an_unusable_runtime_dir_falls_back_to_the_state_dir_under_home(tmp_path: Path, value: str) -> None:
    home = tmp_path / "home"
    path = socket_path(tmp_path / "Procfile", {"XDG_RUNTIME_DIR": value, "HOME": str(home)})
    assert path.parent == home / ".local" / "state" / "procdash"
    state = tmp_path / "state"
    path = socket_path(tmp_path / "Procfile", {"XDG_RUNTIME_DIR": value, "XDG_STATE_HOME": str(state)})
    assert path.parent == state / "procdash"


def test_the_lookup_order_depends_only_on_the_environment(tmp_path: Path) -> None:
    env = {**runtime(tmp_path), "HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp")}
    expected = [
        Path(env["XDG_RUNTIME_DIR"]) / "procdash",
        tmp_path / "home" / ".local" / "state" / "procdash",
        tmp_path / "tmp" / f"procdash-{os.geteuid()}",
    ]
    assert candidate_dirs(env) == expected
    # A TMPDIR that does not exist (or is full) is not probed: it stays where a client will look.
    assert candidate_dirs({**env, "TMPDIR": "/nonexistent/tmp"})[-1] == Path(
        f"/nonexistent/tmp/procdash-{os.geteuid()}"
    )
    assert candidate_dirs({"HOME": "relative", "TMPDIR": "relative"})[-1] == Path(f"/tmp/procdash-{os.geteuid()}")


def test_a_socket_path_past_sun_path_binds_and_connects_through_a_short_alias(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100)
    deep.mkdir(mode=0o700)
    path = socket_path(tmp_path / "Procfile", {"XDG_RUNTIME_DIR": str(deep)})
    assert path.parent == deep / "procdash" and len(os.fsencode(path)) > MAX_SOCKET_PATH
    ensure_private_dir(path.parent)
    sock, identity = bind_socket(path)
    try:
        assert path.exists() and path.stat().st_mode & 0o777 == 0o600
        with socket_address(path) as address:
            assert len(os.fsencode(address)) <= MAX_SOCKET_PATH
            client = socket.socket(socket.AF_UNIX)
            client.connect(address)
            client.close()
    finally:
        sock.close()
    unlink_if_ours(path, identity)
    assert not path.exists()


def test_private_dir_is_created_0700_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        directory = ensure_private_dir(tmp_path / "procdash")
    finally:
        os.umask(old)
    assert directory.stat().st_mode & 0o777 == 0o700


def test_loose_permissions_or_a_symlink_are_refused(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o755)
    with pytest.raises(ConfigError, match="loose permissions 0755"):
        ensure_private_dir(loose)
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(ConfigError, match="not a directory"):
        ensure_private_dir(tmp_path / "link")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a directory owned by someone else")
def test_a_directory_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    env = runtime(tmp_path)
    theirs = Path(env["XDG_RUNTIME_DIR"]) / "procdash"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 4242, 4242)
    with pytest.raises(ConfigError, match="belongs to uid 4242"):
        ensure_private_dir(theirs)
    # The client will not trust a socket in it either.
    with pytest.raises(ConfigError, match="belongs to uid 4242"):
        find_socket(tmp_path / "Procfile", env)


def test_client_finds_nothing_when_no_directory_exists(tmp_path: Path) -> None:
    env = runtime(tmp_path)
    with pytest.raises(NotRunning, match="nothing is running"):
        find_socket(tmp_path / "nowhere" / "Procfile", env)


def test_stale_socket_is_removed_and_a_fresh_bind_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays behind, as after a SIGKILL
    clear_stale(path)
    assert not path.exists()
    sock, identity = bind_socket(path)
    try:
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        sock.close()
    unlink_if_ours(path, identity)
    assert not path.exists()


def test_a_socket_replaced_by_another_procdash_is_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    first, identity = bind_socket(path)
    path.unlink()  # someone removed ours while it still listens, and another procdash took the name
    second, _ = bind_socket(path)
    try:
        unlink_if_ours(path, identity)
        assert path.exists()
    finally:
        first.close()
        second.close()


def test_a_listener_that_does_not_speak_the_protocol_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    other = socket.socket(socket.AF_UNIX)
    other.bind(str(path))
    other.listen(1)
    try:
        with pytest.raises(ConfigError, match="does not answer as procdash"):
            clear_stale(path, timeout=0.2)
        assert path.exists()
    finally:
        other.close()
