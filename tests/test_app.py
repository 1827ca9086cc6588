"""The service as an operator runs it: a real process, a config file, signals."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from grader_service.orm.db import create_engine, upgrade_schema

pytestmark = pytest.mark.asyncio

LISTENING = re.compile(r"listening on http://[\d.]+:(\d+)(/\S*)")
COMMAND = [sys.executable, "-m", "grader_service.app"]


class ServiceProcess:
    """A ``grader-service`` subprocess and what it logged."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log: list[str] = []
        self.url = ""

    async def wait_listening(self, timeout: float = 30) -> str:
        """Read the log until the service says where it listens; return its base URL."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(self.proc.stderr.readline(), deadline - time.monotonic())
            if not line:
                raise AssertionError("service exited before listening:\n" + "".join(self.log))
            self.log.append(line.decode())
            if match := LISTENING.search(line.decode()):
                self.url = f"http://127.0.0.1:{match.group(1)}{match.group(2)}"
                return self.url
        raise AssertionError("service did not start:\n" + "".join(self.log))

    async def finish(self, timeout: float = 20) -> tuple[int, str]:
        """Wait for exit; return the exit code and the whole log."""
        assert self.proc.stderr is not None and self.proc.stdout is not None
        out, err = await asyncio.wait_for(
            asyncio.gather(self.proc.stdout.read(), self.proc.stderr.read()), timeout
        )
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        self.stdout = out.decode()
        return code, "".join(self.log) + err.decode() + self.stdout


@pytest_asyncio.fixture
async def run(tmp_path: Path) -> AsyncIterator[object]:
    """Start ``grader-service`` with arguments; kill leftovers at teardown."""
    procs: list[asyncio.subprocess.Process] = []

    async def start(*args: str, env: dict[str, str] | None = None) -> ServiceProcess:
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "JUPYTERHUB_"))
        }
        full_env.update(env or {})
        proc = await asyncio.create_subprocess_exec(
            *COMMAND,
            *args,
            cwd=tmp_path,
            env=full_env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        procs.append(proc)
        return ServiceProcess(proc)

    yield start
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def fetch_json(url: str, token: str | None = None) -> tuple[int, object]:
    headers = {"Authorization": f"token {token}"} if token else {}
    client = AsyncHTTPClient(force_instance=True)
    try:
        response = await client.fetch(url, headers=headers)
    except HTTPClientError as e:
        assert e.response is not None
        response = e.response
    finally:
        client.close()
    return response.code, json.loads(response.body)


def write_config(path: Path, db_url: str, **extra: str) -> Path:
    lines = [
        f"c.GraderService.db_url = {db_url!r}",
        f"c.GraderService.grader_service_dir = {str(path.parent / 'data')!r}",
        "c.GraderService.service_port = 0",
        "c.GraderService.authenticator_class = 'grader_service.auth.StaticTokenAuthenticator'",
        "c.StaticTokenAuthenticator.tokens = {'tok-alice': 'alice'}",
        "c.GraderService.load_roles = {'lect1': [{'role': 'instructor', 'members': ['alice']}]}",
        *(f"c.{key} = {value}" for key, value in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_serves_from_config_file_and_stops_on_sigterm(
    run, tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path / "grader_service_config.py", db_url)
    service = await run("-f", str(config))
    url = await service.wait_listening()
    assert url.endswith("/services/grader/")
    assert await fetch_json(url + "api/health") == (200, {"health": "OK", "database": "ok"})
    code, perms = await fetch_json(url + "api/permissions", token="tok-alice")
    assert code == 200 and perms[0]["lecture_code"] == "lect1"
    started = time.monotonic()
    service.proc.send_signal(signal.SIGTERM)
    code, log = await service.finish()
    assert code == 0, log
    assert time.monotonic() - started < 5
    assert "Stopped in" in log


async def test_generated_config_is_documented_and_loads_back(run, tmp_path: Path) -> None:
    target = tmp_path / "generated_config.py"
    service = await run("--generate-config", "-f", str(target))
    code, log = await service.finish()
    assert code == 0, log
    text_ = target.read_text()
    for needle in (
        "c.GraderService.db_url",
        "c.GraderService.load_roles",
        "c.Authenticator.admin_users",
        "c.JupyterHubAuthenticator.cache_ttl",
        "c.CellTimeoutPolicy.max_cell_timeout",
        "Example::",
    ):
        assert needle in text_, needle
    # refuses to overwrite an admin's file
    service = await run("--generate-config", "-f", str(target))
    code, log = await service.finish()
    assert code == 1 and "exists" in log
    # the generated file is valid config: the service starts from it (port overridden)
    service = await run("-f", str(target), "--port", "0")
    url = await service.wait_listening()
    assert (await fetch_json(url + "api/health"))[0] == 200
    assert (tmp_path / "grader_service_data" / "grader.sqlite").exists()


async def test_environment_overrides_for_containers(run, tmp_path: Path) -> None:
    data = tmp_path / "from-env"
    service = await run(
        env={
            "GRADER_SERVICE_DIRECTORY": str(data),
            "GRADER_PORT": "0",
            "GRADER_BASE_URL": "/grader",
        }
    )
    url = await service.wait_listening()
    assert url.endswith("/grader/")
    assert (await fetch_json(url + "api/health"))[0] == 200
    assert (data / "grader.sqlite").exists()
    assert oct((data).stat().st_mode & 0o777) == "0o700"


async def test_upgrade_db_on_empty_and_current_database(run, tmp_path: Path, db_url: str) -> None:
    config = write_config(tmp_path / "config.py", db_url)
    for _ in range(2):
        service = await run("upgrade-db", "-f", str(config))
        code, log = await service.finish()
        assert code == 0, log
        assert "is at revision 0002 (up to date)" in log


async def _old_database_with_a_lecture(db_url: str) -> None:
    engine = create_engine(db_url)
    await upgrade_schema(engine, "0001")
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO lectures (name, code, complete) VALUES ('Old course', 'old', false)")
        )
    await engine.dispose()


async def test_refuses_old_schema_until_upgraded(run, tmp_path: Path, db_url: str) -> None:
    await _old_database_with_a_lecture(db_url)
    config = write_config(
        tmp_path / "config.py", db_url, **{"Authenticator.admin_users": "{'alice'}"}
    )
    service = await run("-f", str(config))
    code, log = await service.finish()
    assert code == 1
    assert "grader-service upgrade-db" in log and "0001" in log and "0002" in log
    service = await run("upgrade-db", "-f", str(config))
    code, log = await service.finish()
    assert code == 0, log
    service = await run("-f", str(config))
    url = await service.wait_listening()
    code, lectures = await fetch_json(url + "api/lectures", token="tok-alice")
    assert code == 200
    assert {lec["code"] for lec in lectures} == {"old", "lect1"}


async def test_upgrade_at_startup_when_allowed(run, tmp_path: Path, db_url: str) -> None:
    await _old_database_with_a_lecture(db_url)
    config = write_config(tmp_path / "config.py", db_url, **{"GraderService.upgrade_db": "True"})
    service = await run("-f", str(config))
    url = await service.wait_listening()
    assert (await fetch_json(url + "api/health"))[0] == 200
    if db_url.startswith("sqlite"):
        assert list((tmp_path).glob("grader.sqlite.*.bak")), "SQLite is backed up before upgrading"


async def test_issued_token_authenticates(run, tmp_path: Path, db_url: str) -> None:
    config = write_config(tmp_path / "config.py", db_url)
    service = await run("token", "bob", "--note", "export script", "-f", str(config))
    code, log = await service.finish()
    assert code == 0, log
    token = service.stdout.strip()
    assert len(token) >= 40
    service = await run("-f", str(config))
    url = await service.wait_listening()
    code, perms = await fetch_json(url + "api/permissions", token=token)
    assert (code, perms) == (200, [])
    code, _ = await fetch_json(url + "api/permissions", token=token[:-1] + "x")
    assert code == 401
