"""PPTX (Office Open XML presentations): each slide a page, its title the section, speaker notes included.

Slides are read in the order of ``ppt/presentation.xml``; slide *n* of that list is page *n* (hidden
slides keep their number and are read too: they are listed in ``hidden_slides``). On each slide:

- the title placeholder (``title``/``ctrTitle``) first, as a heading that opens the slide's
  section (a slide without a title gets the section ``슬라이드 n``, so no chunk carries the title
  of the slide before it);
- then the shapes in the slide's own order (groups opened): body placeholders' paragraphs as list
  items with their outline level, text boxes as paragraphs, tables as ``cell | cell`` rows recorded
  as ``table_row`` blocks with the table's first row as their ``header``;
- then the speaker notes (the notes page's body placeholder).

Date, footer and slide-number placeholders are page furniture and left out. Pictures, charts,
SmartArt and media are never opened (an image-heavy deck costs no more than its XML); how many
were skipped is in the metadata (``images_skipped``, ``charts_skipped``, ``diagrams_skipped``).

Read straight from the XML under the same budget, ratio check, deadline and safe parser as DOCX
(:mod:`rabbit_rag.ingest.readers.archive`), rather than with python-pptx (MIT), which loads the package's
parts (images included) before any size could be checked.

예::

    doc = PptxReader().read(Path("발표.pptx").read_bytes(), "발표.pptx")
    doc.pages[0]     # (0, 214, 1)
    doc.sections[1]  # (215, "추진 일정")
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterator
from typing import Any

from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers.archive import ZIP_MAGIC, SafeZip, zip_names
from rabbit_rag.ingest.readers.builder import TextBuilder
from rabbit_rag.ingest.readers.docx import core_properties
from rabbit_rag.ingest.readers.limits import check_deadline
from rabbit_rag.types import BlockKind, Document

P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
NOTES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide"
_TITLES = frozenset({"title", "ctrTitle"})
_FURNITURE = frozenset({"dt", "ftr", "sldNum", "hdr", "sldImg"})
_BULLETED = frozenset({"body", "obj", None})  # a placeholder without a type is an object (body) placeholder


def _rels(z: SafeZip, part: str) -> dict[str, tuple[str, str]]:
    """``rId -> (type, part)`` for ``part``'s relationships (targets resolved against its folder)."""
    folder, base = posixpath.split(part)
    rels_part = f"{folder}/_rels/{base}.rels"
    if not z.has(rels_part):
        return {}
    out = {}
    for rel in z.xml(rels_part).iterfind(f"{PKG_REL}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"{folder}/{target}")
        out[rel.get("Id") or ""] = (rel.get("Type") or "", resolved)
    return out


def _paragraphs(body: Any) -> Iterator[tuple[str, int]]:
    """``(text, level)`` of each paragraph of a text body (runs, fields and line breaks in order)."""
    for p in body.iterfind(f"{A}p"):
        parts: list[str] = []
        for el in p.iter(f"{A}t", f"{A}br"):
            parts.append("\n" if el.tag == f"{A}br" else (el.text or ""))
        ppr = p.find(f"{A}pPr")
        level = int(ppr.get("lvl") or 0) if ppr is not None else 0
        yield "".join(parts), level


def _placeholder(sp: Any) -> tuple[bool, str | None]:
    """Whether ``sp`` is a placeholder, and its type."""
    ph = sp.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
    if ph is None:
        return False, None
    return True, ph.get("type")


class _Slide:
    def __init__(self, builder: TextBuilder, skipped: Counter[str]):
        self.builder = builder
        self.skipped = skipped

    def shapes(self, tree: Any) -> Iterator[Any]:
        """Shapes in order, groups opened."""
        for el in tree:
            if el.tag == f"{P}grpSp":
                yield from self.shapes(el)
            else:
                yield el

    def read(self, root: Any, number: int) -> None:
        tree = root.find(f"{P}cSld/{P}spTree")
        if tree is None:
            return
        shapes = list(self.shapes(tree))
        titles = [s for s in shapes if s.tag == f"{P}sp" and _placeholder(s)[1] in _TITLES]
        start = self.builder.begin_page()
        title = " ".join(t for s in titles for t, _ in self._texts(s)).strip()
        if title:
            self.builder.add(title, heading=True, level=1)
        for shape in shapes:
            if shape in titles:
                continue
            self._shape(shape)
        if not title and self.builder.pos > start:
            self.builder.sections.append((start, f"슬라이드 {number}"))

    def _texts(self, sp: Any) -> Iterator[tuple[str, int]]:
        body = sp.find(f"{P}txBody")
        if body is not None:
            yield from _paragraphs(body)

    def _shape(self, shape: Any) -> None:
        tag = shape.tag
        if tag == f"{P}sp":
            is_ph, kind = _placeholder(shape)
            if kind in _FURNITURE:
                return
            bulleted = is_ph and kind in _BULLETED
            for text, level in self._texts(shape):
                block: BlockKind = "list_item" if bulleted else "paragraph"
                self.builder.add(text, kind=block, level=level + 1 if bulleted else None)
        elif tag == f"{P}graphicFrame":
            data = shape.find(f"{A}graphic/{A}graphicData")
            uri = data.get("uri", "") if data is not None else ""
            tbl = data.find(f"{A}tbl") if data is not None else None
            if tbl is not None:
                self._table(tbl)
            elif uri.endswith("/chart"):
                self.skipped["charts_skipped"] += 1
            elif uri.endswith("/diagram"):
                self.skipped["diagrams_skipped"] += 1
            else:
                self.skipped["objects_skipped"] += 1
        elif tag == f"{P}pic":
            self.skipped["images_skipped"] += 1

    def _table(self, tbl: Any) -> None:
        header: str | None = None
        for tr in tbl.iterfind(f"{A}tr"):
            cells = []
            for tc in tr.iterfind(f"{A}tc"):
                if tc.get("hMerge") == "1" or tc.get("vMerge") == "1":
                    cells.append("")  # covered by a merged cell: its text is in the first one
                    continue
                body = tc.find(f"{A}txBody")
                text = " ".join(t for t, _ in _paragraphs(body)) if body is not None else ""
                cells.append(" ".join(text.split()))
            while cells and not cells[-1]:
                cells.pop()
            if not any(cells):
                continue
            line = " | ".join(cells)
            self.builder.add(line, kind="table_row", header=header)
            if header is None:
                header = line


class PptxReader:
    """``.pptx``: slides as pages, titles as sections, shapes, tables and speaker notes."""

    name = "pptx"
    extensions: tuple[str, ...] = (".pptx", ".pptm", ".ppsx", ".potx")

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(ZIP_MAGIC)

    def probe(self, data: bytes) -> bool:
        names = zip_names(data)
        return bool(names) and "ppt/presentation.xml" in names

    def read(self, data: bytes, name: str) -> Document:
        if data.startswith(b"\xd0\xcf\x11\xe0"):
            raise DocumentError(
                name,
                "not a PPTX: an OLE compound file (a password-protected presentation, or an old .ppt); "
                "remove the password or save it as .pptx",
            )
        z = SafeZip(data, name, "PPTX file")
        skipped: Counter[str] = Counter()
        hidden: list[int] = []
        notes = 0
        try:
            rels = _rels(z, "ppt/presentation.xml")
            ids = z.xml("ppt/presentation.xml").iterfind(f"{P}sldIdLst/{P}sldId")
            slides = [rels[i][1] for i in (s.get(f"{R}id") or "" for s in ids) if i in rels]
            if not slides:
                raise DocumentError(name, "the PPTX has no slides")
            builder = TextBuilder()
            reader = _Slide(builder, skipped)
            for number, part in enumerate(slides, start=1):
                check_deadline(name)
                if not z.has(part):
                    continue
                root = z.xml(part)
                if root.get("show") == "0":
                    hidden.append(number)
                start = builder.begin_page()
                reader.read(root, number)
                for kind, target in _rels(z, part).values():
                    if kind == NOTES_REL and z.has(target) and self._notes(z.xml(target), builder):
                        notes += 1
                builder.end_page(start, number)
            title, meta = core_properties(z)
        finally:
            z.close()
        meta.update({"format": "pptx", "slides": len(slides)})
        if notes:
            meta["slides_with_notes"] = notes
        if hidden:
            meta["hidden_slides"] = hidden
        meta.update(sorted(skipped.items()))
        if not title and builder.sections:
            title = next((t for _, t in builder.sections if not t.startswith("슬라이드 ")), None)
        return builder.document(name, title, meta, "the PPTX holds no text")

    @staticmethod
    def _notes(root: Any, builder: TextBuilder) -> bool:
        """Add the speaker notes (the body placeholder of the notes page); whether there were any."""
        tree = root.find(f"{P}cSld/{P}spTree")
        added = False
        for sp in tree.iter(f"{P}sp") if tree is not None else ():
            if _placeholder(sp)[1] == "body":
                body = sp.find(f"{P}txBody")
                for text, _ in _paragraphs(body) if body is not None else ():
                    added = builder.add(text, kind="paragraph") is not None or added
        return added
