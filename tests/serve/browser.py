"""Debian's Chromium, headless, driven by Selenium through Debian's chromedriver (never a downloaded browser).

Shared by the browser tests and screenshots/browser.py. The page's terminal is xterm.js drawing on a
canvas, so its text is read from the terminal's buffer: a hook installed before any page script keeps
each xterm Terminal that textual-serve's client creates (it assigns ``this.terminal = new Terminal``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The network is closed: without these Chromium spends its time trying hosts outside (updates, sync, QUIC).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

TERMINAL_HOOK = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    window.__terminals.push(value);
  },
});
"""

SCREEN_TEXT = """
const term = (window.__terminals || [])[0];
if (!term) return null;
const buffer = term.buffer.active, rows = [];
for (let y = 0; y < term.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y);
  rows.push(line ? line.translateToString(true) : "");
}
return rows.join("\\n");
"""


def missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing (Debian package {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the test extra)"
    return None


@contextlib.contextmanager
def chromium(size: tuple[int, int] = (1280, 800), extra: Sequence[str] = ()) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile, quit (and its profile removed) afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pd-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", *extra):
        options.add_argument(flag)
    # Selenium Manager is never consulted (the driver's path is given); offline all the same.
    os.environ.setdefault("SE_OFFLINE", "true")
    service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        hook_terminals(driver)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def hook_terminals(driver: WebDriver) -> None:
    """Install the terminal hook in the current tab, for every page it loads from now on."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TERMINAL_HOOK})


def new_tab(driver: WebDriver) -> None:
    """Open another tab, switch to it, and hook its terminals too (the hook is per tab)."""
    driver.switch_to.new_window("tab")
    hook_terminals(driver)


def screen_text(driver: WebDriver) -> str:
    """The terminal's visible rows as text ('' before the page has made its terminal)."""
    return str(driver.execute_script(SCREEN_TEXT) or "")


def wait_screen(driver: WebDriver, check: Callable[[str], bool], timeout: float = 30) -> str:
    """Poll the terminal's text until ``check`` accepts it; AssertionError with the last screen otherwise."""
    deadline = time.monotonic() + timeout
    text = screen_text(driver)
    while not check(text):
        if time.monotonic() > deadline:
            raise AssertionError(f"the page's terminal never showed what was expected; it shows:\n{text}")
        time.sleep(0.1)
        text = screen_text(driver)
    return text


def type_keys(driver: WebDriver, keys: str) -> None:
    """Type into the terminal, as a person would after clicking it (xterm listens on its hidden textarea)."""
    driver.find_element("css selector", ".xterm-helper-textarea").send_keys(keys)


def body_text(driver: WebDriver) -> str:
    """The page's plain text (what an error response says)."""
    return str(driver.find_element("css selector", "body").text)


def wait_title(driver: WebDriver, check: Callable[[str], bool], timeout: float = 15) -> str:
    """Poll the document title until ``check`` accepts it."""
    deadline = time.monotonic() + timeout
    while not check(driver.title):
        if time.monotonic() > deadline:
            raise AssertionError(f"title stayed {driver.title!r}")
        time.sleep(0.05)
    return str(driver.title)
