"""Builds a document's normalized text block by block, keeping page and section offsets exact.

Each block is normalized on its own (:func:`rabbit_rag.text.normalize_text`) and blocks are joined
with one newline, so the offsets recorded here point into exactly the text the docstore keeps.

The blocks a reader names (headings, list items, table rows, captions) are kept; the lines of the
rest are read for list items, pipe rows and FAQ question/answer pairs
(:func:`~rabbit_rag.ingest.readers.structure.infer_blocks`), and headings found there open sections too.

예::

    b = TextBuilder()
    b.add("제1장 총강", heading=True)
    b.add("제1조 대한민국은 민주공화국이다.")
    doc = b.document("헌법.docx", title="헌법", metadata={"format": "docx"})
"""

from __future__ import annotations

from typing import Any

from rabbit_rag.errors import EmptyDocumentError
from rabbit_rag.ingest.readers.structure import heading_sections, infer_blocks
from rabbit_rag.text.normalize import normalize_text
from rabbit_rag.types import Block, BlockKind, Document


class TextBuilder:
    """Accumulates blocks (paragraphs, table rows, page texts) into one normalized text."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._pos = 0
        self.sections: list[tuple[int, str]] = []
        self.pages: list[tuple[int, int, int]] = []
        self.blocks: list[Block] = []

    @property
    def pos(self) -> int:
        return self._pos

    def add(
        self,
        text: str,
        heading: bool = False,
        *,
        kind: BlockKind | None = None,
        level: int | None = None,
        header: str | None = None,
    ) -> tuple[int, int] | None:
        """Append one block; returns its ``(start, end)`` or None when it holds no text.

        A heading opens a section. ``kind`` (and a heading's ``level``, a table row's ``header``) records
        the block's structure in :attr:`Document.blocks`; ``heading=True`` implies ``kind="heading"``."""
        block = normalize_text(text).strip()
        if not block:
            return None
        if self._parts:
            self._parts.append("\n")
            self._pos += 1
        start = self._pos
        self._parts.append(block)
        self._pos += len(block)
        if heading:
            self.sections.append((start, " ".join(block.split())[:200]))
            kind = kind or "heading"
        if kind is not None:
            self.blocks.append(Block(start, self._pos, kind, level=level, header=header))
        return start, self._pos

    def begin_page(self) -> int:
        """Where the next block will start: give it to :meth:`end_page` after the page's blocks."""
        return self._pos + (1 if self._parts else 0)

    def end_page(self, start: int, number: int) -> None:
        """Record the blocks added since :meth:`begin_page` returned ``start`` as page ``number``
        (a slide of several blocks); a page that added no text leaves no span."""
        if self._pos > start:
            self.pages.append((start, self._pos, number))

    def page(self, text: str, number: int) -> None:
        """Append the text of one page (1-based ``number``); empty pages leave no span."""
        span = self.add(text)
        if span is not None:
            self.pages.append((span[0], span[1], number))

    def text(self) -> str:
        return "".join(self._parts)

    def document(self, name: str, title: str | None, metadata: dict[str, Any], empty_reason: str) -> Document:
        """The finished document; raises :class:`EmptyDocumentError` with ``empty_reason`` when no text was found."""
        text = self.text()
        if not text.strip():
            raise EmptyDocumentError(name, empty_reason)
        if not title:
            title = next((line.strip()[:200] for line in text.splitlines() if line.strip()), None)
        blocks = infer_blocks(text, self.blocks)
        known = {start for start, _ in self.sections}
        sections = sorted([*self.sections, *(s for s in heading_sections(text, blocks) if s[0] not in known)])
        return Document(
            source=name,
            text=text,
            title=title,
            metadata=metadata,
            pages=tuple(self.pages),
            sections=tuple(sections),
            blocks=blocks,
        )
