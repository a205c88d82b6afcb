"""Browser tests: a real `uvicorn` serving Podium on a free port, and Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.db import create_engine
from competition.migrate import upgrade_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """A running Podium: its base URL, database URL and process."""

    url: str
    database_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """Poll the health check until the server answers (the server's readiness is the event we wait on)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start in {timeout_s} s")


def start_server(database_url: str, data_dir: Path, port: int | None = None, extra_env: dict[str, str] | None = None
                 ) -> LiveServer:
    port = port or free_port()
    env = {**os.environ, "PODIUM_DATABASE_URL": database_url, "PODIUM_SECRET": "browser-test-secret-" + "x" * 24,
           "PODIUM_DATA_DIR": str(data_dir), **(extra_env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, process)
    return LiveServer(url=url, database_url=database_url, process=process)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Podium served by uvicorn on a fresh, migrated SQLite database."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}"
    upgrade_database(database_url)
    server = start_server(database_url, tmp_path / "data")
    yield server
    server.stop()


@pytest.fixture
async def live_engine(live_server: LiveServer) -> AsyncIterator[AsyncEngine]:
    """An engine on the live server's database, for arranging data and checking what was saved."""
    engine = create_engine(live_server.database_url, null_pool=True)
    yield engine
    await engine.dispose()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile, English, at a laptop size."""
    created = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    yield created
    await created.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def log_in(page: Page, server: LiveServer, email: str, password: str) -> None:
    """Log in through the real form, as a person would."""
    await page.goto(f"{server.url}/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("form[action=\"/login\"] button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
