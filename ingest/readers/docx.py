"""DOCX (Office Open XML word processing): paragraphs, headings, tables, footnotes.

Read straight from the ZIP's XML with the safe parser of :mod:`rabbit_rag.ingest.readers.archive` rather than
through python-docx: python-docx loads every part of the package into memory (images included)
before we could check a single size, which is what a decompression bomb needs; reading only the
parts we use, under the unpacked-size budget, keeps memory bounded. python-docx stays a test-only
dependency (it writes the test documents).

Paragraph styles whose name is ``Title`` or ``heading N`` (the built-in names Word stores whatever
the UI language, e.g. styleId ``1`` named ``heading 1`` in Korean Word), or that carry an outline
level, become sections. Table rows become ``cell | cell`` lines; text boxes and footnotes follow in
document order; deleted text (tracked changes) and field codes are left out.

Structure travels as blocks: headings with their level (``heading N`` → N, ``Title`` → 1, an outline
level → level + 1), numbered or bulleted paragraphs (``w:numPr``, list styles) as list items, the
``Caption`` style as captions, table rows with their table's header row (a ``tblHeader`` row, else a
first row of short labels).

예::

    doc = DocxReader().read(Path("회의록.docx").read_bytes(), "회의록.docx")
    doc.sections  # ((0, "1. 개요"), (57, "2. 결정 사항"), ...)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers.archive import ZIP_MAGIC, SafeZip, zip_names
from rabbit_rag.ingest.readers.builder import TextBuilder
from rabbit_rag.ingest.readers.limits import check_deadline
from rabbit_rag.ingest.readers.tables import header_row
from rabbit_rag.types import BlockKind, Document

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_HEADING_NAME = re.compile(r"^(title|subtitle|heading \d)$", re.IGNORECASE)
_LIST_NAME = re.compile(r"^list", re.IGNORECASE)
_CAPTION_NAME = re.compile(r"^caption$", re.IGNORECASE)
_INLINE = {f"{W}tab": "\t", f"{W}br": "\n", f"{W}cr": "\n", f"{W}noBreakHyphen": "-", f"{W}softHyphen": ""}
_CONTAINERS = {f"{W}body", f"{W}sdt", f"{W}sdtContent", f"{W}customXml", f"{W}txbxContent", f"{W}footnote"}


@dataclass(frozen=True, slots=True)
class Style:
    """What a paragraph is, for :meth:`TextBuilder.add`: a heading (with its level), a list item, a
    caption or a table row (with its table's header)."""

    heading: bool = False
    kind: BlockKind | None = None
    level: int | None = None
    header: str | None = None


def _heading_level(name: str, style: Any) -> int | None:
    name = name.strip().lower()
    if name == "title":
        return 1
    if name == "subtitle":
        return 2
    if name.startswith("heading "):
        return int(name[8:]) if name[8:].isdigit() else 1
    lvl = style.find(f"{W}pPr/{W}outlineLvl")
    if lvl is not None:
        val = lvl.get(f"{W}val", "0")
        return int(val) + 1 if val.isdigit() and int(val) < 9 else None
    return None


def _paragraph_styles(z: SafeZip) -> dict[str, Style]:
    """Style ids that mark headings (built-in heading names or an outline level, with their level),
    list paragraphs and captions."""
    if not z.has("word/styles.xml"):
        return {}
    out: dict[str, Style] = {}
    for style in z.xml("word/styles.xml").iter(f"{W}style"):
        sid = style.get(f"{W}styleId")
        name_el = style.find(f"{W}name")
        name = name_el.get(f"{W}val", "") if name_el is not None else ""
        if not sid:
            continue
        level = _heading_level(name, style) if _HEADING_NAME.match(name.strip()) or style.find(
            f"{W}pPr/{W}outlineLvl"
        ) is not None else None  # fmt: skip
        if level is not None:
            out[sid] = Style(heading=True, level=level)
        elif _CAPTION_NAME.match(name.strip()):
            out[sid] = Style(kind="caption")
        elif _LIST_NAME.match(name.strip()) or style.find(f"{W}pPr/{W}numPr") is not None:
            out[sid] = Style(kind="list_item")
    return out


class _BodyWalker:
    def __init__(self, name: str, styles: dict[str, Style]):
        self.name = name
        self.styles = styles
        self.seen = 0
        self.tables = 0
        self.paragraphs = 0

    def blocks(self, el: Any) -> Iterator[tuple[str, Style]]:
        """``(text, style)`` blocks under ``el`` in document order."""
        self.seen += 1
        if self.seen & 0x3FF == 0:
            check_deadline(self.name)
        tag = el.tag
        if tag == f"{W}p":
            yield from self._paragraph(el)
        elif tag == f"{W}tbl":
            self.tables += 1
            yield from self._rows(el)
        elif tag in _CONTAINERS:
            for child in el:
                yield from self.blocks(child)

    def _style(self, p: Any) -> Style:
        ppr = p.find(f"{W}pPr")
        if ppr is None:
            return _PLAIN
        style = ppr.find(f"{W}pStyle")
        found = self.styles.get(style.get(f"{W}val", "")) if style is not None else None
        if found is not None and found.heading:
            return found
        lvl = ppr.find(f"{W}outlineLvl")
        if lvl is not None:
            val = lvl.get(f"{W}val", "0")
            if val.isdigit() and int(val) < 9:  # level 9 is Word's "body text"
                return Style(heading=True, level=int(val) + 1)
        if ppr.find(f"{W}numPr") is not None:
            return Style(kind="list_item")
        return found or _PLAIN

    def _paragraph(self, p: Any) -> Iterator[tuple[str, Style]]:
        self.paragraphs += 1
        parts: list[str] = []
        boxes: list[Any] = []
        stack = list(reversed(p))
        while stack:
            el = stack.pop()
            tag = el.tag
            if tag == f"{W}t":
                parts.append(el.text or "")
            elif tag in _INLINE:
                parts.append(_INLINE[tag])
            elif tag == f"{W}txbxContent":
                boxes.append(el)  # text boxes read as their own blocks after the paragraph
            elif tag in (f"{W}del", f"{W}instrText", f"{W}pPr", f"{W}rPr", MC_FALLBACK):
                # MC fallback repeats a text box for old readers: read it once
                continue
            else:
                stack.extend(reversed(el))
        yield "".join(parts), self._style(p)
        for box in boxes:
            yield from self.blocks(box)

    def _rows(self, tbl: Any) -> Iterator[tuple[str, Style]]:
        rows: list[list[str]] = []
        marked = False
        for i, tr in enumerate(tbl.iterfind(f"{W}tr")):
            cells = []
            for tc in tr.iterfind(f"{W}tc"):
                texts = [t for child in tc for t, _ in self.blocks(child) if t.strip()]
                cells.append(" ".join(" ".join(t.split()) for t in texts))
            if any(cells):
                if not rows:
                    marked = i == 0 and tr.find(f"{W}trPr/{W}tblHeader") is not None
                rows.append(cells)
        header = header_row(rows, marked)
        for i, cells in enumerate(rows):
            yield " | ".join(cells), Style(kind="table_row", header=None if header is not None and i == 0 else header)


_PLAIN = Style()


def core_properties(z: SafeZip) -> tuple[str | None, dict[str, str]]:
    """Title, author, subject, keywords and dates from ``docProps/core.xml`` (shared by every OOXML reader)."""
    if not z.has("docProps/core.xml"):
        return None, {}
    title, meta = None, {}
    for el in z.xml("docProps/core.xml"):
        local = el.tag.rpartition("}")[2] if isinstance(el.tag, str) else ""
        value = (el.text or "").strip()
        if not value:
            continue
        if local == "title":
            title = value[:200]
        elif local in ("creator", "subject", "keywords", "created", "modified"):
            meta["author" if local == "creator" else local] = value[:200]
    return title, meta


class DocxReader:
    """``.docx``: paragraphs, headings as sections, tables as rows, footnotes."""

    name = "docx"
    extensions: tuple[str, ...] = (".docx", ".docm", ".dotx")
    #: What a ZIP lacks when :meth:`probe` says it is not a DOCX.
    probe_hint = "no 'word/document.xml'"

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(ZIP_MAGIC)

    def probe(self, data: bytes) -> bool:
        names = zip_names(data)
        return bool(names) and "word/document.xml" in names

    def read(self, data: bytes, name: str) -> Document:
        if data.startswith(b"\xd0\xcf\x11\xe0"):
            raise DocumentError(
                name,
                "not a DOCX: an OLE compound file (a password-protected Office document, or an old .doc); "
                "remove the password or save it as .docx",
            )
        z = SafeZip(data, name, "DOCX file")
        try:
            walker = _BodyWalker(name, _paragraph_styles(z))
            builder = TextBuilder()
            body = z.xml("word/document.xml").find(f"{W}body")
            if body is None:
                raise DocumentError(name, "not a valid DOCX: word/document.xml has no body")
            for text, style in walker.blocks(body):
                builder.add(text, style.heading, kind=style.kind, level=style.level, header=style.header)
            if z.has("word/footnotes.xml"):
                for note in z.xml("word/footnotes.xml").iterfind(f"{W}footnote"):
                    if note.get(f"{W}type") in (None, "normal"):
                        for text, _ in walker.blocks(note):
                            builder.add(text)
            title, meta = core_properties(z)
        finally:
            z.close()
        if not title and builder.sections:
            title = builder.sections[0][1]
        meta.update({"format": "docx", "paragraphs": walker.paragraphs, "tables": walker.tables})
        return builder.document(name, title, meta, "the DOCX holds no text")
