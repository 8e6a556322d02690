"""Pure ASGI middleware: the request-body limit (413), request metrics, and secrets out of query strings.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so that streaming responses pass through untouched
and a client that disconnects still cancels the stream.

예: ``app.add_middleware(BodyLimitMiddleware)`` (the upload limit comes from the app's settings)
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rabbit_rag.api.errors import error_response

JSON_BODY_LIMIT = 1_000_000  # every request but an upload is small JSON


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit. An HTTPException, so FastAPI's
    body parsing re-raises it unchanged and the one error mapping renders it as a JSON 413."""

    def __init__(self, limit: int, upload: bool = True) -> None:
        setting = " (RABBIT_RAG_API_MAX_UPLOAD_MB)" if upload else " (the fixed limit of a JSON request)"
        super().__init__(413, f"the request body is over the limit of {_mb(limit)}{setting}")


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


def is_upload(scope: Scope) -> bool:
    return scope.get("method") == "POST" and scope.get("path", "").rstrip("/").endswith("/documents")


class BodyLimitMiddleware:
    """413 before the body is read when ``Content-Length`` is over the limit; otherwise count the bytes
    as they stream in and stop at the limit (chunked uploads, lying clients)."""

    def __init__(self, app: ASGIApp, upload_limit: int | None = None, json_limit: int = JSON_BODY_LIMIT) -> None:
        self.app = app
        self.upload_limit = upload_limit  # None: RABBIT_RAG_API_MAX_UPLOAD_MB of the running app's settings
        self.json_limit = json_limit

    def _upload_limit(self, scope: Scope) -> int:
        if self.upload_limit is not None:
            return self.upload_limit
        return int(scope["app"].state.rr.settings.api_max_upload_mb * 1_000_000)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._upload_limit(scope) if is_upload(scope) else self.json_limit
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            what = "upload" if is_upload(scope) else "JSON request"
            response = error_response(
                413,
                "PayloadTooLargeError",
                f"the {what} is {_mb(declared)}; the limit is {_mb(limit)}"
                + (" (RABBIT_RAG_API_MAX_UPLOAD_MB); split it into several uploads" if is_upload(scope) else ""),
            )
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, upload=is_upload(scope))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as e:
            if started:
                raise
            response = error_response(413, "PayloadTooLargeError", str(e.detail))
            response.headers["Connection"] = "close"
            await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class MetricsMiddleware:
    """Counts requests and times them (to the last byte of a streamed response) per route template."""

    def __init__(self, app: ASGIApp, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(scope.get("method", ""), template, status, time.perf_counter() - t0)


# -- secrets in query strings ------------------------------------------------------------------------
#: Query parameters whose values are secrets (keys are accepted only in headers, but clients try).
SECRET_PARAMS = re.compile(r"^(api[-_]?key|key|token|access[-_]?token|auth|authorization|password|secret)$", re.I)
REDACTED = "REDACTED"


def redact_query(query: str) -> str:
    """``query`` with the values of secret-looking parameters replaced (``api_key=REDACTED``)."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(SECRET_PARAMS.match(k) for k, _ in pairs):
        return query
    return urlencode([(k, REDACTED if SECRET_PARAMS.match(k) else v) for k, v in pairs])


class RedactSecretsMiddleware:
    """Replaces secret-looking query parameters (``?api_key=…``) before anything sees the request, so
    no log — the server's access log included, which reads the same request scope — records a key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            raw = scope.get("query_string", b"")
            if raw:
                redacted = redact_query(raw.decode("latin-1")).encode("latin-1")
                if redacted != raw:
                    scope["query_string"] = redacted  # in place: the server's access log reads this scope
        await self.app(scope, receive, send)


class RedactAccessLog(logging.Filter):
    """A logging filter for uvicorn's access log: secret query values never reach a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            path, _, query = args[2].partition("?")
            record.args = (*args[:2], f"{path}?{redact_query(query)}", *args[3:])
        return True


def install_access_log_filter() -> None:
    """Add :class:`RedactAccessLog` to uvicorn's access logger (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())
