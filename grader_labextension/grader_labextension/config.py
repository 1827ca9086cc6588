"""Settings of the server extension (``c.GraderLabConfig.*`` in the Jupyter server config).

Every default comes from the single-user server's environment, which JupyterHub sets:
so in a hub deployment nothing needs configuring but the service's URL.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from traitlets import Float, Unicode, default, validate
from traitlets.config import Configurable

DEFAULT_SERVICE_URL = "http://127.0.0.1:4010/services/grader/"


class GraderLabConfig(Configurable):
    """Where the grader service is, who we are to it, and where assignments go."""

    service_url = Unicode(
        help="""Base URL of the grader service (the part before ``api/`` and ``git/``).

        Defaults to the environment variable ``GRADER_SERVICE_URL``, else
        ``http://127.0.0.1:4010/services/grader/``. Example::

            c.GraderLabConfig.service_url = "http://grader.jhub.svc:4010/services/grader/"
        """,
    ).tag(config=True)

    @default("service_url")
    def _service_url_default(self) -> str:
        return os.environ.get("GRADER_SERVICE_URL", DEFAULT_SERVICE_URL)

    @validate("service_url")
    def _ensure_trailing_slash(self, proposal: dict[str, str]) -> str:
        # api/ and git/ are joined onto it; without the slash urljoin would drop the prefix
        url = proposal["value"]
        return url if url.endswith("/") else url + "/"

    api_token = Unicode(
        help="""The token sent to the grader service as ``Authorization: token ...``.

        Defaults to ``GRADER_API_TOKEN``, else ``JUPYTERHUB_API_TOKEN`` (the single-user
        server's hub token, which needs the scope ``access:services!service=grader``).
        It is only ever sent in headers: never written to disk or into a git remote.
        """,
    ).tag(config=True)

    @default("api_token")
    def _api_token_default(self) -> str:
        return os.environ.get("GRADER_API_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN", "")

    username = Unicode(
        help="""The user's name at the grader service (names their git repository).

        Defaults to ``JUPYTERHUB_USER``, else the login name of the server's process.
        """,
    ).tag(config=True)

    @default("username")
    def _username_default(self) -> str:
        return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()

    lectures_dir = Unicode(
        help="""Directory that holds the local copies of assignments.

        Default ``~/lectures``, laid out like Grader Service's extension so that its users
        find their work where it was: ``{lecture code}/assignments/{assignment id}`` (the
        student's repository) and ``{lecture code}/feedback/{assignment id}/{submission
        id}``. It should lie inside the server's root directory, or JupyterLab cannot open
        the files.
        """,
    ).tag(config=True)

    @default("lectures_dir")
    def _lectures_dir_default(self) -> str:
        return str(Path.home() / "lectures")

    request_timeout = Float(
        60.0,
        help="Seconds to wait for an answer of the grader service (event streams: no limit).",
    ).tag(config=True)

    git_timeout = Float(
        300.0,
        help="Seconds a git command (clone, fetch, push) may take before it is stopped.",
    ).tag(config=True)
