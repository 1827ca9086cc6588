"""Deep links: ``{base_url}grader_labextension/open/{l}/{a}[/{file}]`` fetches the
assignment when it is not there yet and opens it (or the file) in JupyterLab.

A link an instructor can post in the course forum. It is browser navigation, not an API
call: the user is sent to the login page when needed, and errors are a short HTML page
that says what went wrong, with a way on into JupyterLab.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

import tornado.web
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join

from ..service import ServiceError
from ..workspace import WorkspaceError, _safe_relative
from .assignments import AssignmentHandler


class DeepLinkHandler(AssignmentHandler):
    """``GET open/{l}/{a}[/{path}]`` -> 302 to ``{base_url}lab/tree/{lab path}``."""

    def get_login_url(self) -> str:
        # a page, not an API: log in and come back instead of a bare 403
        return JupyterHandler.get_login_url(self)

    @tornado.web.authenticated
    async def get(self, lecture_id: str, assignment_id: str, file_path: str | None) -> None:
        try:
            relative = _safe_relative(file_path) if file_path else None
            repo = await self.student_repo(lecture_id, assignment_id)
            status = await self.in_workspace(repo.path, repo.status)
            if not status.fetched:
                status = await self.in_workspace(repo.path, repo.fetch)
        except (ServiceError, WorkspaceError) as e:
            self.error_page(getattr(e, "status", 409), e.message)
            return
        target = repo.path / relative if relative else repo.path
        if not target.exists():
            target = repo.path  # a renamed file: the assignment's folder is the next best
        lab_path = self.lab_path(target)
        if lab_path is None:
            self.error_page(
                500,
                f"The assignment was fetched to {repo.path}, outside the folder JupyterLab "
                "shows; ask the administrator to set c.GraderLabConfig.lectures_dir inside it.",
            )
            return
        self.redirect(url_path_join(self.base_url, "lab", "tree", quote(lab_path)))

    def error_page(self, status: int, message: str) -> None:
        """A minimal page: the reason and a link into JupyterLab."""
        self.set_status(status)
        lab = url_path_join(self.base_url, "lab")
        page = (
            "<!doctype html><html lang='en'><meta charset='utf-8'>"
            "<title>Cannot open the assignment</title>"
            f"<h1>Cannot open the assignment</h1><p>{html.escape(message)}</p>"
            f"<p><a href='{html.escape(lab)}'>Open JupyterLab</a> and use the Assignments "
            "panel instead.</p></html>"
        )
        kwargs: dict[str, Any] = {"set_content_type": "text/html; charset=UTF-8"}
        self.finish(page, **kwargs)


default_handlers = [
    (r"open/(\d+)/(\d+)(?:/(.+))?", DeepLinkHandler),
]
