"""One exception-to-HTTP mapping and one JSON error shape for every error the API returns.

Every error body is ``{"error": {"type": ..., "message": ...}}`` (validation errors add
``details``), whether it comes from the library (:class:`~rabbit_rag.errors.RabbitRagError` and its
``http_status``), from the API's own checks (the classes below), from request validation (422) or
from routing (404/405). Unexpected exceptions become a 500 whose message never leaks internals.

예::

    {"error": {"type": "IndexNotFoundError", "message": "컬렉션 '헌법'이 없습니다 ..."}}
"""

from __future__ import annotations

import http
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from rabbit_rag.errors import RabbitRagError

log = logging.getLogger("rabbit_rag.api")


class ApiError(RabbitRagError):
    """Base of the errors only the HTTP layer raises (still part of the one hierarchy)."""

    http_status = 400


class AuthenticationError(ApiError):
    """No API key, or one that matches no configured key."""

    http_status = 401


class PermissionDeniedError(ApiError):
    """The key is valid but lacks the scope, or is limited to other collections."""

    http_status = 403


class NotFoundError(ApiError):
    """A document or job that does not exist."""

    http_status = 404


class ConflictError(ApiError):
    """The request clashes with the current state (a collection that exists, a job still running)."""

    http_status = 409


class GoneError(ApiError):
    """What was asked for existed but is no longer kept (e.g. a document text as of an old revision)."""

    http_status = 410


class PayloadTooLargeError(ApiError):
    """The request body is over the configured limit."""

    http_status = 413


class UnsupportedMediaTypeError(ApiError):
    """The request body is not in a format the endpoint takes (e.g. an upload that is not multipart)."""

    http_status = 415


class ErrorDetail(BaseModel):
    type: str = Field(description="Error class, e.g. IndexNotFoundError, ValidationError, AuthenticationError.")
    message: str = Field(description="What was wrong, the allowed choices and how to fix it.")
    details: list[dict[str, Any]] | None = Field(None, description="Per-field problems (validation errors only).")


class ErrorBody(BaseModel):
    """The one error shape."""

    error: ErrorDetail

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"error": {"type": "IndexNotFoundError", "message": "컬렉션 '헌법'이 없습니다; POST /v1/collections"}}
            ]
        }
    }


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid API key",
    403: "The key lacks the scope or the collection",
    404: "No such collection, document or job",
    409: "Conflicts with the current state",
    410: "No longer kept (an old revision)",
    413: "Request body over the upload limit",
    415: "File type not supported (judged by content)",
    422: "Invalid input",
    502: "The language-model server failed",
    503: "A needed model or index is not available",
    504: "The language-model server did not answer in time",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for ``codes``, all with the one error shape."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS.get(code, "Error")} for code in codes}


def error_payload(type_: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"type": type_, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


def error_response(status: int, type_: str, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_payload(type_, message, details), status_code=status, headers=headers)


# An absolute file-system path: a slash-led run of two or more parts. API routes (/v1/…, /docs, …) are
# left alone; so is anything inside a URL.
_ABS_PATH = re.compile(
    r"(?<![\w.:/])/(?!v1/|docs|redoc|openapi|healthz|readyz|metrics)(?:[^/\s'\"<>]+/)+[^/\s'\",;)<>]*"
)


def scrub_paths(text: str, roots: tuple[str, ...] = ()) -> str:
    """``text`` without absolute server paths: a path under one of ``roots`` (the index root) becomes
    relative to it (``헌법/manifest.json``), any other absolute path its last part."""
    for root in sorted((r.rstrip("/") for r in roots if r and r != "/"), key=len, reverse=True):
        text = text.replace(root + "/", "").replace(root, "<index root>")
    return _ABS_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "<path>", text)


def server_roots(request: Request | None) -> tuple[str, ...]:
    """The index root as configured and as resolved (what error messages may start with)."""
    state = getattr(getattr(request, "app", None), "state", None) if request is not None else None
    rr = getattr(state, "rr", None)
    if rr is None:
        return ()
    root = rr.collections.root
    return (str(root), str(rr.settings.index_root), str(rr.settings.index_root.absolute()))


def _loc(loc: Any) -> str:
    return ".".join(str(p) for p in loc) if isinstance(loc, list | tuple) else str(loc)


async def _rabbit_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RabbitRagError)
    status = int(getattr(exc, "http_status", 500))
    if status >= 500:
        log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return error_response(status, type(exc).__name__, scrub_paths(str(exc), server_roots(request)))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The offending input is not echoed back: it may be huge or not JSON-serializable.
    details = [
        {"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    message = "; ".join(f"{d['loc']}: {d['msg']}" for d in details[:5]) or "invalid request"
    if len(details) > 5:
        message += f"; … {len(details) - 5} more"
    return error_response(422, "ValidationError", message, details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "HTTP error"
    message = exc.detail if isinstance(exc.detail, str) else phrase
    if status == 400 and message == "There was an error parsing the body":
        # FastAPI's answer to a JSON body that is not even UTF-8: the same 422 as any other bad JSON
        return error_response(422, "ValidationError", "the request body is not valid JSON (UTF-8)")
    if status == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}; see /docs for the endpoints"
    type_ = "PayloadTooLargeError" if status == 413 else phrase.replace(" ", "")  # same type as the early 413
    response = error_response(status, type_, message)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    if status == 405:
        # Starlette names only the first route that matched the path; a path may have several
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method documented for the request's path (from the OpenAPI paths, so it agrees with /docs)."""
    app = request.app
    table = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = app.state.allowed_methods = [
            (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"), {m.upper() for m in ops})
            for path, ops in app.openapi().get("paths", {}).items()
        ]
    path = request.url.path
    return sorted({m for pattern, methods in table if pattern.match(path) for m in methods})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return error_response(500, "InternalError", "internal error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Register the one mapping on ``app``."""
    app.add_exception_handler(RabbitRagError, _rabbit_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
