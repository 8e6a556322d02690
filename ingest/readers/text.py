"""Plain text and Markdown.

Text files are decoded with encoding detection (UTF-8 with or without BOM, UTF-16/32 with BOM,
CP949/EUC-KR). In Markdown, headings (``# 제목`` and setext ``제목`` / ``===``) become sections, so chunks never straddle two
sections and each chunk knows its heading.
"""

from __future__ import annotations

import re

from rabbit_rag.errors import EmptyDocumentError
from rabbit_rag.text.normalize import decode_bytes, normalize_text
from rabbit_rag.types import Document

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_SETEXT = re.compile(r"^([^\n]*\S[^\n]*)\n {0,3}(=+|-+)[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)


def markdown_sections(text: str) -> tuple[tuple[int, str], ...]:
    """``(start, heading)`` of ATX (``# 제목``) and setext (``제목`` over ``===``) headings, outside code fences.

    예: ``markdown_sections("# 개요\n본문")`` → ``((0, "개요"),)``
    """
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]

    def in_fence(pos: int) -> bool:
        return any(a <= pos < b for a, b in fenced)

    found = [(m.start(), m.group(2).strip()) for m in _HEADING.finditer(text) if not in_fence(m.start())]
    for m in _SETEXT.finditer(text):
        line = m.group(1)
        if in_fence(m.start()) or line.lstrip().startswith(("#", "-", "*", "+", ">", "|")):
            continue  # a list item or quote over "---" is not a heading
        found.append((m.start(), line.strip()))
    return tuple(sorted(found))


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
    """``.md``: text whose ATX and setext headings (outside code fences) become sections."""

    name = "markdown"
    extensions = (".md", ".markdown")

    def read(self, data: bytes, name: str) -> Document:
        doc = super().read(data, name)
        sections = markdown_sections(doc.text)
        title = sections[0][1] if sections else doc.title
        return Document(
            source=name,
            text=doc.text,
            title=title,
            metadata={**doc.metadata, "format": "markdown"},
            sections=sections,
        )
