"""HTTP handlers (tornado): one module per resource, each ending in ``default_handlers``."""

from __future__ import annotations

from . import (
    assignments,
    events,
    git,
    grades,
    lectures,
    metrics,
    openapi,
    repositories,
    root,
    submissions,
    users,
)
from .base import BaseHandler, NotFoundHandler
from .routing import Route

default_handlers: list[Route] = [
    *root.default_handlers,
    *openapi.default_handlers,
    *metrics.default_handlers,
    *events.default_handlers,
    *lectures.default_handlers,
    *users.default_handlers,
    *assignments.default_handlers,
    *submissions.default_handlers,
    *grades.default_handlers,
    *repositories.default_handlers,
    *git.default_handlers,
]

__all__ = ["BaseHandler", "NotFoundHandler", "Route", "default_handlers"]
