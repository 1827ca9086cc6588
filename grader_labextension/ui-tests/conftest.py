"""Fixtures of the browser tests: the grader service and instructor helpers of
``../tests/grader_fixtures.py`` (shared with the server-extension tests), and the
Chromium page of ``lab_fixtures.py``."""

from __future__ import annotations

import sys
from pathlib import Path

# the shared helpers live beside the server-extension tests; neither directory is a
# package (pytest's rootdir-less "prepend" import mode), so make that one importable
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from grader_fixtures import grader_service, release
from lab_fixtures import page

__all__ = ["grader_service", "page", "release"]
