"""The web app: ``GET /`` serves the page, ``/web/*`` its assets, ``GET /v1/me`` tells it who the key is.

The page and its assets are plain HTML, CSS and JavaScript modules shipped inside the package
(``api/web/``): no build step, no CDN, no external fonts. They are public, like ``/docs``; every
data call the page makes sends the API key the user typed (``Authorization: Bearer``), so the web
app has exactly the rights of that key. The key stays in the browser (session storage, or local
storage when the user ticks 「이 브라우저에 기억」).

The page is served with a strict Content-Security-Policy: scripts, styles and connections only
from this origin, images from this origin and ``blob:`` (page images are fetched with the key and
shown as blobs), no inline script, no framing.

예::

    rabbit-rag serve --index-root indexes    # then open http://127.0.0.1:8000/
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from rabbit_rag.api.auth import SCOPES
from rabbit_rag.api.deps import Caller, State
from rabbit_rag.api.errors import error_responses

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
STATIC_PREFIX = "/web"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",  # revalidate: a new release's page is picked up at once
}

router = APIRouter(tags=["web"])


class Me(BaseModel):
    """Who the API key is: what the web app may offer (a write key can upload and create)."""

    name: str = Field(examples=["writer"])
    scopes: list[str] = Field(description="read, write and/or admin (admin ⊃ write ⊃ read).", examples=[["read"]])
    collections: list[str] | None = Field(description="The collections the key is limited to; null: all.")
    auth: str = Field(description="`api-keys`, or `disabled` (local development: every caller is admin).")


@router.get("/", include_in_schema=False)
def index_page() -> HTMLResponse:
    """The web app's page (public: it holds no data; it asks for a key)."""
    return HTMLResponse((WEB_DIR / "index.html").read_text(encoding="utf-8"), headers=SECURITY_HEADERS)


@router.get(
    "/v1/me",
    response_model=Me,
    summary="The calling API key: name, scopes, collections",
    responses=error_responses(401),
)
def me(who: Caller, state: State) -> Me:
    """What the key may do, so a client can offer only that (the server checks every call anyway)."""
    if who.key is None:
        return Me(name=who.name, scopes=list(SCOPES), collections=None, auth="disabled")
    rank = {s: i for i, s in enumerate(SCOPES)}
    scopes = [s for s in SCOPES if rank[s] <= who.key.level]  # admin implies write implies read
    cols = None if who.key.collections is None else sorted(who.key.collections)
    return Me(name=who.name, scopes=scopes, collections=cols, auth="api-keys")


class _Assets(StaticFiles):
    """The web app's assets with the page's security headers (``nosniff`` above all)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def mount_assets(app: FastAPI) -> None:
    """Serve ``api/web/`` at ``/web`` (called by the app factory)."""
    app.mount(STATIC_PREFIX, _Assets(directory=WEB_DIR), name="web")


def asset_paths() -> list[str]:
    """Every file of the web app, relative to ``api/web`` (the tests check each is served)."""
    return sorted(p.relative_to(WEB_DIR).as_posix() for p in WEB_DIR.rglob("*") if p.is_file())
