"""Errors as JSON: the socket's `error` frame (chat.protocol.ProtocolError, stable codes), with an HTTP status.

Body: `{"type": "error", "code": ..., "detail": ..., optional "field", "room", "client_id", "retry_after"}`,
the same object the WebSocket sends; `rate_limited` and the `*unavailable` codes also set Retry-After.
"""

from __future__ import annotations

import math

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from chat.protocol import ProtocolError, encode

STATUS = {
    "bad_json": 400,
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "csrf_failed": 403,
    "not_author": 403,
    "delete_not_allowed": 403,
    "not_found": 404,
    "no_such_message": 404,
    "edit_window_closed": 409,
    "message_deleted": 409,
    "too_many_reactions": 409,
    "too_large": 413,
    "rate_limited": 429,
    "internal": 500,
    "store_unavailable": 503,
    "unavailable": 503,
}


def error_response(error: ProtocolError) -> HttpResponse:
    """The JSON response of a refusal (the socket's error frame, without `ref`)."""
    frame = error.to_frame()
    frame.pop("ref", None)
    response = HttpResponse(encode(frame), status=STATUS.get(error.code, 400), content_type="application/json")
    if error.retry_after is not None:
        response["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    elif error.code in ("store_unavailable", "unavailable"):
        response["Retry-After"] = "1"
    return response


def _field(loc: list) -> str | None:
    """The field of a pydantic error location: ("query", "limit") or ("body", "payload", "client_id")."""
    parts = loc[2:] if loc[:1] == ["body"] and len(loc) > 2 else loc[1:]
    names = [part for part in parts if isinstance(part, str)]
    return names[-1] if names else None


def install(api: NinjaAPI) -> None:
    """Every error of the API as an error frame: ours, the schema's validation, ninja's auth and HTTP errors."""

    @api.exception_handler(ProtocolError)
    def protocol_error(request: HttpRequest, exc: ProtocolError) -> HttpResponse:
        return error_response(exc)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        if first.get("type") == "json_invalid":
            return error_response(ProtocolError("bad_json", "the body is not valid JSON"))
        return error_response(ProtocolError("invalid", str(first.get("msg", "invalid input")),
                                            field=_field(list(first.get("loc", [])))))

    @api.exception_handler(AuthenticationError)
    def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = error_response(ProtocolError(
            "unauthorized", "send `Authorization: Bearer <token>`, or log in (with the CSRF token on writes)"))
        response["WWW-Authenticate"] = 'Bearer realm="chat"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja raises 400 only for a body it cannot parse
        code = {400: "bad_json", 404: "not_found", 401: "unauthorized", 403: "forbidden"}.get(exc.status_code,
                                                                                             "invalid")
        return error_response(ProtocolError(code, str(exc)))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error_response(ProtocolError("too_large", "the request body is too large"))
