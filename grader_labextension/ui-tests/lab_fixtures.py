"""What the browser tests of a single ``jupyter lab`` share: the environment they need,
a lab server of this extension logged in to the grader service as one of the test
users, and a headless Chromium page (fixture ``page``, provided through conftest.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from grader_fixtures import TOKENS, GraderService, stop
from jupyter_core.paths import jupyter_path

CHROMIUM = os.environ.get("GRADER_TEST_CHROMIUM", "/usr/bin/chromium")
LAB_TOKEN = "ui-test-lab-token"
# quiet, offline, and runnable as root in a container
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


def _labextension_installed() -> bool:
    return any(
        (Path(d) / "grader-labextension" / "package.json").exists()
        for d in jupyter_path("labextensions")
    )


# what every browser test needs: skipped, saying why, where a part is missing
BROWSER_REQUIREMENTS = [
    pytest.mark.skipif(
        not _labextension_installed(),
        reason="the front end is not built (needs Node.js; python3 dev.py builds it)",
    ),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip)"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)",
    ),
]

# the ``pytestmark`` of the browser tests against a grader service that grades in the sandbox
REQUIREMENTS = [
    *BROWSER_REQUIREMENTS,
    pytest.mark.skipif(
        shutil.which("bwrap") is None,
        reason="grading needs bubblewrap (apt-get install bubblewrap)",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_lab(
    grader_service: GraderService, tmp_path: Path, user: str
) -> Iterator[dict[str, Any]]:
    """``jupyter lab`` with the extension pointed at the service as ``user``.

    Yields ``url`` (ends with a slash; token ``LAB_TOKEN``), ``root`` (the lab's root and
    HOME, so lectures live in ``{root}/lectures``) and ``log`` (the server's output).
    """
    root = tmp_path / "home"
    root.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(root),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
    }
    # no "news" toast over the screenshots
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
    )
    log = tmp_path / "lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                f"--IdentityProvider.token={LAB_TOKEN}",
                f"--ServerApp.root_dir={root}",
                f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
                "--LabApp.news_url=None",
                "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                f"--GraderLabConfig.service_url={grader_service.url}",
                f"--GraderLabConfig.api_token={TOKENS[user]}",
                f"--GraderLabConfig.username={user}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}api/status?token={LAB_TOKEN}", timeout=2):  # noqa: S310
                break
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
    if process.poll() is not None:
        pytest.fail(f"jupyter lab exited:\n{log.read_text()[-3000:]}")
    try:
        yield {"url": url, "root": root, "log": log}
    finally:
        stop(process, timeout=20)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    """A headless Chromium page (Debian's browser: Playwright downloads nothing)."""
    assert sync_playwright is not None
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            viewport={"width": 1400, "height": 900},
            args=["--headless", *CHROMIUM_ARGS],
        )
        context.set_default_timeout(30_000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
