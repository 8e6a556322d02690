"""Plain text and Markdown.

Text files are decoded with encoding detection (UTF-8 with or without BOM, UTF-16/32 with BOM,
CP949/EUC-KR). In Markdown, ATX headings (``# 제목``) become sections, so chunks never straddle two
sections and each chunk knows its heading.
"""

from __future__ import annotations

import re

from rabbit_rag.errors import EmptyDocumentError
from rabbit_rag.text import decode_bytes, normalize_text
from rabbit_rag.types import Document

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _first_line_title(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:200]
    return None


class TextReader:
    """``.txt`` and friends."""

    name = "text"
    extensions: tuple[str, ...] = (".txt", ".text", ".log", ".csv", ".tsv", ".rst")

    def sniff(self, head: bytes, name: str) -> bool:
        return False  # text has no magic; chosen by extension

    def read(self, data: bytes, name: str) -> Document:
        decoded = decode_bytes(data, name)
        text = normalize_text(decoded.text)
        if not text.strip():
            raise EmptyDocumentError(name, "the file holds no text")
        return Document(
            source=name,
            text=text,
            title=_first_line_title(text),
            metadata={"encoding": decoded.encoding, "format": "text"},
        )


class MarkdownReader(TextReader):
    """``.md``: text whose ATX headings become sections."""

    name = "markdown"
    extensions = (".md", ".markdown")

    def read(self, data: bytes, name: str) -> Document:
        doc = super().read(data, name)
        sections = tuple((m.start(), m.group(2).strip()) for m in _HEADING.finditer(doc.text))
        title = sections[0][1] if sections else doc.title
        return Document(
            source=name,
            text=doc.text,
            title=title,
            metadata={**doc.metadata, "format": "markdown"},
            sections=sections,
        )
