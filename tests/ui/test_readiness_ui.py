"""The dashboard shows waiting, ready and blocked states, the ports each instance listens on, and opens one with o."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from procdash.ui import process_actions
from tests.core.test_depends import free_base
from tests.helpers import wait_until, write
from tests.ui.conftest import MakeApp
from tests.ui.test_app import SIZE, cell

LISTEN = (
    "import os, socket, time\n"
    "while not os.path.exists('go'):\n    time.sleep(0.02)\n"
    "a = socket.socket(); a.bind(('127.0.0.1', int(os.environ['PORT']))); a.listen()\n"
    "b = socket.socket(); b.bind(('127.0.0.1', int(os.environ['PORT']) + 50)); b.listen()\n"
    "print('listening', flush=True); time.sleep(60)\n"
)


async def test_states_ports_and_the_o_key(make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "listen.py", LISTEN)
    write(
        tmp_path / "Procfile.toml",
        '[db]\nready = { log = "listening" }\nenv = { ROLE = "db" }\n'
        '[web]\ndepends_on = ["db"]\n[job]\ndepends_on = { fail = "completed" }\n',
    )
    opened: list[str] = []
    monkeypatch.setattr(process_actions.webbrowser, "open", lambda url: opened.append(url) or True)
    base = free_base(4)
    app = make_app(
        f"db: exec {sys.executable} listen.py # $PORT\nweb: sleep 30\nfail: exit 2\njob: sleep 30\n",
        port=str(base),
        stats_interval=0.1,
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: "i:web.1" in app.table.row_keys)
        # both hold until db listens, which it does once the test says so
        await wait_until(
            lambda: (
                cell(app, "i:web.1", "state") == "waiting for db (ready)" and cell(app, "i:db.1", "state") == "starting"
            )
        )
        (tmp_path / "go").write_text("")
        await wait_until(lambda: cell(app, "i:db.1", "state") == "ready ✓", timeout=10)
        await wait_until(lambda: cell(app, "i:web.1", "state") == "running")
        await wait_until(lambda: cell(app, "i:job.1", "state") == "blocked (fail exited 2)")
        # $PORT first, then the other port the tree listens on, once the sampler has seen them
        await wait_until(lambda: cell(app, "i:db.1", "port") == f"{base} {base + 50}", timeout=10)
        assert cell(app, "i:web.1", "port") == str(base + 100)
        assert app.table.select_key("i:db.1")
        await pilot.press("o")
        await wait_until(lambda: opened)
        assert opened == [f"http://127.0.0.1:{base}/"]
