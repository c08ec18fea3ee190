"""``procdash serve`` in a real headless Chromium: the dashboard works in the page, and other pages cannot drive it."""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.control.support import ctl
from tests.helpers import wait_until_sync, write
from tests.serve import browser
from tests.serve.support import ServeProcess, serve_process

REASON = browser.missing()
if REASON is not None and os.environ.get("CI"):
    raise RuntimeError(f"the browser tests must run in CI: {REASON}")  # .ci/run installs Chromium
pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=f"no headless Chromium here: {REASON}"),
    pytest.mark.slow,
]

PROCFILE = "web: sleep 300\nworker: sleep 300\n"


@pytest.fixture
def served(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[ServeProcess, str]]:
    """``procdash serve`` on a two-type Procfile, with its URL."""
    write(tmp_path / "Procfile", PROCFILE)
    with serve_process(["-t", "3"], tmp_path, env) as process:
        yield process, process.wait_url()


def tab_processes(process: ServeProcess) -> list[psutil.Process]:
    """serve's children that are browser tabs (``procdash attach``)."""
    tabs = []
    for child in psutil.Process(process.proc.pid).children():
        try:
            if "attach" in child.cmdline():
                tabs.append(child)
        except psutil.Error:  # it has just ended (a zombie until serve reaps it)
            continue
    return tabs


def test_page_shows_the_formation_and_plus_scales_it(
    served: tuple[ServeProcess, str], tmp_path: Path, env: dict[str, str]
) -> None:
    process, url = served
    with browser.chromium() as driver:
        driver.get(url)
        screen = browser.wait_screen(driver, lambda text: "web.1" in text and "worker.1" in text)
        assert "sleep 300" in screen or "running" in screen
        # Everything the page loaded came from this server: nothing is fetched from the internet.
        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        origin = url.split("/?", 1)[0]
        assert loaded and all(str(name).startswith(origin + "/") for name in loaded), loaded
        # No error in the console: nothing blocked by the page's Content-Security-Policy, nothing missing.
        errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors
        assert len(tab_processes(process)) == 1
        browser.type_keys(driver, "+")

        def scaled() -> bool:
            status = json.loads(ctl("status", "--json", cwd=tmp_path, env=env).stdout)
            return sorted(inst["name"] for inst in status["instances"]) == ["web.1", "web.2", "worker.1"]

        wait_until_sync(scaled, timeout=20)
        browser.wait_screen(driver, lambda text: "web.2" in text)
        # A second tab is a second attach on the same formation: it shows the new instance too.
        browser.new_tab(driver)
        driver.get(url)
        browser.wait_screen(driver, lambda text: "web.2" in text and "worker.1" in text)
        assert len(tab_processes(process)) == 2
        # q leaves this tab's view (its attach process ends), the formation and the other tab stay.
        browser.type_keys(driver, "q")
        wait_until_sync(lambda: "-closed" in str(driver.find_element("tag name", "body").get_attribute("class")))
        assert "has ended" in browser.body_text(driver)
        wait_until_sync(lambda: len(tab_processes(process)) == 1, timeout=10)
        assert process.proc.poll() is None
        shot = tmp_path / "page.png"
        assert driver.save_screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_without_the_token_the_page_is_refused(served: tuple[ServeProcess, str]) -> None:
    process, url = served
    with browser.chromium() as driver:
        driver.get(url.split("?", 1)[0])
        assert "a token is needed" in browser.body_text(driver)
        driver.get(url.replace("token=", "token=x"))
        assert "wrong token" in browser.body_text(driver)
        assert browser.screen_text(driver) == ""
    assert not tab_processes(process)


def test_a_rebound_domain_is_refused_even_with_the_token(served: tuple[ServeProcess, str]) -> None:
    process, url = served
    port = url.split("://127.0.0.1:", 1)[1].split("/", 1)[0]
    # Chromium resolves rebound.test to 127.0.0.1, as an attacker's DNS would after the page has loaded.
    with browser.chromium(extra=["--host-resolver-rules=MAP rebound.test 127.0.0.1"]) as driver:
        driver.get(url.replace("127.0.0.1", "rebound.test"))
        assert "is not this server's address" in browser.body_text(driver)
    assert not tab_processes(process)
    assert any(f"Host 'rebound.test:{port}'" in line for line in process.output)


class ForeignSite(http.server.BaseHTTPRequestHandler):
    """Another site on this machine whose page tries to open the dashboard's websocket."""

    target = ""

    def do_GET(self) -> None:
        """The attacking page."""
        page = f"""<!DOCTYPE html><title>waiting</title><script>
        const ws = new WebSocket("{self.target}");
        ws.onopen = () => {{ document.title = "opened"; }};
        ws.onclose = (event) => {{ if (document.title !== "opened") document.title = "refused " + event.code; }};
        </script>"""
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_a_page_from_another_origin_cannot_open_the_websocket(served: tuple[ServeProcess, str]) -> None:
    process, url = served
    origin = url.split("/?", 1)[0]
    token = url.split("token=", 1)[1]
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ForeignSite)
    ForeignSite.target = origin.replace("http://", "ws://") + "/ws"
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        with browser.chromium() as driver:
            # The browser holds the token's cookie, and another port of 127.0.0.1 is the same site, so the
            # cookie goes along: only the Origin check stands between that page and the formation.
            driver.get(f"{origin}/static/css/xterm.css?token={token}")
            assert any(cookie["name"].startswith("procdash-token-") for cookie in driver.get_cookies())
            driver.get(f"http://127.0.0.1:{site.server_address[1]}/")
            assert browser.wait_title(driver, lambda title: title.startswith("refused")) == "refused 1006"
    finally:
        site.shutdown()
        site.server_close()
        thread.join(timeout=5)
    assert not tab_processes(process)
    foreign = f"Origin 'http://127.0.0.1:{site.server_address[1]}' is not this server's page"
    assert any(foreign in line for line in process.output), process.output
