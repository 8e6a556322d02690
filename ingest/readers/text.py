"""Plain text and Markdown.

Text files are decoded with encoding detection (UTF-8 with or without BOM, UTF-16/32 with BOM,
CP949/EUC-KR). In Markdown, headings (``# 제목`` and setext ``제목`` / ``===``) become sections, so chunks never straddle two
sections and each chunk knows its heading.

Both carry their structure as blocks (:mod:`rabbit_rag.ingest.readers.structure`): list items, pipe-table rows
with their header, FAQ question/answer pairs; Markdown headings with their level; in plain text a
title line, Roman-numeral and chapter headings and bullets that head others (these become sections too).
"""

from __future__ import annotations

import re

from rabbit_rag.errors import EmptyDocumentError
from rabbit_rag.ingest.readers.structure import heading_sections, infer_blocks
from rabbit_rag.text.normalize import decode_bytes, normalize_text
from rabbit_rag.types import Block, Document

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_SETEXT = re.compile(r"^([^\n]*\S[^\n]*)\n {0,3}(=+|-+)[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)


def markdown_sections(text: str) -> tuple[tuple[int, str], ...]:
    """``(start, heading)`` of ATX (``# 제목``) and setext (``제목`` over ``===``) headings, outside code fences.

    예: ``markdown_sections("# 개요\n본문")`` → ``((0, "개요"),)``
    """
    return tuple((b.start, title) for b, title in _markdown_headings(text, _fences(text)))


def _fences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _FENCE.finditer(text)]


def _markdown_headings(text: str, fenced: list[tuple[int, int]]) -> list[tuple[Block, str]]:
    """Heading blocks (ATX level = number of ``#``; setext ``===`` 1, ``---`` 2) with their titles."""

    def in_fence(pos: int) -> bool:
        return any(a <= pos < b for a, b in fenced)

    found: list[tuple[Block, str]] = []
    for m in _HEADING.finditer(text):
        if not in_fence(m.start()):
            start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            end = m.start() + len(m.group(0).rstrip())
            found.append((Block(start, end, "heading", level=len(m.group(1))), m.group(2).strip()))
    for m in _SETEXT.finditer(text):
        line = m.group(1)
        if in_fence(m.start()) or line.lstrip().startswith(("#", "-", "*", "+", ">", "|")):
            continue  # a list item or quote over "---" is not a heading
        start = m.start() + len(line) - len(line.lstrip())
        level = 1 if m.group(2).startswith("=") else 2
        found.append((Block(start, m.start() + len(line.rstrip()), "heading", level=level), line.strip()))
    return sorted(found, key=lambda x: x[0].start)


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
        blocks = infer_blocks(text, title=True)
        return Document(
            source=name,
            text=text,
            title=_first_line_title(text),
            metadata={"encoding": decoded.encoding, "format": "text"},
            sections=heading_sections(text, blocks),
            blocks=blocks,
        )


class MarkdownReader(TextReader):
    """``.md``: text whose ATX and setext headings (outside code fences) become sections."""

    name = "markdown"
    extensions = (".md", ".markdown")

    def read(self, data: bytes, name: str) -> Document:
        decoded = decode_bytes(data, name)
        text = normalize_text(decoded.text)
        if not text.strip():
            raise EmptyDocumentError(name, "the file holds no text")
        fenced = _fences(text)
        headings = _markdown_headings(text, fenced)
        blocks = infer_blocks(text, [b for b, _ in headings], opaque=fenced)
        sections = tuple((b.start, title) for b, title in headings)
        # a heading that asks (### 환불은 누가 하나요?) is now a question block; it still opens a section
        return Document(
            source=name,
            text=text,
            title=sections[0][1] if sections else _first_line_title(text),
            metadata={"encoding": decoded.encoding, "format": "markdown"},
            sections=sections,
            blocks=blocks,
        )
