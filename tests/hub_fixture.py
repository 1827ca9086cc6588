"""A real JupyterHub for integration tests, started as a subprocess on 127.0.0.1.

Use it from a test module with::

    from tests.hub_fixture import hub_admin_fixture, hub_fixture  # noqa: F401

which provides the fixtures

- ``hub`` (module scope): a running JupyterHub (``python -m jupyterhub``, DummyAuthenticator)
  whose configurable-http-proxy comes from ``tests/hub/node_modules`` (``npm ci --prefix
  tests/hub``). Groups ``lect9:student``, ``lect9:tutor`` and ``lect9:instructor`` exist.
  Two external services are registered: ``grader`` (the service under test; its token has
  no scopes at all, which is all a service needs to check user tokens with ``HubAuth``) and
  ``test-admin`` (the hub's ``admin`` role; the tests manage users, groups and tokens with
  it). The ``user`` role is ``["self", "access:services!service=grader"]``.
- ``hub_admin`` (function scope): a :class:`HubAdmin` REST client for that hub, bound to the
  test's event loop.

The hub fixture is synchronous on purpose: the hub is a separate process, so it needs no
event loop, and a sync module-scoped fixture can serve tests that each run in their own
function-scoped loop (pytest-asyncio strict mode), next to the function-scoped ``make_app``.

Without ``tests/hub/node_modules/.bin/configurable-http-proxy`` the hub tests fail with
instructions, or are skipped when ``GRADER_TEST_SKIP_HUB=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

HUB_DIR = Path(__file__).parent / "hub"
CHP = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
SERVICE_NAME = "grader"
ADMIN_SERVICE = "test-admin"
LECTURE_GROUPS = ("lect9:student", "lect9:tutor", "lect9:instructor")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Hub:
    """A running JupyterHub."""

    url: str
    """The public URL (through configurable-http-proxy), e.g. ``http://127.0.0.1:PORT/``."""
    api_url: str
    """The hub's own API URL (what services use), e.g. ``http://127.0.0.1:PORT/hub/api``."""
    service_token: str
    """The ``grader`` service's API token (no scopes)."""
    admin_token: str
    """The ``test-admin`` service's API token (the hub's admin role)."""
    pid: int
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        """The end of the hub's log, for failure messages."""
        return _tail(self.log_path, lines)


@dataclass(frozen=True)
class HubToken:
    """A token the hub issued: the secret and the id the hub API deletes it by."""

    token: str
    id: str


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together, then released)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def require_chp() -> Path:
    """The configurable-http-proxy executable; fail (or skip, if asked to) when missing."""
    if CHP.exists():
        return CHP
    message = (
        f"configurable-http-proxy is not installed at {CHP}. "
        "Run `npm ci --prefix tests/hub` (needs Node and npm) to run the JupyterHub tests, "
        "or set GRADER_TEST_SKIP_HUB=1 to skip them."
    )
    if os.environ.get("GRADER_TEST_SKIP_HUB") == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def write_config(
    directory: Path, *, chp: Path, ports: list[int], service_token: str, admin_token: str
) -> Path:
    """Write ``jupyterhub_config.py`` for a throw-away hub in ``directory``."""
    proxy_port, proxy_api_port, hub_port = ports
    settings = {
        "JupyterHub.bind_url": f"http://127.0.0.1:{proxy_port}",
        "JupyterHub.hub_ip": "127.0.0.1",
        "JupyterHub.hub_port": hub_port,
        "ConfigurableHTTPProxy.command": [str(chp)],
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{proxy_api_port}",
        "ConfigurableHTTPProxy.pid_file": str(directory / "jupyterhub-proxy.pid"),
        "JupyterHub.db_url": f"sqlite:///{directory / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(directory / "jupyterhub_cookie_secret"),
        "JupyterHub.pid_file": str(directory / "jupyterhub.pid"),
        "JupyterHub.authenticator_class": "dummy",
        "Authenticator.allow_all": True,
        "JupyterHub.services": [
            {"name": SERVICE_NAME, "api_token": service_token},
            {"name": ADMIN_SERVICE, "api_token": admin_token},
        ],
        "JupyterHub.load_roles": [
            {"name": "user", "scopes": ["self", f"access:services!service={SERVICE_NAME}"]},
            {"name": "admin", "services": [ADMIN_SERVICE]},
        ],
        "JupyterHub.log_level": "INFO",
    }
    lines = ["# Generated by tests/hub_fixture.py", "c = get_config()  # noqa: F821"]
    lines += [f"c.{key} = {value!r}" for key, value in settings.items()]
    path = directory / "jupyterhub_config.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def _hub_request(hub_url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """A blocking hub API request (only used before any event loop runs)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - an http URL of our own hub
        f"{hub_url}hub/api/{path}",
        data=data,
        method=method,
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        text = response.read()
    return json.loads(text) if text else None


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Poll ``{url}hub/api/`` (through the proxy) until the hub answers."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"JupyterHub exited with {process.returncode} while starting. Log:\n"
                + _tail(log_path, 60),
                pytrace=False,
            )
        # not listening yet: try again shortly
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(f"{url}hub/api/", timeout=2) as response,  # noqa: S310
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    pytest.fail(
        f"JupyterHub did not answer on {url}hub/api/ within {START_TIMEOUT:.0f}s. Log:\n"
        + _tail(log_path, 60),
        pytrace=False,
    )


def _is_proxy(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"configurable-http-proxy" in cmdline


def _stop(process: subprocess.Popen[bytes], proxy_pid_file: Path) -> None:
    """Stop the hub by PID (SIGTERM, then SIGKILL), then make sure its proxy is gone too."""
    # Read the proxy's PID while the hub runs: a clean hub stop removes the file.
    proxy_pid: int | None = None
    with contextlib.suppress(OSError, ValueError):
        proxy_pid = int(proxy_pid_file.read_text().strip())
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
    # The hub starts the proxy in a session of its own and stops it on a clean shutdown;
    # after a SIGKILL (or a crash) it would be left behind.
    if proxy_pid is not None and _is_proxy(proxy_pid):
        os.kill(proxy_pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _is_proxy(proxy_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_proxy(proxy_pid):
            os.kill(proxy_pid, signal.SIGKILL)


def _hub_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "CONFIGPROXY_"))}
    # The proxy is a node script (#!/usr/bin/env node); keep the interpreter's bin first too.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@contextlib.contextmanager
def running_hub(directory: Path) -> Iterator[Hub]:
    """Start a JupyterHub in ``directory``; stop it (and its proxy) when the block ends."""
    chp = require_chp()
    service_token = secrets.token_hex(32)
    admin_token = secrets.token_hex(32)
    ports = free_ports(3)
    write_config(
        directory, chp=chp, ports=ports, service_token=service_token, admin_token=admin_token
    )
    log_path = directory / "jupyterhub.log"
    url = f"http://127.0.0.1:{ports[0]}/"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", "jupyterhub_config.py"],
            cwd=directory,
            env=_hub_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # not in pytest's process group: a Ctrl-C reaches pytest, which stops the hub
            start_new_session=True,
        )
    try:
        _wait_ready(process, url, log_path)
        hub = Hub(
            url=url,
            api_url=f"http://127.0.0.1:{ports[2]}/hub/api",
            service_token=service_token,
            admin_token=admin_token,
            pid=process.pid,
            log_path=log_path,
        )
        for group in LECTURE_GROUPS:
            _hub_request(url, admin_token, "POST", f"groups/{quote(group, safe='')}")
        yield hub
    finally:
        _stop(process, directory / "jupyterhub-proxy.pid")


@pytest.fixture(scope="module", name="hub")
def hub_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A JupyterHub shared by the tests of a module (see the module docstring)."""
    with running_hub(tmp_path_factory.mktemp("hub")) as hub:
        yield hub


class HubAdmin:
    """Manages users, groups and tokens through the hub's REST API (as ``test-admin``)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.http = AsyncHTTPClient(force_instance=True)

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``{hub}/hub/api/{path}``; raise with the hub's answer on an error status."""
        try:
            response = await self.http.fetch(
                f"{self.hub.url}hub/api/{path}",
                method=method,
                headers={"Authorization": f"token {self.hub.admin_token}"},
                body=json.dumps(body) if body is not None else (b"" if method == "POST" else None),
                allow_nonstandard_methods=True,
            )
        except HTTPClientError as e:
            detail = e.response.body.decode(errors="replace") if e.response else ""
            raise AssertionError(f"hub API {method} {path}: {e.code} {detail}") from None
        return json.loads(response.body) if response.body else None

    async def create_user(self, prefix: str = "user") -> str:
        """Create a user with a fresh name (tests share the hub) and return the name."""
        name = f"{prefix}-{secrets.token_hex(4)}"
        await self.request("POST", f"users/{name}")
        return name

    async def add_to_group(self, group: str, *users: str) -> None:
        await self.request("POST", f"groups/{quote(group, safe='')}/users", {"users": users})

    async def remove_from_group(self, group: str, *users: str) -> None:
        await self.request("DELETE", f"groups/{quote(group, safe='')}/users", {"users": users})

    async def create_token(self, user: str, scopes: list[str] | None = None) -> HubToken:
        """Issue a token for ``user``: all the user's permissions, or only ``scopes``."""
        body: dict[str, Any] = {"note": "grader-service tests", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        model = await self.request("POST", f"users/{user}/tokens", body)
        return HubToken(token=model["token"], id=model["id"])

    async def revoke_token(self, user: str, token_id: str) -> None:
        await self.request("DELETE", f"users/{user}/tokens/{token_id}")

    def close(self) -> None:
        self.http.close()


@pytest_asyncio.fixture(name="hub_admin")
async def hub_admin_fixture(hub: Hub) -> AsyncIterator[HubAdmin]:
    """A :class:`HubAdmin` for ``hub``, bound to this test's event loop."""
    admin = HubAdmin(hub)
    yield admin
    admin.close()
