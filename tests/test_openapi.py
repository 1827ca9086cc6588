"""The OpenAPI document is valid and lists every route and verb that exists."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from grader_service.handlers import default_handlers
from grader_service.handlers.openapi import VERBS
from grader_service.handlers.routing import access_of, operation_of
from tests.utils import ApiClient


@pytest.mark.asyncio
async def test_openapi_document_is_valid_and_complete(api: ApiClient) -> None:
    r = await api.get("openapi.json")
    assert r.status == 200
    spec = r.json
    validate(spec)
    documented = {(path, verb) for path, item in spec["paths"].items() for verb in item}
    served = set()
    for route in default_handlers:
        for verb in VERBS:
            method = route.handler.__dict__.get(verb)
            if method is not None:
                served.add((route.openapi_path(), verb))
    assert served == documented
    assert ("/api/lectures/{lecture_id}", "delete") in documented
    # every documented error response is the envelope
    envelope = spec["paths"]["/api/lectures"]["post"]["responses"]["400"]["content"][
        "application/json"
    ]
    assert envelope["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


def test_every_verb_declares_access_and_docs() -> None:
    for route in default_handlers:
        for verb in VERBS:
            method = route.handler.__dict__.get(verb)
            if method is None:
                continue
            assert access_of(method) is not None, (
                f"{route.handler.__name__}.{verb} lacks @authorize"
            )
            assert operation_of(method) is not None, (
                f"{route.handler.__name__}.{verb} lacks @document"
            )
