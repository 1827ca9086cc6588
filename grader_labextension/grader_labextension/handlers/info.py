"""``GET {base_url}grader_labextension/info``: what the front end needs to know about us."""

from __future__ import annotations

import tornado.web

from .base import GraderHandler


class InfoHandler(GraderHandler):
    """The user's name at the service and where assignments are, as JupyterLab paths."""

    @tornado.web.authenticated
    async def get(self) -> None:
        config = self.grader_config
        self.write_json(
            {
                "username": config.username,
                "service_url": config.service_url,
                "lectures_lab_path": self.lab_path(self.lectures_dir),
            }
        )


default_handlers = [(r"info", InfoHandler)]
