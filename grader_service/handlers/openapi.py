"""The OpenAPI 3.1 document, generated from the route table and the verbs' metadata."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from pydantic import TypeAdapter

from .._version import __version__
from .base import BaseHandler
from .routing import MAX_ID, PARAMETERS, Route, access_of, authorize, document, operation_of
from .schemas import ErrorBody

VERBS = ("get", "post", "put", "patch", "delete")
_REF = "#/components/schemas/{model}"


class _Schemas:
    """Collects JSON schemas, hoisting nested model definitions into components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, annotation: Any) -> dict[str, Any]:
        schema = TypeAdapter(annotation).json_schema(ref_template=_REF, mode="serialization")
        self.components.update(schema.pop("$defs", {}))
        title = schema.get("title")
        if (
            schema.get("type") == "object"
            and title
            and getattr(annotation, "__name__", None) == title
        ):
            self.components[title] = schema
            return {"$ref": _REF.format(model=title)}
        return schema

    def input_ref(self, annotation: Any) -> dict[str, Any]:
        schema = TypeAdapter(annotation).json_schema(ref_template=_REF, mode="validation")
        self.components.update(schema.pop("$defs", {}))
        title = schema.get("title", "")
        if schema.get("type") == "object" and title:
            self.components[title] = schema
            return {"$ref": _REF.format(model=title)}
        return schema


def _path_schema(name: str) -> dict[str, Any]:
    if PARAMETERS[name][1] is int:
        return {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    return {"type": "string", "pattern": f"^{PARAMETERS[name][0]}$"}


def build_openapi(routes: Sequence[Route], server_url: str) -> dict[str, Any]:
    """The OpenAPI document of every documented verb of every route."""
    schemas = _Schemas()
    error_ref = schemas.ref(ErrorBody)
    paths: dict[str, Any] = {}
    for route in routes:
        path_item: dict[str, Any] = {}
        for verb in VERBS:
            method = getattr(route.handler, verb, None)
            operation = operation_of(method)
            if operation is None:
                continue
            access = access_of(method)
            parameters = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": _path_schema(name),
                }
                for name in route.parameters
            ]
            if operation.query is not None:
                query_schema = operation.query.model_json_schema(ref_template=_REF)
                schemas.components.update(query_schema.pop("$defs", {}))
                required = set(query_schema.get("required", []))
                for name, prop in query_schema.get("properties", {}).items():
                    parameters.append(
                        {
                            "name": name,
                            "in": "query",
                            "required": name in required,
                            "description": prop.get("description", ""),
                            "schema": {
                                k: v for k, v in prop.items() if k not in ("title", "description")
                            },
                        }
                    )
            op: dict[str, Any] = {
                "operationId": f"{verb}_{route.handler.__name__}",
                "summary": operation.summary,
                "description": access.describe() if access else "",
                "tags": list(operation.tags),
                "parameters": parameters,
                "responses": {},
            }
            if access is None or not access.public:
                op["security"] = [{"token": []}]
            if operation.deprecated:
                op["deprecated"] = True
            if operation.body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": schemas.input_ref(operation.body)}},
                }
            success: dict[str, Any] = {"description": HTTPStatus(operation.status).phrase}
            if operation.paginated:
                success["headers"] = {
                    "X-Total-Count": {
                        "description": "Number of items in all pages.",
                        "schema": {"type": "integer"},
                    }
                }
            if operation.response is not None:
                content_types = (
                    [operation.content_type]
                    if isinstance(operation.content_type, str)
                    else list(operation.content_type)
                )
                schema = schemas.ref(operation.response)
                success["content"] = {media: {"schema": schema} for media in content_types}
            if operation.csv:
                success.setdefault("content", {})["text/csv"] = {
                    "schema": {
                        "type": "string",
                        "description": "With format=csv: a header row, then one row per item.",
                    }
                }
            op["responses"][str(operation.status)] = success
            errors = set(operation.errors) | {500}
            if operation.query is not None or operation.body is not None:
                errors |= {400}  # parse_query / parse_body reject what fails validation
            if access is None or not access.public:
                errors |= {400, 401}  # 400: a malformed Basic authorization header
            for status in sorted(errors):
                op["responses"][str(status)] = {
                    "description": HTTPStatus(status).phrase,
                    "content": {"application/json": {"schema": error_ref}},
                }
            path_item[verb] = op
        if path_item:
            paths[route.openapi_path()] = path_item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "grader-service",
            "version": __version__,
            "description": "REST API of grader-service. Every error body is "
            '{"status": int, "error": str, "message": str}.',
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "'token <JupyterHub API token>' (Bearer, and Basic with the "
                    "token as password, also work).",
                }
            },
        },
    }


class OpenAPIHandler(BaseHandler):
    """``GET {base}api/openapi.json``."""

    @document("This OpenAPI document", response=dict[str, Any], tags=["service"])
    @authorize(public=True)
    async def get(self) -> None:
        self.write_json(self.settings["openapi"])


default_handlers = [Route("api/openapi.json", OpenAPIHandler)]
