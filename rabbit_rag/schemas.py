"""The JSON shapes of the library's results, declared once.

``rabbit-rag search --json``, ``ask --json``, the notebooks and the HTTP API all emit these; the API
uses the same classes as its response models (its ``/docs`` show these descriptions and examples), so
a field cannot drift between the command line and the service.

예::

    SearchHit.of(hit, rank=1).model_dump()
    # {'rank': 1, 'score': 4.625, 'chunk_id': 79, 'doc_id': 'b19436ae5a67d4a8', 'source': ..., 'text': ...}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from rabbit_rag.citations import Citation
from rabbit_rag.types import ScoredChunk


class SearchHit(BaseModel):
    """One search result: where its text is (``document_text[start:end] == text``) and how it scored."""

    rank: int
    score: float
    chunk_id: int
    doc_id: str
    source: str
    page: int | None
    start: int = Field(description="Character offset into the document's text.")
    end: int
    text: str = Field(examples=["제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다."])

    @classmethod
    def of(cls, hit: ScoredChunk, rank: int) -> SearchHit:
        c = hit.chunk
        return cls(
            rank=rank, score=round(float(hit.score), 6), chunk_id=c.chunk_id, doc_id=c.doc_id, source=c.source,
            page=c.page, start=c.start, end=c.end, text=c.text,
        )  # fmt: skip


class DocumentInfo(BaseModel):
    """A document of an index, without its text (and without the file path it was read from)."""

    doc_id: str = Field(examples=["3f1c0a9e5b7d2c41"])
    source: str = Field(examples=["constitution.txt"])
    title: str | None = Field(examples=["대한민국헌법"])
    content_hash: str
    size: int | None
    n_chars: int
    n_chunks: int
    metadata: dict[str, Any]
    created_at: str
    updated_at: str


class AnswerSpan(BaseModel):
    """The short answer inside a cited sentence (``4년`` of ``국회의원의 임기는 4년으로 한다.``):
    ``document_text[start:end] == text``, like a citation's quote."""

    n: int = Field(description="The source it is in: sources[n-1].")
    chunk_id: int
    doc_id: str
    start: int
    end: int
    text: str = Field(examples=["4년"])


class Answer(BaseModel):
    """``ask --json``: the answer, what wrote it, its citations, the numbered sources (``sources[0]``
    is ``[1]``), whether the documents held no answer, and how long each stage took."""

    question: str
    answer: str = Field(examples=["대통령의 임기는 5년으로 하며, 중임할 수 없다. [1]"])
    generator: str = Field(description="What wrote the answer: extractive, transformers:<model>, openai:<model>.")
    not_found: bool = Field(
        False,
        description="True when the answer is that the documents do not hold one (제공된 문서에서 답을 찾을 수 없습니다.).",
    )
    span: AnswerSpan | None = Field(
        None, description="The short answer inside the first cited sentence, when the generator knows it (extractive)."
    )
    citations: list[Citation]
    sources: list[SearchHit]
    timings: dict[str, float] = Field(
        default_factory=dict,
        description="Milliseconds per stage: retrieve_ms, first_token_ms, generate_ms, cite_ms, total_ms.",
        examples=[{"retrieve_ms": 3.1, "first_token_ms": 41.0, "generate_ms": 38.2, "cite_ms": 0.4, "total_ms": 41.9}],
    )
