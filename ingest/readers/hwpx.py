"""HWPX (OWPML, KS X 6101; 한글 2010 and later, ``.hwpx``): a ZIP of XML parts.

The ZIP has a ``mimetype`` member saying ``application/hwp+zip``, the package description
``Contents/content.hpf`` (title, author, the order of the sections in its spine) and one
``Contents/section{n}.xml`` per section. A section is a list of paragraphs (``hp:p``) made of runs
(``hp:run``) whose text sits in ``hp:t``, with inline ``hp:tab``/``hp:lineBreak`` elements. Tables
(``hp:tbl`` → ``hp:tr`` → ``hp:tc`` → ``hp:subList`` → ``hp:p``), text boxes, footnotes, headers
and footers nest paragraphs inside a run; they are read in document order after the paragraph that
holds them, table rows as ``cell | cell`` lines. Body paragraphs whose paragraph properties
(``Contents/header.xml`` ``hh:paraPr`` → ``hh:heading type="OUTLINE" level="0"``) make them a
top-level outline heading (개요 1) become sections, as in the HWP reader.

Structure travels as blocks: those headings (level 1); paragraphs numbered or bulleted by their
paragraph properties (``hh:heading type="NUMBER"|"BULLET"``, deeper outline levels) as list items;
table rows with their table's header row (a first row of short labels).

예::

    doc = HwpxReader().read(Path("보도자료.hwpx").read_bytes(), "보도자료.hwpx")
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers.archive import ZIP_MAGIC, SafeZip, zip_names
from rabbit_rag.ingest.readers.builder import TextBuilder
from rabbit_rag.ingest.readers.limits import check_deadline
from rabbit_rag.ingest.readers.tables import header_row
from rabbit_rag.types import BlockKind, Document

#: ``(text, kind, header)`` of one block: kind ``heading`` (a section), ``list_item``, ``table_row`` or None.
Part = tuple[str, BlockKind | None, str | None]

MIMETYPE = b"application/hwp+zip"
_SECTION = re.compile(r"Contents/section(\d+)\.xml")
_META_KEYS = {"creator": "author", "keyword": "keywords", "CreatedDate": "created", "ModifiedDate": "modified"}
_INLINE = {"tab": "\t", "lineBreak": "\n", "hyphen": "-", "nbSpace": " ", "fwSpace": " "}


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


class _SectionWalker:
    """Text blocks of one section element, in document order."""

    def __init__(self, name: str, outline_pr: frozenset[str] = frozenset(), list_pr: frozenset[str] = frozenset()):
        self.name = name
        self.outline_pr = outline_pr
        self.list_pr = list_pr
        self.seen = 0
        self.paragraphs = 0
        self.tables = 0

    def _tick(self) -> None:
        self.seen += 1
        if self.seen & 0x3FF == 0:
            check_deadline(self.name)

    def section(self, sec: Any) -> Iterator[Part]:
        """``(text, kind, header)`` blocks of a section root; only its own paragraphs can be headings."""
        for child in sec:
            if _local(child) == "p":
                first = True
                pr = child.get("paraPrIDRef")
                for text, kind, header in self._paragraph(child):
                    if first and pr in self.outline_pr:
                        kind = "heading"
                    elif first and pr in self.list_pr:
                        kind = "list_item"
                    yield text, kind, header
                    first = False
            else:
                yield from self.blocks(child)

    def blocks(self, el: Any) -> Iterator[Part]:
        self._tick()
        local = _local(el)
        if local == "p":
            yield from self._paragraph(el)
        elif local == "tbl":
            self.tables += 1
            yield from self._table(el)
        else:
            for child in el:
                yield from self.blocks(child)

    def _paragraph(self, p: Any) -> Iterator[Part]:
        self.paragraphs += 1
        parts: list[str] = []
        nested: list[Any] = []
        for run in p:
            if _local(run) != "run":
                continue
            for child in run:
                if _local(child) == "t":
                    parts.append(self._inline(child))
                else:
                    nested.append(child)
        yield "".join(parts), None, None
        for child in nested:
            yield from self.blocks(child)

    def _inline(self, t: Any) -> str:
        parts = [t.text or ""]
        for child in t:
            parts.append(_INLINE.get(_local(child), ""))
            parts.append(child.tail or "")
        return "".join(parts)

    def _table(self, tbl: Any) -> Iterator[Part]:
        rows: list[list[str]] = []
        for tr in tbl:
            if _local(tr) != "tr":
                continue
            cells = []
            for tc in tr:
                if _local(tc) != "tc":
                    continue
                texts = [b[0] for child in tc for b in self.blocks(child)]
                cells.append(" ".join(" ".join(t.split()) for t in texts if t.strip()))
            if any(cells):
                rows.append(cells)
        header = header_row(rows)
        for i, cells in enumerate(rows):
            yield " | ".join(cells), "table_row", None if header is not None and i == 0 else header


def _section_order(z: SafeZip, hpf: Any | None) -> list[str]:
    numbered = sorted(
        (int(m.group(1)), n) for n in z.names() if (m := _SECTION.fullmatch(n))
    )  # fmt: skip
    fallback = [n for _, n in numbered]
    if hpf is None:
        return fallback
    manifest = {
        item.get("id"): item.get("href") or "" for item in hpf.iter() if _local(item) == "item"
    }  # fmt: skip
    ordered = []
    for ref in hpf.iter():
        if _local(ref) == "itemref":
            href = manifest.get(ref.get("idref"), "")
            path = href if href.startswith("Contents/") else f"Contents/{href}"
            if _SECTION.fullmatch(path) and path in fallback and path not in ordered:
                ordered.append(path)
    return ordered or fallback


def _outline_para_properties(z: SafeZip) -> tuple[frozenset[str], frozenset[str]]:
    """Paragraph property ids of top-level outline headings, and of numbered, bulleted or deeper outline
    paragraphs (list items)."""
    if not z.has("Contents/header.xml"):
        return frozenset(), frozenset()
    outline, listed = [], []
    for pr in z.xml("Contents/header.xml").iter():
        if _local(pr) == "paraPr":
            for h in pr.iter():
                if _local(h) == "heading" and h.get("type") in ("OUTLINE", "NUMBER", "BULLET"):
                    top = h.get("type") == "OUTLINE" and h.get("level") == "0"
                    (outline if top else listed).append(pr.get("id"))
                    break
    return frozenset(x for x in outline if x is not None), frozenset(x for x in listed if x is not None)


def _package_metadata(hpf: Any | None) -> tuple[str | None, dict[str, Any]]:
    if hpf is None:
        return None, {}
    title = None
    meta: dict[str, Any] = {}
    for el in hpf.iter():
        local = _local(el)
        if local == "title" and (el.text or "").strip():
            title = el.text.strip()[:200]
        elif local == "meta" and el.get("name") in ("creator", "subject", "keyword", "CreatedDate", "ModifiedDate"):
            value = (el.text or "").strip()
            if value:
                meta[_META_KEYS.get(el.get("name"), el.get("name"))] = value
    return title, meta


class HwpxReader:
    """``.hwpx`` (OWPML): paragraphs, tables as rows, notes, headers and footers."""

    name = "hwpx"
    extensions: tuple[str, ...] = (".hwpx",)
    #: What a ZIP lacks when :meth:`probe` says it is not an HWPX.
    probe_hint = "no HWPX mimetype and no 'Contents/section0.xml'"

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(ZIP_MAGIC)

    def probe(self, data: bytes) -> bool:
        """A ZIP whose ``mimetype`` says HWPX, or that holds ``Contents/section0.xml``."""
        if data[30:38] == b"mimetype" and MIMETYPE in data[38:120]:
            return True
        names = zip_names(data)
        return bool(names) and ("Contents/section0.xml" in names or "Contents/content.hpf" in names)

    def read(self, data: bytes, name: str) -> Document:
        z = SafeZip(data, name, "HWPX file")
        try:
            if z.has("mimetype"):
                mimetype = z.read("mimetype").strip()
                if mimetype != MIMETYPE:
                    raise DocumentError(name, f"not an HWPX file: its mimetype is {mimetype[:80].decode('latin-1')!r}")
            if z.has("META-INF/manifest.xml") and b"encryption-data" in z.read("META-INF/manifest.xml"):
                raise DocumentError(
                    name, "the HWPX file is encrypted with a password; remove the password in Hangul and save it again"
                )
            hpf = z.xml("Contents/content.hpf") if z.has("Contents/content.hpf") else None
            sections = _section_order(z, hpf)
            if not sections:
                raise DocumentError(name, "not a valid HWPX file: no Contents/section*.xml in the archive")
            title, meta = _package_metadata(hpf)
            builder = TextBuilder()
            walker = _SectionWalker(name, *_outline_para_properties(z))
            for part in sections:
                root = z.xml(part)
                for block, kind, header in walker.section(root):
                    builder.add(
                        block,
                        heading=kind == "heading",
                        kind=kind,
                        level=1 if kind == "heading" else None,
                        header=header,
                    )
                del root
        except etree.Error as e:
            raise DocumentError(name, f"the HWPX XML cannot be read ({e})") from e
        finally:
            z.close()
        meta.update(
            {"format": "hwpx", "sections": len(sections), "paragraphs": walker.paragraphs, "tables": walker.tables}
        )
        return builder.document(name, title, meta, "the HWPX file holds no text (only empty paragraphs or pictures)")
