"""``/healthz`` (the process answers), ``/readyz`` (collections and models loaded), ``/metrics``.

``/readyz`` is for load balancers and needs no key: without one it says only ``ready`` or
``loading``. The details (collection names, problems, the generator) need an admin key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from rabbit_rag.api.deps import State
from rabbit_rag.api.errors import ApiError, scrub_paths

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: 200 once the collections and models are loaded, 503 before",
    responses={503: {"description": "Still loading", "content": {"application/json": {}}}},
)
def readyz(state: State, request: Request) -> Any:
    body: dict[str, Any] = {"status": "ready" if state.ready.is_set() else "loading"}
    if _is_admin(state, request):
        roots = (str(state.collections.root),)
        body.update(
            collections=list(state.loaded),
            problems={k: scrub_paths(v, roots) for k, v in state.load_errors.items()},
            auth="disabled" if state.settings.api_auth_disabled else "api-keys",
            generator=state.extras.get("generator"),
        )
    return JSONResponse(body, status_code=200 if state.ready.is_set() else 503)


def _is_admin(state: State, request: Request) -> bool:
    """Whether the caller presented an admin key (a missing or wrong one is no error here)."""
    if state.settings.api_auth_disabled:
        return True
    auth = request.headers.get("authorization", "")
    presented = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key")
    if not presented:
        return False
    try:
        return state.keys.authenticate(presented).can("admin")
    except ApiError:
        return False


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
