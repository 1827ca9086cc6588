"""HTTP handlers under ``{base_url}grader_labextension/``; each module ends in a URL table."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from . import assignments, deeplink, export, info, instructor, proxy
from .base import NAMESPACE

default_handlers: list[tuple[str, Any]] = [
    *info.default_handlers,
    *proxy.default_handlers,
    *assignments.default_handlers,
    *instructor.default_handlers,
    *export.default_handlers,
    *deeplink.default_handlers,
]


def url_patterns(base_url: str) -> list[tuple[str, Any]]:
    """The handlers with their full URL patterns under the server's ``base_url``."""
    return [(url_path_join(base_url, NAMESPACE, pattern), h) for pattern, h in default_handlers]
