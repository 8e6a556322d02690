"""The app factory: ``create_app(settings)`` → a FastAPI app; nothing heavy happens at import.

Settings, keys, the collection registry and the job workers are built in the lifespan; the
collections' indexes, their embedding models and Kiwi load on a background thread right after
(``/readyz`` says when). Run it with ``rabbit-rag serve`` or any ASGI server::

    uvicorn --factory rabbit_rag.api.app:create_app

예::

    from fastapi.testclient import TestClient
    with TestClient(create_app(Settings(index_root=tmp, api_auth_disabled=True))) as client:
        client.post("/v1/collections", json={"name": "헌법", "embed_model": "none"})
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from rabbit_rag import __version__
from rabbit_rag.api.errors import install_error_handlers
from rabbit_rag.api.metrics import Metrics
from rabbit_rag.api.middleware import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    RedactSecretsMiddleware,
    install_access_log_filter,
)
from rabbit_rag.api.routers import ask, chat, collections, documents, health, jobs, pages, search, web
from rabbit_rag.api.state import AppState
from rabbit_rag.settings import Settings

log = logging.getLogger("rabbit_rag.api")

DESCRIPTION = """
rabbit-rag as an internal knowledge base: collections of Korean documents, search, answers that cite
the exact sentences they rest on, and an OpenAI-compatible chat endpoint.

Every `/v1` call needs an API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`
(create one with `rabbit-rag keys create NAME --scopes read,write`).

```
curl -X POST localhost:8000/v1/collections -H "Authorization: Bearer $KEY" \\
     -H 'content-type: application/json' -d '{"name": "헌법", "embed_model": "none"}'
curl -X POST localhost:8000/v1/collections/헌법/documents -H "Authorization: Bearer $KEY" -F files=@constitution.txt
curl -X POST localhost:8000/v1/collections/헌법/search -H "Authorization: Bearer $KEY" \\
     -H 'content-type: application/json' -d '{"query": "대통령 임기는 몇 년이야?", "top_k": 3}'
```

Errors always have the shape `{"error": {"type": ..., "message": ...}}`.
"""

TAGS = [
    {"name": "collections", "description": "A collection is one index folder under the index root."},
    {"name": "documents", "description": "Upload (background job), list, read and delete documents."},
    {"name": "jobs", "description": "Progress and per-file errors of uploads."},
    {"name": "search", "description": "BM25, dense or hybrid search."},
    {"name": "ask", "description": "Answers that cite the exact sentences they rest on (JSON or Server-Sent Events)."},
    {"name": "openai", "description": "OpenAI-compatible chat completions: `model` is the collection."},
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics."},
    {"name": "web", "description": "The web app at `/` and what it asks about its key."},
]


def _ensure_log_handler() -> None:
    # uvicorn configures its own loggers only; ours must reach stderr too
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     rabbit-rag: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _warn_about_auth(state: AppState) -> None:
    s = state.settings
    if s.api_auth_disabled:
        bar = "!" * 78
        log.warning(
            "\n%s\n  AUTHENTICATION IS DISABLED (RABBIT_RAG_API_AUTH_DISABLED=true).\n"
            "  Every request acts as an admin: anyone who reaches this port can read, upload and DELETE.\n"
            "  Use this for local development only; never expose this server.\n%s",
            bar,
            bar,
        )
    elif len(state.keys) == 0:
        log.warning(
            "no API keys are configured (%s, RABBIT_RAG_API_KEYS): every /v1 request will get 401. "
            "Create one with: rabbit-rag keys create NAME --scopes read,write",
            state.keys.path,
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The rabbit-rag API. ``settings`` default to ``Settings()`` (``RABBIT_RAG_*`` environment), read
    when the app starts.

    예: ``uvicorn.run(create_app(Settings(index_root=Path("indexes"))), port=8000)``
    """
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _ensure_log_handler()
        install_access_log_filter()
        s = settings or Settings()
        state = AppState.build(s, metrics)
        app.state.rr = state
        _warn_about_auth(state)
        log.info("index root %s: %d collection(s)", state.collections.root, len(state.collections.names()))
        if s.api_preload:
            state.start_preload()
        else:
            state.mark_ready()
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="rabbit-rag API",
        version=__version__,
        summary="Korean RAG knowledge base: collections, uploads, search, cited answers.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # counts the 413s too
    app.add_middleware(RedactSecretsMiddleware)  # outermost: no later layer or log sees a key in a query

    for module in (health, collections, documents, pages, jobs, search, ask, chat, web):
        app.include_router(module.router)
    web.mount_assets(app)  # the web app at / and /web/* (public assets; every data call needs the key)
    return app
