"""XLSX (Office Open XML spreadsheets): each sheet as a table whose header row gives every row its context.

Each sheet becomes a section headed by its name. Rows become lines of ``cell | cell | cell`` (empty
cells keep their place, so a value stays under its column), recorded as ``table_row`` blocks whose
``header`` is the sheet's header row: the first row with two or more filled cells. Single-cell rows
above it (a title such as ``2024년 예산 현황`` over merged cells) are read as paragraphs. Values are
what Excel shows in the cell as far as text goes: shared and inline strings, the cached result of a
formula, numbers without float noise (``0.1`` not ``0.1000000000000000055``), dates and times from
the cell's number format (``2024-03-01``, ``2024-03-01 09:30``; the 1904 date system too),
percentages (``12.5%``) and ``TRUE``/``FALSE``.

Why not openpyxl (MIT): it reads the shared strings and each worksheet through its own ZIP and XML
handling, outside our unpacked-size budget and ratio check, and without a cap on cells its memory
grows with the sheet. Reading the parts directly, as the DOCX reader does, lets a worksheet stream
through :meth:`SafeZip.iter_xml` (lxml ``iterparse``, entities and DTDs off, 1 MB pieces under the
budget, each row freed once read) and stop at :attr:`ReadLimits.max_cells` filled cells: the rest
is never inflated. What was left out is listed in the metadata (``skipped``: which rows of which
sheet, which sheets) and so are images and charts (``images_skipped``), which are never opened.

예::

    doc = XlsxReader().read(Path("예산.xlsx").read_bytes(), "예산.xlsx")
    doc.sections          # ((0, "2024년"), (812, "2025년"))
    doc.blocks[2].header  # "항목 | 금액 | 담당"
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers.archive import ZIP_MAGIC, SafeZip, zip_names
from rabbit_rag.ingest.readers.builder import TextBuilder
from rabbit_rag.ingest.readers.docx import core_properties
from rabbit_rag.ingest.readers.limits import check_deadline, current_limits
from rabbit_rag.types import Document

S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_C, _V, _IS = f"{S}c", f"{S}v", f"{S}is"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Built-in number formats that show a date or time (ECMA-376 18.8.30, plus the East Asian ids
# 27-36 and 50-58 that Korean Excel uses for 2024년 3월 1일 and the like).
_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_PERCENT_IDS = frozenset({9, 10})
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')
_CELL_REF = re.compile(r"([A-Z]{1,3})(\d+)")
_EPOCH_1900 = dt.datetime(1899, 12, 30)  # serial 1 is 1900-01-01 given Excel's 1900-02-29
_EPOCH_1904 = dt.datetime(1904, 1, 1)


@functools.lru_cache(maxsize=4096)
def _column(letters: str) -> int:
    """1-based column number of ``"A"``, ``"AB"``..."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _format_kind(code: str) -> str | None:
    """``"date"``, ``"time"``, ``"percent"`` or None for a custom number format code."""
    bare = _QUOTED.sub("", code).lower()
    if "%" in bare:
        return "percent"
    if "y" in bare or "d" in bare:
        return "date"
    if "h" in bare or "s" in bare:
        return "time"
    if "m" in bare and "0" not in bare and "#" not in bare:
        return "date"  # "mm" alone is a month
    return None


def _number(value: str, kind: str | None, date1904: bool) -> str:
    if kind is None and value.isdigit():
        return value.lstrip("0") or "0"  # the common case, without a float round trip
    try:
        x = float(value)
    except ValueError:
        return value
    if not math.isfinite(x):
        return value
    if kind in ("date", "time") and 0 <= x < 2958466:  # up to 9999-12-31
        moment = (_EPOCH_1904 if date1904 else _EPOCH_1900) + dt.timedelta(days=x)
        moment = moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))
        if kind == "time" and x < 1:
            return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")
        if moment.time() == dt.time(0):
            return moment.strftime("%Y-%m-%d")
        return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")
    if kind == "percent":
        return f"{x * 100:.12g}%"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.15g}"


def _text(el: Any) -> str:
    """The text of a shared or inline string (``<t>`` directly or in rich-text runs, phonetics left out)."""
    t = el.find(f"{S}t")
    if t is not None:
        return t.text or ""
    return "".join((r.findtext(f"{S}t") or "") for r in el.iterfind(f"{S}r"))


@dataclass
class _Book:
    sheets: list[tuple[str, str]]  # (name, part)
    date1904: bool
    strings: list[str] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)  # cellXfs index -> format kind


def _workbook(z: SafeZip) -> _Book:
    root = z.xml("xl/workbook.xml")
    targets: dict[str, str] = {}
    if z.has("xl/_rels/workbook.xml.rels"):
        for rel in z.xml("xl/_rels/workbook.xml.rels").iterfind(f"{PKG_REL}Relationship"):
            target = rel.get("Target") or ""
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            targets[rel.get("Id") or ""] = part
    sheets = []
    for sheet in root.iterfind(f"{S}sheets/{S}sheet"):
        part = targets.get(sheet.get(f"{R}id") or "")
        if part and z.has(part):
            sheets.append((sheet.get("name") or part, part))
    pr = root.find(f"{S}workbookPr")
    date1904 = pr is not None and pr.get("date1904") in ("1", "true")
    return _Book(sheets, date1904)


def _styles(z: SafeZip) -> list[str | None]:
    if not z.has("xl/styles.xml"):
        return []
    root = z.xml("xl/styles.xml")
    custom = {
        int(f.get("numFmtId") or -1): _format_kind(f.get("formatCode") or "")
        for f in root.iterfind(f"{S}numFmts/{S}numFmt")
    }
    kinds: list[str | None] = []
    for xf in root.iterfind(f"{S}cellXfs/{S}xf"):
        fid = int(xf.get("numFmtId") or 0)
        if fid in custom:
            kinds.append(custom[fid])
        elif fid in _DATE_IDS:
            kinds.append("time" if fid in (18, 19, 20, 21, 45, 46, 47) else "date")
        else:
            kinds.append("percent" if fid in _PERCENT_IDS else None)
    return kinds


def _shared_strings(z: SafeZip) -> list[str]:
    if not z.has("xl/sharedStrings.xml"):
        return []
    return [_text(si) for si in z.iter_xml("xl/sharedStrings.xml", f"{S}si")]


class _SheetReader:
    """Turns one worksheet's rows into blocks, counting cells against the workbook's cap."""

    def __init__(self, book: _Book, builder: TextBuilder, name: str, cells_left: int):
        self.book = book
        self.builder = builder
        self.name = name
        self.cells_left = cells_left
        self.rows = 0
        self.cells = 0

    def _value(self, c: Any) -> str:
        t = c.get("t")
        v: str | None = None
        for child in c:  # <f>, <v>, <is>: walking the children beats find() per tag
            tag = child.tag
            if tag == _V:
                v = child.text
            elif tag == _IS:
                return _text(child)
        if v is None:
            return ""
        if t is None or t == "n":
            style = c.get("s")
            kind = self.book.styles[int(style)] if style is not None and int(style) < len(self.book.styles) else None
            return _number(v, kind, self.book.date1904)
        if t == "s":
            try:
                return self.book.strings[int(v)]
            except (ValueError, IndexError):
                return ""
        if t == "b":
            return "TRUE" if v.strip() in ("1", "true") else "FALSE"
        return v  # "str" (a formula's text), "e" (an error such as #N/A), "d" (an ISO date)

    def _cells(self, row: Any) -> dict[int, str]:
        cells: dict[int, str] = {}
        col = 0
        for c in row:
            if c.tag != _C:
                continue
            ref = c.get("r")
            col = _column(ref.rstrip("0123456789")) if ref else col + 1  # the reference may be left out
            value = self._value(c)
            if value and (value.strip() != value or "  " in value or "\n" in value or "\t" in value):
                value = " ".join(value.split())
            if value:
                cells[col] = value
        return cells

    def read(self, z: SafeZip, sheet: str, part: str) -> str | None:
        """Read the sheet; returns what was skipped (a sentence) when the cell cap stopped it."""
        header: str | None = None
        first_col = 1
        last_row = 0  # the sheet's <dimension>, when it has one
        number = 0
        stream = z.iter_xml(part, (f"{S}dimension", f"{S}row"))
        try:
            for el in stream:
                if el.tag == f"{S}dimension":
                    refs = _CELL_REF.findall(el.get("ref") or "")
                    last_row = int(refs[-1][1]) if refs else 0
                    continue
                if self.rows & 0x3FF == 0:
                    check_deadline(self.name)
                number = int(el.get("r") or number + 1)
                cells = self._cells(el)
                if not cells:
                    continue
                if len(cells) > self.cells_left:
                    limit = current_limits().max_cells
                    rows = f"rows {number:,}–{last_row:,}" if last_row > number else f"row {number:,} and after"
                    return f"sheet {sheet!r}: {rows} (past the {limit:,}-cell limit)"
                self.cells_left -= len(cells)
                self.cells += len(cells)
                self.rows += 1
                if header is None and len(cells) >= 2:
                    first_col = min(cells)
                lo = min(first_col, min(cells))
                line = " | ".join(cells.get(k, "") for k in range(lo, max(cells) + 1))
                if header is None and len(cells) >= 2:
                    header = line
                    self.builder.add(line, kind="table_row")
                elif header is None:
                    self.builder.add(line, kind="paragraph")  # a title above the table
                else:
                    self.builder.add(line, kind="table_row", header=header)
        finally:
            stream.close()
        return None


class XlsxReader:
    """``.xlsx``: every sheet as a section, rows as ``table_row`` blocks with their header row."""

    name = "xlsx"
    extensions: tuple[str, ...] = (".xlsx", ".xlsm", ".xltx", ".xltm")

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(ZIP_MAGIC)

    def probe(self, data: bytes) -> bool:
        names = zip_names(data)
        return bool(names) and "xl/workbook.xml" in names

    def read(self, data: bytes, name: str) -> Document:
        if data.startswith(b"\xd0\xcf\x11\xe0"):
            raise DocumentError(
                name,
                "not an XLSX: an OLE compound file (a password-protected workbook, or an old .xls); "
                "remove the password or save it as .xlsx",
            )
        z = SafeZip(data, name, "XLSX file")
        skipped: list[str] = []
        try:
            book = _workbook(z)
            if not book.sheets:
                raise DocumentError(name, "not a valid XLSX: xl/workbook.xml lists no worksheets")
            book.styles = _styles(z)
            book.strings = _shared_strings(z)
            builder = TextBuilder()
            cells_left = current_limits().max_cells
            rows = cells = 0
            for i, (sheet, part) in enumerate(book.sheets):
                if cells_left <= 0:
                    rest = [s for s, _ in book.sheets[i:]]
                    limit = current_limits().max_cells
                    skipped.append(f"sheets {', '.join(map(repr, rest))} (past the {limit:,}-cell limit)")
                    break
                builder.add(sheet, heading=True, level=1)
                reader = _SheetReader(book, builder, name, cells_left)
                stop = reader.read(z, sheet, part)
                rows, cells, cells_left = rows + reader.rows, cells + reader.cells, reader.cells_left
                if stop:
                    skipped.append(stop)
                    cells_left = 0
            images = sum(1 for n in z.names() if n.startswith(("xl/media/", "xl/charts/chart")))
            title, meta = core_properties(z)
        finally:
            z.close()
        meta.update({"format": "xlsx", "sheets": len(book.sheets), "rows": rows, "cells": cells})
        if skipped:
            meta["skipped"] = skipped
        if images:
            meta["images_skipped"] = images
        return builder.document(name, title, meta, "the XLSX holds no text")
