"""Dependencies the routes share: the caller (API key → :class:`Principal`) and checked collection names.

Order matters and is fixed here: the key is checked first (401), then the scope and collection
(403), then the route runs (404 for a missing collection, 422 for bad input). Upload bodies are
read only after these checks, so an unauthenticated client cannot make the server read 50 MB.

예::

    @router.post("/v1/collections/{name}/search")
    def search(name: Readable, body: SearchRequest, state: State): ...
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator

from rabbit_rag.api.auth import ANONYMOUS_ADMIN, Principal
from rabbit_rag.api.collections import NAME_RE
from rabbit_rag.api.state import AppState, get_state

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="`Authorization: Bearer <API key>` (also what OpenAI clients send)",
)
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="`X-API-Key: <API key>`"
)

State = Annotated[AppState, Depends(get_state)]


def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    header_key: Annotated[str | None, Security(api_key_header)],
) -> Principal:
    """The caller: 401 without a valid key (or the anonymous admin when auth is disabled)."""
    state = get_state(request)
    if state.settings.api_auth_disabled:
        return ANONYMOUS_ADMIN
    return state.keys.authenticate(creds.credentials if creds else header_key)


Caller = Annotated[Principal, Depends(principal)]


def _nfc(v: object) -> object:
    # macOS clients may send decomposed Hangul (NFD); names are stored and matched in NFC
    return unicodedata.normalize("NFC", v) if isinstance(v, str) else v


CollectionName = Annotated[
    str,
    Path(
        pattern=NAME_RE,
        min_length=1,
        max_length=64,
        description="Collection name: 1-64 letters, digits, Hangul syllables, `_` or `-`.",
        examples=["헌법"],
    ),
    BeforeValidator(_nfc),  # after Path: the pattern stays in the OpenAPI schema and applies to the NFC form
]


def _needs(scope: str):
    def check(name: CollectionName, who: Caller) -> str:
        who.require(scope, name)
        return name

    check.__name__ = f"collection_{scope}"
    return check


Readable = Annotated[str, Depends(_needs("read"))]
Writable = Annotated[str, Depends(_needs("write"))]
Administrable = Annotated[str, Depends(_needs("admin"))]
