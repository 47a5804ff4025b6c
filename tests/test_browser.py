"""The live view in a real JupyterLab, driven in Debian's Chromium with playwright.

JupyterLab runs on loopback with an empty token and its own settings and
workspace folders; its kernels reach the test's Agent Server through
``LG_MAGICS_URL``. A screenshot is saved in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest

from lg_magics.client import Client
from lg_magics.server import free_port

from .conftest import wait_for

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (make test installs it)")

CELLS = [
    "%load_ext lg_magics",
    '%%agent chat --stateless --context {"delay":0.05}\ncount to 60',
    "%%agent slow_chat --background --thread stop_thread\ncount to 80",
    "print(stop_thread)",
    "%%agent approval --new\nship v8",
]


@pytest.fixture(scope="module")
def lab(server, tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "view.ipynb")
    port = free_port()
    env = {**os.environ, "LG_MAGICS_URL": server.url, "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={root}",
        "--IdentityProvider.token=", "--ServerApp.password=",
        f"--LabApp.user_settings_dir={root / '.settings'}", f"--LabApp.workspaces_dir={root / '.workspaces'}",
    ]  # fmt: skip
    log = open(root / "lab.log", "wb")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"JupyterLab exited: {(root / 'lab.log').read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/api/status", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, timeout=60, what="JupyterLab to answer")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def page(lab: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.goto(f"{lab}/lab/tree/view.ipynb?reset")
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
        try:
            yield page
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab.png"), full_page=True)
            browser.close()


def run_cell(page: Any, index: int) -> Any:
    """Run one cell as a person does (click it, Shift+Enter) and wait until it has started."""
    import re

    from playwright.sync_api import Error, expect

    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    for attempt in range(3):
        cell.locator(".jp-InputArea-editor").click()
        expect(cell.locator(".cm-editor")).to_have_class(re.compile(r"\bcm-focused\b"))
        page.keyboard.press("Shift+Enter")
        try:
            # Right after the page loads, Lab may drop a run while it still connects the kernel.
            expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=5_000)
            return cell
        except (AssertionError, Error):
            if attempt == 2:
                raise
    return cell


def test_view_changes_while_the_run_streams(page: Any) -> None:
    from playwright.sync_api import expect

    expect(run_cell(page, 0).locator(".jp-InputPrompt")).to_have_text("[1]:", timeout=30_000)
    cell = run_cell(page, 1)
    view = cell.locator(".lgm-live")
    view.wait_for(timeout=30_000)
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = view.inner_text()
        if not seen or text != seen[-1]:
            seen.append(text)
        if "done" in text:
            break
        page.wait_for_timeout(50)  # sampling the DOM, not synchronising: the loop ends on "done"
    streaming = [t for t in seen if "running" in t and "1 2" in t]
    assert len(streaming) >= 3, seen
    assert "done" in seen[-1] and "59 60" in seen[-1]
    # The saved summary sits in the same output area, hidden while the live view is there.
    summary = cell.locator(".lgm-summary")
    assert summary.count() == 1 and not summary.is_visible()
    assert cell.get_by_text("59 60").filter(visible=True).count() == 1


def test_stop_button_cancels_a_background_run(page: Any, client: Client) -> None:
    cell = run_cell(page, 2)
    cell.locator(".lgm-live").get_by_text("1 2 3").wait_for(timeout=30_000)
    cell.locator(".lgm-stop").click()
    cell.locator(".lgm-live").get_by_text("cancelled").wait_for(timeout=30_000)
    printed = run_cell(page, 3).locator(".jp-OutputArea-output")
    printed.wait_for(timeout=30_000)
    thread_id = printed.inner_text().strip()
    wait_for(
        lambda: client._json("GET", f"/threads/{thread_id}/runs")[0]["status"] == "interrupted", what="the run to be cancelled"
    )


def test_interrupt_answered_through_the_view(page: Any, client: Client) -> None:
    from playwright.sync_api import expect

    cell = run_cell(page, 4)
    cell.get_by_text("waiting for input").first.wait_for(timeout=30_000)
    cell.locator(".lgm-resume-value input").fill("yes")
    cell.locator(".lgm-resume-button").click()
    cell.get_by_text("published: DRAFT: ship v8").wait_for(timeout=30_000)
    expect(cell.locator(".lgm-resume-button")).to_have_count(0)  # answered: the controls are gone
    threads = client._json("POST", "/threads/search", json={"values": {"result": "published: DRAFT: ship v8"}, "limit": 1})
    assert json.dumps(threads[0]["values"]).count("published: DRAFT: ship v8") == 1
