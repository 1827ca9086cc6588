"""Typed errors raised by the domain and mapped to one JSON envelope by the HTTP layer.

Domain code (orm queries, git, grading) raises these instead of HTTP errors so it stays
free of tornado; ``handlers.base.BaseHandler.write_error`` turns each into
``{"status": <int>, "error": <short reason>, "message": <human text>}``.
"""

from __future__ import annotations

from http import HTTPStatus


class GraderError(Exception):
    """Base class: an error a client can act on, with the HTTP status that describes it."""

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def reason(self) -> str:
        """The short reason phrase of the status, e.g. ``Not Found``."""
        return HTTPStatus(self.status).phrase


class BadRequest(GraderError):
    """The request is malformed or a value is invalid (400)."""

    status = HTTPStatus.BAD_REQUEST


class Unauthorized(GraderError):
    """No credentials, or credentials nobody recognises (401)."""

    status = HTTPStatus.UNAUTHORIZED


class Forbidden(GraderError):
    """The caller is known but may not do this (403)."""

    status = HTTPStatus.FORBIDDEN


class NotFound(GraderError):
    """The resource does not exist or is hidden from the caller (404)."""

    status = HTTPStatus.NOT_FOUND


class Conflict(GraderError):
    """The request contradicts the current state, e.g. a duplicate name (409)."""

    status = HTTPStatus.CONFLICT


class PayloadTooLarge(GraderError):
    """The request body is larger than the service takes (413)."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMediaType(GraderError):
    """The request body is not of the media type the route takes (415)."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class ServiceUnavailable(GraderError):
    """A dependency (database, hub) is unavailable; retrying later may work (503)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
