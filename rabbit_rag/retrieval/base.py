"""What every retriever is: ``retrieve(query, k, filters) -> list[ScoredChunk]``.

Retrievers compose: :class:`~rabbit_rag.retrieval.hybrid.HybridRetriever` fuses any of them and sees
nothing but this protocol.

예: ``isinstance(BM25Retriever(index), Retriever)`` → ``True``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.limits import MAX_QUERY_CHARS
from rabbit_rag.types import ScoredChunk

if TYPE_CHECKING:
    from rabbit_rag.index.filters import SearchFilter


@runtime_checkable
class Retriever(Protocol):
    name: str

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]: ...


def check_query(query: str, k: int, max_chars: int | None = None) -> str:
    """The query stripped; :class:`InvalidInputError` when it is empty or too long, or ``k < 1``.

    ``max_chars`` is the limit on what a person typed (the CLI and the API pass
    ``RABBIT_RAG_MAX_QUESTION_CHARS``); retrievers themselves accept up to :data:`MAX_QUERY_CHARS`, room
    for a follow-up question with its conversation's topic."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("the query is empty; give a question or keywords, e.g. '대통령 임기'")
    if max_chars is not None and len(query) > max_chars:
        raise InvalidInputError(
            f"the query has {len(query)} characters; the limit is {max_chars} (RABBIT_RAG_MAX_QUESTION_CHARS)"
        )
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"the query has {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
    if k < 1:
        raise InvalidInputError(f"k={k}: ask for at least one result")
    return query.strip()
