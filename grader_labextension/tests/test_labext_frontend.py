"""The front end's unit tests (deadlines, late periods, event parsing), run by node."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
@pytest.mark.skipif(
    not (EXTENSION / "node_modules").exists(),
    reason="front-end dependencies not installed (python3 dev.py installs them)",
)
def test_frontend_unit_tests() -> None:
    jlpm = Path(sys.executable).parent / "jlpm"
    result = subprocess.run(
        [str(jlpm), "test"],
        cwd=EXTENSION,
        env={**os.environ, "PATH": f"{jlpm.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
