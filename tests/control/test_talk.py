"""send, connect and the partial/waiting stream through a real headless procdash and the real ``procdash ctl``."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from procdash.control import frames as fr
from procdash.control import protocol as p
from tests.control.support import Running, ctl, running
from tests.helpers import wait_until_sync

ASK = "ask: printf 'name? '; read x; echo \"hello $x\"; sleep 300\n"


def _status(formation: Running) -> dict[str, dict[str, Any]]:
    """Instances of ``ctl status --json`` by name."""
    result = ctl("status", "--json", cwd=formation.procfile.parent, env=formation.env)
    assert result.returncode == 0, result.stderr
    return {inst["name"]: inst for inst in json.loads(result.stdout)["instances"]}


def test_ctl_send_answers_a_prompt_and_status_shows_the_wait(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, ASK) as formation:
        wait_until_sync(lambda: any("ask.1 is waiting for input" in line for line in formation.output))
        ask = _status(formation)["ask.1"]
        assert ask["input_wait"] is True and ask["partial"] == "name? "
        human = ctl("status", cwd=tmp_path, env=formation.env)
        assert "running · waiting for input" in human.stdout
        sent = ctl("send", "ask.1", "bob", "--enter", cwd=tmp_path, env=formation.env)
        assert sent.returncode == 0 and sent.stdout == "", sent.stderr
        wait_until_sync(lambda: "ask.1  | hello bob" in formation.output)
        assert "ask.1  | name? bob" in formation.output  # the prompt and the echoed answer: one whole line
        wait_until_sync(lambda: _status(formation)["ask.1"]["input_wait"] is False)


def test_ctl_send_escapes_reach_the_child(tmp_path: Path, env: dict[str, str]) -> None:
    procfile = "spin: python3 -c 'import time; print(\"ready\", flush=True); time.sleep(300)'; sleep 300\n"
    with running(tmp_path, env, procfile) as formation:
        wait_until_sync(lambda: "spin.1 | ready" in formation.output)
        assert ctl("send", "spin.1", r"\x03", cwd=tmp_path, env=formation.env).returncode == 0
        wait_until_sync(lambda: "spin.1 | KeyboardInterrupt" in formation.output)


def test_ctl_send_refusals_are_one_clear_line(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, ASK) as formation:
        unknown = ctl("send", "nope.1", "x", cwd=tmp_path, env=formation.env)
        assert unknown.returncode == 1
        assert unknown.stderr.strip().startswith("procdash: ctl: no process called 'nope.1'")
        bad = ctl("send", "ask.1", r"a\q", cwd=tmp_path, env=formation.env)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1
        assert r"unknown escape \q" in bad.stderr
        assert "Traceback" not in unknown.stderr + bad.stderr


def test_no_pty_refuses_send_naming_the_option(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "quiet: sleep 300\n", "--no-pty") as formation:
        wait_until_sync(lambda: _status(formation)["quiet.1"]["state"] == "running")
        refused = ctl("send", "quiet.1", "x", cwd=tmp_path, env=formation.env)
        assert refused.returncode == 1
        assert "--no-pty" in refused.stderr and refused.stderr.count("\n") == 1


def test_subscribe_streams_partial_and_waiting_events(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, ASK) as formation, formation.client() as client:
        snapshot = client.call("subscribe")
        seen: list[dict[str, Any]] = []
        for message in client.events():
            seen.append(message)
            if message.get("event") == "input_wait":
                break
        # The prompt is in the snapshot if it came before we subscribed, else in a partial event.
        partial_event = {"v": 3, "event": "partial", "name": "ask.1", "text": "name? "}
        assert partial_event in seen or snapshot["instances"][0]["partial"] == "name? "
        assert seen[-1] == {"v": 3, "event": "input_wait", "name": "ask.1", "waiting": True, "prompt": "name? "}


class Session:
    """A connect session spoken by hand: the JSON handshake, then frames."""

    def __init__(self, path: Path, name: str, columns: int = 80, rows: int = 24) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(str(path))
        self.sock.sendall(p.encode(p.request("connect", 1, name=name, columns=columns, rows=rows, context=5)))
        buffer = b""
        while b"\n" not in buffer:
            buffer += self.sock.recv(65536)
        line, rest = buffer.split(b"\n", 1)
        self.reply = json.loads(line)
        self.reader = fr.FrameReader()
        self.output = bytearray()
        self.ended: str | None = None
        self._take(rest)

    def _take(self, data: bytes) -> None:
        for kind, payload in self.reader.feed(data):
            if kind == fr.OUTPUT:
                self.output += payload
            elif kind == fr.END:
                self.ended = payload.decode()

    def read_until(self, needle: bytes, timeout: float = 10) -> None:
        """Receive until ``needle`` has arrived in the output."""
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not in {bytes(self.output)!r}")
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"closed before {needle!r}: {bytes(self.output)!r}")
            self._take(data)

    def close(self) -> None:
        self.sock.close()


def test_connect_relays_raw_bytes_both_ways_and_forwards_the_window_size(tmp_path: Path, env: dict[str, str]) -> None:
    procfile = "ask: printf 'name? '; read x; echo \"hello $x\"; read y; stty size; sleep 300\n"
    with running(tmp_path, env, procfile) as formation:
        wait_until_sync(lambda: any("ask.1 is waiting" in line for line in formation.output))
        first = Session(formation.socket, "ask.1", 100, 30)
        second = Session(formation.socket, "ask.1")  # two clients may watch one process
        try:
            assert first.reply["ok"] is True
            first.read_until(b"name? ")  # the context: what the process showed before we came
            first.sock.sendall(fr.frame(fr.INPUT, b"bob\r"))
            first.read_until(b"hello bob\r\n")
            second.read_until(b"hello bob\r\n")
            first.sock.sendall(fr.winsize(132, 43))
            time.sleep(0.2)
            first.sock.sendall(fr.frame(fr.INPUT, b"\r"))
            first.read_until(b"43 132")
        finally:
            first.close()
            second.close()
        # Detaching leaves the process running, and what it printed meanwhile is in its log.
        assert _status(formation)["ask.1"]["state"] == "running"
        assert "ask.1  | hello bob" in formation.output


def test_connect_refuses_unknown_names_and_no_pty(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "quiet: sleep 300\n", "--no-pty") as formation:
        wait_until_sync(lambda: _status(formation)["quiet.1"]["state"] == "running")
        session = Session(formation.socket, "nope")
        assert session.reply["ok"] is False and session.reply["error"]["code"] == "not_found"
        session.close()
        session = Session(formation.socket, "quiet.1")
        assert session.reply["ok"] is False and "--no-pty" in session.reply["error"]["message"]
        session.close()


def test_the_session_ends_with_a_reason_when_the_process_ends(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "once: read x; echo bye\nclock: sleep 300\n") as formation:
        wait_until_sync(lambda: any("once.1 is waiting" in line for line in formation.output))
        session = Session(formation.socket, "once.1")
        try:
            session.sock.sendall(fr.frame(fr.INPUT, b"\r"))
            session.read_until(b"bye")
            deadline = time.monotonic() + 10
            while session.ended is None and time.monotonic() < deadline:
                data = session.sock.recv(65536)
                if not data:
                    break
                session._take(data)
            assert session.ended == "once.1 ended"
        finally:
            session.close()


def test_logs_follow_carries_the_partial_line(tmp_path: Path, env: dict[str, str]) -> None:
    procfile = "ask: printf 'first\\n'; read x; printf 'name? '; read y; sleep 300\n"
    with running(tmp_path, env, procfile) as formation, formation.client() as client:
        wait_until_sync(lambda: any("ask.1 is waiting" in line for line in formation.output))
        reply = client.call("logs", name="ask.1", follow=True)
        assert reply["lines"] == ["first"] and reply["partial"] == ""
        assert ctl("send", "ask.1", "--enter", "", cwd=tmp_path, env=formation.env).returncode == 0
        kinds = []
        for message in client.events():
            kinds.append((message["event"], message.get("text", message.get("lines"))))
            if message["event"] == "partial" and message["text"] == "name? ":
                break
        assert ("lines", [""]) in kinds  # the empty answer completed an (empty) line
