"""The small value types every part passes around.

Offsets are character offsets into the document's normalized text, so
``document_text[chunk.start:chunk.end] == chunk.text`` always holds.

예::

    >>> c = Chunk(chunk_id=1, doc_id="d1", source="헌법.txt", start=0, end=5, text="대한민국헌법")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

#: How to search: BM25 and dense fused (``hybrid``), or one of them.
SearchMode = Literal["hybrid", "bm25", "dense"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)
#: How a hybrid search fuses rankings: reciprocal rank (``rrf``) or min-max-normalized scores.
Fusion = Literal["rrf", "score"]
FUSIONS: tuple[str, ...] = get_args(Fusion)
#: Who writes answers: a local transformers model, an OpenAI-compatible server, no model at all
#: (``extractive``), or ``auto`` (the local model when it loads here, else extractive).
GeneratorKind = Literal["auto", "transformers", "openai", "extractive"]
GENERATOR_KINDS: tuple[str, ...] = get_args(GeneratorKind)
#: How a local transformers model decodes: the static decoder (batched, CUDA graphs), transformers'
#: ``generate``, or ``auto`` (static on CUDA, generate elsewhere).
LLMDecoder = Literal["auto", "static", "generate"]
LLM_DECODERS: tuple[str, ...] = get_args(LLMDecoder)

#: What a block of a document is. Readers say what they know; text without markup is ``paragraph``.
BlockKind = Literal["heading", "paragraph", "list_item", "table_row", "question", "answer", "caption"]


@dataclass(frozen=True, slots=True)
class Block:
    """A structural unit of a document: ``text[start:end]`` is a heading, a paragraph, a list item, a
    table row, an FAQ question or answer, or a caption.

    ``level`` is a heading's depth (1 = top). ``header`` gives a table row the text of its table's
    header row (``"업무 | 담당 | 기한"``), so a row can be read with its column names.

    예: ``Block(0, 7, "heading", level=1)``
    """

    start: int
    end: int
    kind: BlockKind
    level: int | None = None
    header: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A normalized document ready for chunking.

    ``pages`` are ``(start, end, page_number)`` spans of ``text`` (PDF); ``sections`` are
    ``(start, title)`` headings. Chunks never cross a page or section start. ``blocks`` describe the
    document's structure where the reader knows it (see :class:`Block`); they may be empty.
    """

    source: str
    text: str
    uri: str | None = None
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    pages: tuple[tuple[int, int, int], ...] = ()
    sections: tuple[tuple[int, str], ...] = ()
    blocks: tuple[Block, ...] = ()

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
