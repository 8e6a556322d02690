"""The small value types every part passes around.

Offsets are character offsets into the document's normalized text, so
``document_text[chunk.start:chunk.end] == chunk.text`` always holds.

예::

    >>> c = Chunk(chunk_id=1, doc_id="d1", source="헌법.txt", start=0, end=5, text="대한민국헌법")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Document:
    """A normalized document ready for chunking.

    ``pages`` are ``(start, end, page_number)`` spans of ``text`` (PDF); ``sections`` are
    ``(start, title)`` headings. Chunks never cross a page or section start.
    """

    source: str
    text: str
    uri: str | None = None
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    pages: tuple[tuple[int, int, int], ...] = ()
    sections: tuple[tuple[int, str], ...] = ()

    @property
    def key(self) -> str:
        """The identity used for incremental ingest: the URI when known, else the source."""
        return self.uri or self.source


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage: ``text == document_text[start:end]``; ``page`` is 1-based (PDF only)."""

    chunk_id: int
    doc_id: str
    source: str
    start: int
    end: int
    text: str
    page: int | None = None
    section: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A retrieval hit: the chunk, its fused score and the per-retriever scores behind it."""

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self, rank: int) -> dict[str, Any]:
        """The JSON shape of one search result (see DESIGN.md)."""
        c = self.chunk
        return {
            "rank": rank,
            "score": round(float(self.score), 6),
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "source": c.source,
            "page": c.page,
            "start": c.start,
            "end": c.end,
            "text": c.text,
        }
