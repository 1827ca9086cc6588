"""grader_labextension: JupyterLab's side of grader-service.

A server extension (a proxy of the service's REST API with the user's token, and the
git work on assignments in the user's home) plus a prebuilt JupyterLab front end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0.dev0"

from .config import GraderLabConfig

__all__ = ["GraderLabConfig", "__version__"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "grader-labextension"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "grader_labextension"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the handlers and the settings they share."""
    from .handlers import url_patterns

    config = GraderLabConfig(parent=server_app)
    web_app = server_app.web_app
    web_app.settings["grader_labextension_config"] = config
    web_app.settings["grader_labextension_locks"] = dict[Path, asyncio.Lock]()
    web_app.add_handlers(".*$", url_patterns(web_app.settings["base_url"]))
    server_app.log.info(
        "grader_labextension %s: grader service at %s, assignments in %s",
        __version__,
        config.service_url,
        config.lectures_dir,
    )
