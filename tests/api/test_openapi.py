"""The OpenAPI 3 schema at /api/v1/openapi.json validates, and describes every endpoint and its errors."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate


def test_openapi_schema_validates(api_server):
    answer = httpx.get(f"{api_server.origin}/api/v1/openapi.json", timeout=15)
    assert answer.status_code == 200
    schema = answer.json()
    validate(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert {"/api/v1/me", "/api/v1/rooms", "/api/v1/rooms/directory", "/api/v1/rooms/{room}/members",
            "/api/v1/rooms/{room}/members/{user}", "/api/v1/rooms/{room}/messages", "/api/v1/rooms/{room}/read",
            "/api/v1/hooks/{token}", "/api/v1/rooms/{room}/messages/{seq}",
            "/api/v1/rooms/{room}/messages/{seq}/reactions/{emoji}", "/api/v1/search",
            "/api/v1/rooms/{room}/search"} <= set(paths)
    send = paths["/api/v1/rooms/{room}/messages"]["post"]
    assert {"201", "200", "400", "401", "403", "429", "503"} <= set(send["responses"])
    assert {"BearerAuth", "SessionAuth"} <= set(schema["components"]["securitySchemes"]) or \
        len(schema["components"]["securitySchemes"]) == 2
