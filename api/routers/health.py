"""``/healthz`` (the process answers), ``/readyz`` (collections and models loaded), ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from rabbit_rag.api.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: 200 once the collections and models are loaded, 503 before",
    responses={503: {"description": "Still loading", "content": {"application/json": {}}}},
)
def readyz(state: State) -> Any:
    body = {
        "status": "ready" if state.ready.is_set() else "loading",
        "collections": list(state.loaded),
        "problems": dict(state.load_errors),
        "auth": "disabled" if state.settings.api_auth_disabled else "api-keys",
        "generator": state.extras.get("generator"),
    }
    return JSONResponse(body, status_code=200 if state.ready.is_set() else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
