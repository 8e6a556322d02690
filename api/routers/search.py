"""``POST /v1/collections/{name}/search``: BM25 / dense / hybrid search over one collection."""

from __future__ import annotations

from fastapi import APIRouter

from rabbit_rag.api import schemas
from rabbit_rag.api.deps import Readable, State
from rabbit_rag.api.errors import error_responses
from rabbit_rag.components import retriever_from_settings
from rabbit_rag.index import SearchFilter
from rabbit_rag.limits import MAX_API_TOP_K
from rabbit_rag.retrieval import check_query

router = APIRouter(prefix="/v1/collections/{name}", tags=["search"])


@router.post(
    "/search",
    response_model=schemas.SearchResponse,
    summary="Search a collection",
    responses=error_responses(401, 403, 404, 422, 503),
)
def search(name: Readable, body: schemas.SearchRequest, state: State) -> schemas.SearchResponse:
    """Results carry `doc_id`, `start` and `end`: `GET .../documents/{doc_id}` returns the text they
    point into. `hybrid` and `dense` fall back to BM25 on a collection without vectors; `retrieval`
    names what ran and `note` says why."""
    s = state.settings
    index = state.collections.get(name)  # one snapshot for the whole search
    mode = body.mode or s.search_mode
    k = body.top_k or min(s.top_k, MAX_API_TOP_K)
    check_query(body.query, k, s.max_question_chars)
    retriever = retriever_from_settings(s, index, mode)
    hits = retriever.retrieve(body.query, k, filters=SearchFilter.of(body.source, body.doc_id))
    note = None
    if retriever.name != mode:  # hybrid/dense on a collection without usable vectors
        note = f"answered with {retriever.name}: {index.dense_unavailable_reason()}"
    return schemas.SearchResponse(
        collection=name,
        query=body.query,
        mode=mode,
        retrieval=retriever.name,
        note=note,
        revision=index.revision,
        results=[schemas.SearchHit.of(h, i + 1) for i, h in enumerate(hits)],
    )
