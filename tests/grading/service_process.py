"""``grader-service`` as a real subprocess, for tests and benchmarks that kill or time it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

LISTENING = re.compile(rb"is listening on http://[^:]+:(\d+)(/\S*)")


class ServiceProcess:
    """One ``grader-service -f CONFIG`` process; its log goes to ``log_path``."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @staticmethod
    def write_config(path: Path, settings: dict[str, dict[str, Any]]) -> Path:
        """A config file setting ``c.Section.trait = value`` for every entry."""
        lines = [
            f"c.{section}.{trait} = {value!r}"
            for section, traits in settings.items()
            for trait, value in traits.items()
        ]
        path.write_text("\n".join(lines) + "\n")
        return path

    async def start(self, timeout: float = 60.0) -> str:
        """Start and wait for the "is listening" line; returns the base URL."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "grader_service", "-f", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.config.parent,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            text = self.log_path.read_bytes()[offset:]
            if match := LISTENING.search(text):
                port, base = match.groups()
                self.url = f"http://127.0.0.1:{int(port)}{base.decode()}"
                return self.url
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.1)
        raise RuntimeError(f"grader-service did not start; its log ends with:\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        """The end of the service's log (for assertion messages)."""
        return self.log_path.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL the service: no clean-up of any kind runs."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    async def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; SIGKILL if it does not stop. Returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.process.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.1)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return self.process.returncode
