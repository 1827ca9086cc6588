"""Fixtures of the server-extension tests: a real grader service and a real Jupyter server.

Index:

- ``grader_service`` (module): ``python -m grader_service -f CONFIG`` as a subprocess on a
  random port: static tokens (``TOKENS``), lecture ``lect1`` with an instructor and a
  student, fast event keepalives, and grading (bubblewrap sandbox) when ``bwrap`` exists.
- ``release``: a function that creates and releases a one-notebook assignment as the
  instructor (REST API + git, as an instructor's JupyterLab would); returns its JSON.
- ``jp_server_config``: the Jupyter server loads ``grader_labextension`` as ``student``,
  with assignments under ``{jp_root_dir}/lectures`` (a module of staff routes imports
  ``grader_fixtures.as_instructor`` to run it as the instructor instead).
- ``lab``: a :class:`LabClient` over ``jp_fetch`` that returns ``(status, json)`` and never
  raises on an HTTP error status.
- everything of ``pytest_jupyter.jupyter_server`` (``jp_fetch``, ``jp_root_dir``, ...).

``pytest_jupyter``'s fixtures and hooks are imported here instead of being registered
with ``pytest_plugins``: a plugin would apply its hooks (it runs every ``async def`` test
on its own loop) and autouse fixtures to the service's test suite too, which uses
pytest-asyncio. Imported into this conftest they apply to this directory only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from grader_fixtures import GraderService, LabClient, grader_service, lab_server_config, release
from pytest_jupyter.jupyter_server import *  # noqa: F403 - see the module docstring

__all__ = ["grader_service", "release"]  # fixtures, re-exported for pytest


@pytest.fixture
def jp_server_config(grader_service: GraderService, jp_root_dir: Path) -> dict[str, Any]:
    """Load the extension as ``student``, assignments in the server's root directory."""
    return lab_server_config(grader_service, jp_root_dir, "student")


@pytest.fixture
def lab(jp_fetch: Callable[..., Any]) -> LabClient:
    """The extension's HTTP API as the browser uses it."""
    return LabClient(jp_fetch)
