"""The live view in a real JupyterLab and Notebook 7, driven in Debian's Chromium with playwright.

One Jupyter server (it serves both frontends) runs on loopback with an empty token and its own
settings and workspace folders; its kernels reach the test's Agent Server through ``LG_MAGICS_URL``.
In each frontend a notebook streams a run, is interrupted, answers an interrupt from the view, stops a
background run, is saved, closed with its kernel shut down, and reopened: what is on screen then is
what a reader of the saved notebook sees. Screenshots go to ``test-artifacts/``; JupyterLab's view of
a live run also goes to ``docs/live-view.png``, the README's picture.
"""

from __future__ import annotations

import json
import os
import re
import shutil
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
from lg_magics.server import free_port, stop_process_group

from .conftest import wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
PICTURE = ROOT / "docs" / "live-view.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (make test installs it)"),
]

CELLS = [
    "%load_ext lg_magics",
    "%%agent approval --new\nship v8",
    "%%agent slow_chat --background --thread stop_thread\ncount to 80",
    '%%agent chat --stateless --context {"delay":0.05}\ncount to 60',
    "%%agent slow_chat --new --thread cut_thread\ncount to 80",
    "print(stop_thread)",
]
FRONTENDS = {"lab": "/lab/tree/{name}", "notebook": "/notebooks/{name}"}


@pytest.fixture(scope="module")
def jupyter(server, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("jupyter")
    port = free_port()
    env = {**os.environ, "LG_MAGICS_URL": server.url, "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={root}",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--LabApp.user_settings_dir={root / '.settings'}", f"--LabApp.workspaces_dir={root / '.workspaces'}",
    ]  # fmt: skip
    log = open(root / "jupyter.log", "wb")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"Jupyter exited: {(root / 'jupyter.log').read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/api/status", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, timeout=60, what="Jupyter to answer")
        yield url, root
    finally:
        stop_process_group(process, 15.0)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


def open_notebook(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.goto(url)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    return page


def run_cell(page: Any, index: int) -> Any:
    """Run one cell as a person does (click it, Shift+Enter) and wait until it has started."""
    from playwright.sync_api import Error, expect

    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    for attempt in range(6):
        cell.locator(".jp-InputArea-editor").click()
        expect(cell.locator(".cm-editor")).to_have_class(re.compile(r"\bcm-focused\b"))
        page.keyboard.press("Shift+Enter")
        try:
            # Right after the page loads, the frontend may drop a run while it still connects the kernel.
            expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=5_000)
            return cell
        except (AssertionError, Error):
            if attempt == 5:
                raise
    return cell


def watch_stream(view: Any, done: str) -> list[str]:
    """The view's text each time it changed, until it says ``done``."""
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            text = view.inner_text(timeout=1_000)
        except Exception:  # noqa: BLE001 - the view went (closed at the end of the run)
            break
        if not seen or text != seen[-1]:
            seen.append(text)
        if done in text:
            break
        view.page.wait_for_timeout(50)  # sampling the DOM, not synchronising: the loop ends on `done`
    return seen


def saved_outputs(path: Path) -> str:
    try:
        return json.dumps([c.get("outputs", []) for c in json.loads(path.read_text())["cells"]])
    except (OSError, ValueError):
        return ""


def shut_down_kernels(url: str) -> None:
    for session in httpx.get(f"{url}/api/sessions").json():
        httpx.delete(f"{url}/api/sessions/{session['id']}", timeout=30).raise_for_status()
    for kernel in httpx.get(f"{url}/api/kernels").json():
        httpx.delete(f"{url}/api/kernels/{kernel['id']}", timeout=30).raise_for_status()
    wait_for(lambda: not httpx.get(f"{url}/api/kernels").json(), what="the kernels to shut down")


@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_run_interrupt_resume_stop_save_and_reopen(jupyter, browser, client: Client, frontend: str) -> None:
    from playwright.sync_api import expect

    url, root = jupyter
    name = f"{frontend}.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / name)
    address = url + FRONTENDS[frontend].format(name=name)
    page = open_notebook(browser, address)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        expect(run_cell(page, 0).locator(".jp-InputPrompt")).to_have_text("[1]:", timeout=30_000)

        # A run that waits at an interrupt: the view asks for the answer with a form built from the
        # interrupt's response_schema.
        approval = run_cell(page, 1)
        approval.locator(".lgm-resume-form .lgm-field-approved input").wait_for(timeout=30_000)
        expect(approval.locator(".lgm-live")).to_contain_text("waiting for input")

        # A background run streams with its Stop button and a hint; the notebook is free meanwhile.
        background = run_cell(page, 2)
        background.locator(".lgm-live").get_by_text("1 2 3").wait_for(timeout=30_000)
        expect(background.locator(".lgm-live")).to_contain_text("%agent wait stop_thread waits for it")
        if frontend == "lab":
            top, bottom = approval.bounding_box(), background.bounding_box()
            height = bottom["y"] + bottom["height"] - top["y"] + 8
            page.screenshot(path=str(PICTURE), clip={"x": top["x"], "y": top["y"] - 8, "width": top["width"], "height": height})
        background.locator(".lgm-stop").click()
        expect(background.locator(".lgm-summary")).to_contain_text("cancelled", timeout=30_000)
        expect(background.locator(".lgm-live")).to_have_count(0)  # the summary took the view's place
        expect(background).not_to_contain_text("%agent wait stop_thread")  # the hint went with the run

        # A foreground run streams, then its view gives way to the summary: the reply shows once.
        streamed = run_cell(page, 3)
        view = streamed.locator(".lgm-live")
        view.wait_for(timeout=30_000)
        seen = watch_stream(view, "done")
        assert len([t for t in seen if "running" in t and "1 2" in t]) >= 3, seen
        expect(streamed.locator(".lgm-summary")).to_be_visible(timeout=30_000)
        expect(streamed.locator(".lgm-live")).to_have_count(0)
        assert streamed.get_by_text("59 60").filter(visible=True).count() == 1

        # Interrupting the kernel cancels the run: the cell ends interrupted, its summary says so.
        cut = run_cell(page, 4)
        cut.locator(".lgm-live").get_by_text("1 2 3").wait_for(timeout=30_000)
        page.keyboard.press("Escape")
        page.keyboard.press("i")
        page.keyboard.press("i")
        expect(cut.locator(".lgm-summary")).to_contain_text("cancelled", timeout=30_000)
        expect(cut).to_contain_text("Interrupted: run cancelled")  # one line, no traceback
        expect(cut).not_to_contain_text("Traceback")

        # The interrupt answered from the view: the resumed run streams under it, then both give way
        # to the summaries.
        approval.locator(".lgm-field-approved input").check()
        approval.locator(".lgm-field-comment input").fill("from the form")
        approval.locator(".lgm-resume-button").click()
        expect(approval.locator(".lgm-late")).to_contain_text("published: DRAFT: ship v8 (from the form)", timeout=30_000)
        expect(approval.locator(".lgm-live")).to_have_count(0)

        printed = run_cell(page, 5).locator(".jp-OutputArea-output")
        printed.wait_for(timeout=30_000)
        thread_id = printed.inner_text().strip()
        runs = client._json("GET", f"/threads/{thread_id}/runs")
        assert runs[0]["status"] == "interrupted"

        page.screenshot(path=str(ARTIFACTS / f"{frontend}-live.png"), full_page=True)
        page.locator(".jp-Notebook .jp-Cell").nth(5).click()
        page.keyboard.press("Control+s")
        wait_for(lambda: "published: DRAFT: ship v8" in saved_outputs(root / name), what="the notebook to be saved")
    finally:
        page.close()
    shut_down_kernels(url)

    # Reopened with no kernel state: what the saved notebook shows.
    page = open_notebook(browser, address)
    try:
        cells = page.locator(".jp-Notebook .jp-Cell")
        expect(cells.nth(3).locator(".lgm-summary")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(3_000)  # give a widget manager time to fail, if it would: nothing waits for that
        body = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in body and "<lg_magics" not in body
        assert cells.nth(3).get_by_text("59 60").filter(visible=True).count() == 1
        answered = cells.nth(1).inner_text()  # the run, then what answering it from the view started
        assert answered.index("waiting for input") < answered.index("published: DRAFT: ship v8")
        expect(cells.nth(2)).to_contain_text("cancelled")
        expect(cells.nth(4)).to_contain_text("cancelled")
        assert page.locator(".lgm-live").count() == 0
        page.screenshot(path=str(ARTIFACTS / f"{frontend}-reopened.png"), full_page=True)
    finally:
        page.close()
    shut_down_kernels(url)

    # Someone else's copy is untrusted: <style> is dropped, the summary's inline styles stay.
    other = nbformat.read(root / name, as_version=4)
    other.metadata["copied"] = True  # not the content this server signed
    nbformat.write(other, root / f"untrusted-{name}")
    page = open_notebook(browser, url + FRONTENDS[frontend].format(name=f"untrusted-{name}"))
    try:
        turn = page.locator(".lgm-summary .lgm-turn").first
        turn.wait_for(timeout=30_000)
        assert turn.evaluate("e => getComputedStyle(e).borderLeftWidth") == "3px"
        badge = page.locator(".lgm-summary .lgm-badge").first
        assert badge.evaluate("e => getComputedStyle(e).backgroundColor") not in ("", "rgba(0, 0, 0, 0)")
        assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
        page.screenshot(path=str(ARTIFACTS / f"{frontend}-untrusted.png"), full_page=True)
    finally:
        page.close()
    shut_down_kernels(url)
