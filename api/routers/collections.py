"""``/v1/collections``: create, list, get and delete collections (index folders under the index root)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, status

from rabbit_rag.api import schemas
from rabbit_rag.api.deps import Administrable, Caller, Readable, State
from rabbit_rag.api.errors import ConflictError, error_responses, scrub_paths
from rabbit_rag.errors import IndexNotFoundError

log = logging.getLogger("rabbit_rag.api")

router = APIRouter(prefix="/v1/collections", tags=["collections"])


def _info(state: State, name: str) -> schemas.Collection:
    info = state.collections.info(name)
    if info.get("embedding_note"):  # e.g. a local model folder that could not load
        info["embedding_note"] = scrub_paths(info["embedding_note"], (str(state.collections.root),))
    return schemas.Collection(**info, jobs_active=state.jobs.active(name))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Collection,
    summary="Create an empty collection",
    responses=error_responses(401, 403, 409, 422, 503),
)
def create_collection(body: schemas.CollectionCreate, state: State, who: Caller) -> schemas.Collection:
    """A collection is an index folder under the index root. `embed_model` is `default` (the server's
    embedding model; BM25-only when it cannot load here, and `embedding_note` says why) or `none`."""
    name = state.collections.path(body.name).name  # validated, NFC
    who.require("write", name)
    state.collections.create(
        name, embed_model="none" if body.embed_model == "none" else None, chunk_tokens=body.chunk_tokens
    )
    return _info(state, name)


@router.get(
    "",
    response_model=schemas.CollectionList,
    summary="List the collections this key can read",
    responses=error_responses(401),
)
def list_collections(state: State, who: Caller) -> schemas.CollectionList:
    out = []
    for name in state.collections.names():
        if who.can("read", name):
            try:
                out.append(_info(state, name))
            except IndexNotFoundError:
                continue  # deleted while listing
            except Exception as e:  # one broken collection must never turn the list into an error
                log.error("collection %s cannot be opened: %s", name, e)
                problem = scrub_paths(str(e), (str(state.collections.root),))
                out.append(schemas.Collection(name=name, status="broken", problem=problem))
    return schemas.CollectionList(collections=out)


@router.get(
    "/{name}",
    response_model=schemas.Collection,
    summary="One collection",
    responses=error_responses(401, 403, 404, 422),
)
def get_collection(name: Readable, state: State) -> schemas.Collection:
    return _info(state, name)


@router.delete(
    "/{name}",
    response_model=schemas.Deleted,
    summary="Delete a collection and all its documents (admin)",
    responses=error_responses(401, 403, 404, 409, 422),
)
def delete_collection(name: Administrable, state: State) -> schemas.Deleted:
    if state.jobs.active(name):
        raise ConflictError(
            f"collection {name!r} has {state.jobs.active(name)} job(s) queued or running; retry when they finish"
        )
    state.collections.delete(name)
    state.jobs.forget_worker(name)
    return schemas.Deleted(deleted=name, collection=name)
