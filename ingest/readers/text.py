"""Plain text and Markdown.

Text files are decoded with encoding detection (UTF-8 with or without BOM, UTF-16/32 with BOM,
CP949/EUC-KR). In Markdown, headings (``# 제목`` and setext ``제목`` / ``===``) become sections, so chunks never straddle two
sections and each chunk knows its heading.
"""

from __future__ import annotations

from rabbit_rag.errors import EmptyDocumentError
from rabbit_rag.text.normalize import decode_bytes, normalize_text
from rabbit_rag.types import Document

_FENCES = ("```", "~~~")


def _lines(text: str) -> list[tuple[int, str]]:
    """``(start offset, line)`` of every line (without its ``\n``)."""
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def _indent_ok(line: str) -> tuple[bool, str]:
    """Whether the line starts with at most three spaces (Markdown's block indent), and the rest."""
    body = line.lstrip(" ")
    return len(line) - len(body) <= 3, body


def _fenced_lines(lines: list[tuple[int, str]]) -> list[bool]:
    """Which lines are inside a code fence (opening and closing lines included). An opening fence
    without a closing one of the same kind is not a fence."""
    kinds = []
    for _, line in lines:
        ok, body = _indent_ok(line)
        kinds.append(body[:3] if ok and body[:3] in _FENCES else None)
    nxt: dict[str, int | None] = {f: None for f in _FENCES}
    next_same: list[int | None] = [None] * len(lines)
    for i in range(len(lines) - 1, -1, -1):  # the next line of the same kind, for each fence line
        kind = kinds[i]
        if kind is not None:
            next_same[i] = nxt[kind]
            nxt[kind] = i
    fenced = [False] * len(lines)
    i = 0
    while i < len(lines):
        close = next_same[i] if kinds[i] is not None else None
        if close is None:
            i += 1
            continue
        for j in range(i, close + 1):
            fenced[j] = True
        i = close + 1
    return fenced


def _atx_heading(line: str) -> str | None:
    """The text of an ATX heading line (``## 제목 ##`` → ``제목``), or None."""
    ok, body = _indent_ok(line)
    if not ok or not body.startswith("#"):
        return None
    level = len(body) - len(body.lstrip("#"))
    rest = body[level:]
    if level > 6 or not rest or rest[0] not in " \t":
        return None
    content = rest.lstrip(" \t") or rest[1:]  # "#   " is a heading with no text, "# " is no heading
    if not content:
        return None
    content = content.rstrip(" \t")
    closed = content.rstrip("#")
    if closed != content and closed.rstrip(" \t") and closed[-1] in " \t":
        content = closed.rstrip(" \t")  # an optional closing run of #s after a space
    return content.strip()


def _setext_underline(line: str) -> bool:
    """``===`` or ``---`` (at most three spaces before, spaces or tabs after)."""
    ok, body = _indent_ok(line)
    mark = body.rstrip(" \t")
    return ok and bool(mark) and (set(mark) == {"="} or set(mark) == {"-"})


def markdown_sections(text: str) -> tuple[tuple[int, str], ...]:
    """``(start, heading)`` of ATX (``# 제목``) and setext (``제목`` over ``===``) headings, outside code fences.

    One pass over the lines (no backtracking regular expressions): linear in the text, however long
    its lines.

    예: ``markdown_sections("# 개요\n본문")`` → ``((0, "개요"),)``
    """
    lines = _lines(text)
    fenced = _fenced_lines(lines)
    found: list[tuple[int, str]] = []
    prev: int | None = None  # the line before, when it can be the text of a setext heading
    for i, (start, line) in enumerate(lines):
        if not fenced[i]:
            heading = _atx_heading(line)
            if heading is not None:
                found.append((start, heading))
        if prev is not None and _setext_underline(line):
            p_start, p_line = lines[prev]
            # a fenced line, a list item or a quote over "---" is no heading (but the pair is used up)
            if not fenced[prev] and not p_line.lstrip().startswith(("#", "-", "*", "+", ">", "|")):
                found.append((p_start, p_line.strip()))
            prev = None  # the underline cannot be the text of the next heading
            continue
        prev = i if line.strip() else None
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
