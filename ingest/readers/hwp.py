"""HWP 5.0 (한글 2002 and later, ``.hwp``): our own reader on top of olefile.

Why our own: the permissive PyPI readers we tried on ``shared/data/hwp`` either return a flat
string and turn errors into empty text (extract-hwp), or drop characters and footnote text
(hwp-hwpx-parser); pyhwp is AGPL. The format is documented by Hancom (한글 문서 파일 형식 5.0) and
small enough to read directly:

- an OLE compound file whose ``FileHeader`` stream starts with ``HWP Document File`` and holds the
  flags: compressed, password-encrypted, distribution-locked (배포용), DRM;
- ``BodyText/Section{n}`` streams, raw-deflate compressed when the flag says so, each a sequence of
  records (a 32-bit header: tag 10 bits, level 10 bits, size 12 bits, ``0xFFF`` = a 32-bit size
  follows);
- ``HWPTAG_PARA_TEXT`` (tag 67 = HWPTAG_BEGIN 16 + 51) holds a paragraph's UTF-16LE text in which
  code units 0–31 are controls: tab/inline and extended controls (1–9, 11, 12, 14–23) span 8 code
  units, the others (line break 10, paragraph end 13, hyphen 24, fixed spaces 30/31, ...) one;
- tables are a ``CTRL_HEADER`` ``'tbl '`` followed by a ``TABLE`` record and one ``LIST_HEADER``
  per cell (column and row address at bytes 8 and 10) whose paragraphs are that cell's text.

Table rows become ``cell | cell`` lines (table-row blocks carrying their table's header row, a first
row of short labels); footnotes, endnotes, headers and footers appear after the
paragraph that anchors them. Body paragraphs whose paragraph shape (``DocInfo`` ``PARA_SHAPE``,
attribute bits 23–24 = outline, bits 25–27 = level) is a level-1 outline (개요 1) become sections:
only the top level, because Korean official documents number ordinary body paragraphs with the
deeper outline levels, and a section is a hard chunk boundary.

예::

    doc = HwpReader().read(Path("공문.hwp").read_bytes(), "공문.hwp")
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from rabbit_rag.errors import DocumentError, UnsupportedFormatError
from rabbit_rag.ingest.readers.builder import TextBuilder
from rabbit_rag.ingest.readers.limits import UnpackBudget, check_deadline
from rabbit_rag.ingest.readers.tables import header_row
from rabbit_rag.text.normalize import sniff_binary

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SIGNATURE = b"HWP Document File"

FLAG_COMPRESSED = 1 << 0
FLAG_PASSWORD = 1 << 1
FLAG_DISTRIBUTION = 1 << 2
FLAG_DRM = 1 << 4
FLAG_CERT_ENCRYPTED = 1 << 8
FLAG_CERT_DRM = 1 << 10

HWPTAG_BEGIN = 16
TAG_PARA_SHAPE = HWPTAG_BEGIN + 9  # 25, in DocInfo
TAG_PARA_HEADER = HWPTAG_BEGIN + 50  # 66
TAG_PARA_TEXT = HWPTAG_BEGIN + 51  # 67
TAG_CTRL_HEADER = HWPTAG_BEGIN + 55  # 71
TAG_LIST_HEADER = HWPTAG_BEGIN + 56  # 72
TAG_TABLE = HWPTAG_BEGIN + 61  # 77

# Controls that occupy 8 code units (the code, 6 units of data, the code again).
_WIDE_CONTROLS = frozenset([*range(1, 10), 11, 12, *range(14, 24)])
_NARROW_OUT = {9: "\t", 10: "\n", 24: "-", 30: " ", 31: " "}
_CONTROL_AT = re.compile(rb"(?=[\x00-\x1f]\x00)")
_PIECE = 1 << 20


def decode_para_text(payload: bytes) -> str:
    """The visible text of one ``HWPTAG_PARA_TEXT`` record, controls removed.

    예: ``decode_para_text("가\\r".encode("utf-16le"))`` → ``"가"``
    """
    out: list[str] = []
    i = 0
    n = len(payload) & ~1
    for m in _CONTROL_AT.finditer(payload, 0, n):
        j = m.start()
        if j < i or j & 1:
            continue  # inside a skipped control, or a byte pair straddling two code units
        out.append(payload[i:j].decode("utf-16le", "ignore"))
        code = payload[j]
        out.append(_NARROW_OUT.get(code, ""))
        i = j + (16 if code in _WIDE_CONTROLS else 2)
    if i < n:
        out.append(payload[i:n].decode("utf-16le", "ignore"))
    return "".join(out)


def iter_records(data: bytes, name: str, part: str) -> Iterator[tuple[int, int, bytes]]:
    """``(tag, level, payload)`` of each record in a decompressed stream."""
    off, n, count = 0, len(data), 0
    while off < n:
        if off + 4 > n:
            raise DocumentError(name, f"{part}: a record header is cut off; the file is damaged")
        (head,) = struct.unpack_from("<I", data, off)
        off += 4
        tag, level, size = head & 0x3FF, (head >> 10) & 0x3FF, head >> 20
        if size == 0xFFF:
            if off + 4 > n:
                raise DocumentError(name, f"{part}: a record size is cut off; the file is damaged")
            (size,) = struct.unpack_from("<I", data, off)
            off += 4
        if off + size > n:
            raise DocumentError(name, f"{part}: a record runs past the end of the stream; the file is damaged")
        yield tag, level, data[off : off + size]
        off += size
        count += 1
        if count & 0x3FF == 0:
            check_deadline(name)


def inflate(data: bytes, budget: UnpackBudget, part: str) -> bytes:
    """Decompress a raw-deflate stream (zlib-wrapped is accepted too) within the unpacked budget."""
    last_error: Exception | None = None
    for wbits in (-15, 15):
        d = zlib.decompressobj(wbits)
        out = bytearray()
        buf = data
        try:
            while buf:
                out += d.decompress(buf, _PIECE)
                buf = d.unconsumed_tail
                if len(out) > budget.remaining:
                    raise DocumentError(budget.name, budget.over_reason(part))
                check_deadline(budget.name)
                if d.eof:
                    break
        except zlib.error as e:
            last_error = e
            if out:
                break
            continue
        if not d.eof:
            raise DocumentError(budget.name, f"{part}: the compressed stream is cut off; the file is damaged")
        budget.spend(len(out), part)
        return bytes(out)
    raise DocumentError(budget.name, f"{part} cannot be decompressed ({last_error}); the file is damaged")


class _Table:
    """Cells of one table being read; ``level`` is its CTRL_HEADER's record level."""

    def __init__(self, level: int):
        self.level = level
        self.seen_table_record = False
        self.cells: list[tuple[int, int, list[str]]] = []
        self.current: list[str] | None = None

    def cell_rows(self) -> list[list[str]]:
        """The cells of each non-empty row, in order."""
        by_row: dict[int, list[tuple[int, str]]] = {}
        for row, col, parts in self.cells:
            by_row.setdefault(row, []).append((col, " ".join(p for p in parts if p.strip())))
        out = []
        for row in sorted(by_row):
            cells = [t for _, t in sorted(by_row[row])]
            if any(c.strip() for c in cells):
                out.append(cells)
        return out

    def rows(self) -> list[str]:
        return [" | ".join(cells) for cells in self.cell_rows()]


class _BodyWalker:
    """Turns the records of the BodyText sections into text blocks (paragraphs and table rows)."""

    def __init__(self, builder: TextBuilder, outline_shapes: frozenset[int] = frozenset()):
        self.builder = builder
        self.outline_shapes = outline_shapes
        self.heading_next = False
        self.tables: list[_Table] = []
        self.paragraphs = 0
        self.n_tables = 0

    def _emit(self, text: str, heading: bool = False) -> None:
        if self.tables and self.tables[-1].current is not None:
            self.tables[-1].current.append(text)
        else:
            self.builder.add(text, heading=heading, level=1 if heading else None)

    def _close_tables(self, level: int) -> None:
        while self.tables and level <= self.tables[-1].level:
            table = self.tables.pop()
            if self.tables and self.tables[-1].current is not None:
                self.tables[-1].current.append(" / ".join(table.rows()))
            else:
                cell_rows = table.cell_rows()
                header = header_row(cell_rows)
                for i, cells in enumerate(cell_rows):
                    row_header = None if header is not None and i == 0 else header
                    self.builder.add(" | ".join(cells), kind="table_row", header=row_header)

    def feed(self, tag: int, level: int, payload: bytes) -> None:
        self._close_tables(level)
        if tag == TAG_PARA_HEADER:
            # only body paragraphs (level 0) can be headings; bytes 8-9 are the paragraph shape id
            self.heading_next = (
                level == 0 and len(payload) >= 10 and struct.unpack_from("<H", payload, 8)[0] in self.outline_shapes
            )
        elif tag == TAG_PARA_TEXT:
            self.paragraphs += 1
            self._emit(decode_para_text(payload), heading=self.heading_next and level == 1)
            self.heading_next = False
        elif tag == TAG_CTRL_HEADER and payload[:4] == b" lbt":  # ctrl id 'tbl ' stored little-endian
            self.tables.append(_Table(level))
            self.n_tables += 1
        elif self.tables and level == self.tables[-1].level + 1:
            table = self.tables[-1]
            if tag == TAG_TABLE:
                table.seen_table_record = True
            elif tag == TAG_LIST_HEADER and table.seen_table_record and len(payload) >= 12:
                col, row = struct.unpack_from("<HH", payload, 8)
                table.current = []
                table.cells.append((row, col, table.current))

    def finish(self) -> None:
        self._close_tables(-1)


def _outline_shapes(ole: Any, flags: int, budget: UnpackBudget, name: str) -> frozenset[int]:
    """Ids of the paragraph shapes that are top-level outline headings (개요 1)."""
    if not ole.exists("DocInfo"):
        return frozenset()
    raw = ole.openstream("DocInfo").read()
    data = inflate(raw, budget, "DocInfo") if flags & FLAG_COMPRESSED else raw
    out = []
    shape_id = 0
    for tag, _, payload in iter_records(data, name, "DocInfo"):
        if tag == TAG_PARA_SHAPE:
            if len(payload) >= 4:
                (attr,) = struct.unpack_from("<I", payload, 0)
                if (attr >> 23) & 0x3 == 1 and (attr >> 25) & 0x7 == 0:
                    out.append(shape_id)
            shape_id += 1
    return frozenset(out)


def _summary(ole: Any) -> dict[str, str]:
    """Title, subject, author, keywords and dates from ``\\x05HwpSummaryInformation`` (best effort)."""
    stream = "\x05HwpSummaryInformation"
    if not ole.exists(stream) or ole.get_size(stream) > 1_000_000:
        return {}
    data = ole.openstream(stream).read()
    names = {2: "title", 3: "subject", 4: "author", 5: "keywords", 8: "last_saved_by", 12: "created", 13: "modified"}
    out: dict[str, str] = {}
    try:
        (offset,) = struct.unpack_from("<I", data, 44)
        _, count = struct.unpack_from("<II", data, offset)
        for k in range(min(count, 256)):
            pid, poff = struct.unpack_from("<II", data, offset + 8 + 8 * k)
            if pid not in names:
                continue
            at = offset + poff
            (vtype,) = struct.unpack_from("<I", data, at)
            if vtype == 0x1F:  # VT_LPWSTR: a count of UTF-16 units including the terminating NUL
                (length,) = struct.unpack_from("<I", data, at + 4)
                raw = data[at + 8 : at + 8 + 2 * min(length, 4096)]
                value = raw.decode("utf-16le", "ignore").split("\x00", 1)[0].strip()
            elif vtype == 0x40:  # VT_FILETIME
                (ticks,) = struct.unpack_from("<Q", data, at + 4)
                if not ticks:
                    continue
                value = (datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)).isoformat()
            else:
                continue
            if value:
                out[names[pid]] = value
    except struct.error:
        pass
    return out


def _open_ole(data: bytes, name: str) -> Any:
    import olefile

    try:
        return olefile.OleFileIO(io.BytesIO(data))
    except Exception as e:  # olefile raises OSError, struct.error, ValueError... on damaged files
        raise DocumentError(name, f"the OLE compound file is damaged or truncated ({e})") from e


def _header_flags(ole: Any, name: str) -> tuple[str, int]:
    if not ole.exists("FileHeader"):
        raise UnsupportedFormatError(
            name, "unsupported type: an OLE compound file without an HWP FileHeader (a .doc/.xls/.ppt?)"
        )
    if ole.get_size("FileHeader") < 40:
        raise DocumentError(name, "the HWP FileHeader is too short; the file is damaged")
    header = ole.openstream("FileHeader").read(256)
    if not header.startswith(SIGNATURE):
        raise UnsupportedFormatError(name, "unsupported type: the FileHeader lacks the HWP signature")
    v = header[32:36]
    version = f"{v[3]}.{v[2]}.{v[1]}.{v[0]}"
    (flags,) = struct.unpack_from("<I", header, 36)
    return version, flags


def _refuse_protected(flags: int, name: str) -> None:
    if flags & (FLAG_PASSWORD | FLAG_CERT_ENCRYPTED):
        raise DocumentError(
            name,
            "the HWP file is encrypted with a password (암호가 설정된 문서); its text cannot be read. "
            "Open it in Hangul, remove the password (보안 > 문서 암호 해제) and save it again",
        )
    if flags & FLAG_DISTRIBUTION:
        raise DocumentError(
            name,
            "the HWP file is distribution-locked (배포용 문서): its text is encrypted for viewing only. "
            "Ask the author for the original document",
        )
    if flags & (FLAG_DRM | FLAG_CERT_DRM):
        raise DocumentError(name, "the HWP file is DRM-protected; decrypt it with your DRM client first")


def _sections(ole: Any) -> list[str]:
    found = []
    for parts in ole.listdir():
        if len(parts) == 2 and parts[0] == "BodyText" and (m := re.fullmatch(r"Section(\d+)", parts[1])):
            found.append((int(m.group(1)), "/".join(parts)))
    return [path for _, path in sorted(found)]


class HwpReader:
    """``.hwp`` (HWP 5.0): paragraphs, tables as rows, notes, headers and footers."""

    name = "hwp"
    extensions: tuple[str, ...] = (".hwp",)
    #: What an OLE file lacks when :meth:`probe` says it is not an HWP.
    probe_hint = "without an HWP FileHeader stream (a .doc or .xls renamed?)"

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(OLE_MAGIC)

    def probe(self, data: bytes) -> bool:
        """Whether an OLE file is an HWP: a ``FileHeader`` stream with the HWP signature."""
        try:
            ole = _open_ole(data, "")
            try:
                return ole.exists("FileHeader") and ole.openstream("FileHeader").read(32).startswith(SIGNATURE)
            finally:
                ole.close()
        except Exception:
            return False

    def read(self, data: bytes, name: str) -> Any:
        if data.startswith(b"HWP Document File V3"):
            raise UnsupportedFormatError(
                name, "unsupported type: HWP 3.x (한글 97 and older); save it as HWP 5.0 or HWPX in Hangul"
            )
        if not data.startswith(OLE_MAGIC):
            kind = sniff_binary(data) or "text or unknown data"
            raise DocumentError(name, f"not an HWP 5.0 file: it is not an OLE compound file (content: {kind})")
        ole = _open_ole(data, name)
        try:
            version, flags = _header_flags(ole, name)
            _refuse_protected(flags, name)
            sections = _sections(ole)
            if not sections:
                raise DocumentError(name, "the HWP file has no BodyText sections; the file is damaged")
            budget = UnpackBudget(name)
            builder = TextBuilder()
            walker = _BodyWalker(builder, _outline_shapes(ole, flags, budget, name))
            for part in sections:
                size = ole.get_size(part)
                if size > len(data):
                    raise DocumentError(name, f"{part} claims {size} bytes, more than the file; the file is damaged")
                raw = ole.openstream(part).read()
                stream = inflate(raw, budget, part) if flags & FLAG_COMPRESSED else raw
                for tag, level, payload in iter_records(stream, name, part):
                    walker.feed(tag, level, payload)
                walker.finish()
            meta: dict[str, Any] = {
                "format": "hwp",
                "hwp_version": version,
                "sections": len(sections),
                "paragraphs": walker.paragraphs,
                "tables": walker.n_tables,
            }
            summary = _summary(ole)
            meta.update({k: v for k, v in summary.items() if k != "title"})
        except DocumentError:
            raise
        except Exception as e:  # olefile and struct errors on damaged files
            raise DocumentError(name, f"the HWP file is damaged ({type(e).__name__}: {e})") from e
        finally:
            ole.close()
        return builder.document(
            name,
            summary.get("title"),
            meta,
            "the HWP file holds no text (only empty paragraphs, empty tables or pictures)",
        )
