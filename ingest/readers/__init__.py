"""Readers per format and the choice between them.

``read_path`` picks a reader by content first (magic bytes: a PDF renamed ``.txt`` is not read as
text), then by extension, enforces the size limit, and returns a normalized document or raises a
:class:`~rabbit_rag.errors.DocumentError` that names the file and the reason.

Containers are told apart by what they hold, not by their name: a ZIP is a DOCX when it has
``word/document.xml`` and an HWPX when its ``mimetype`` says ``application/hwp+zip`` (or it has
``Contents/section0.xml``), an XLSX when it has ``xl/workbook.xml`` and a PPTX when it has
``ppt/presentation.xml``; an OLE compound file is an HWP when its ``FileHeader`` stream carries
the HWP signature. A reader may offer ``probe(data) -> bool`` for this second look.

The ``name`` given with the bytes is only ever a label (messages, ``Document.source``): it is never
used to build a path, so an uploaded ``../../etc/passwd.hwp`` is just a strange label.

예::

    doc = read_path(Path("samples/constitution.txt"), source="samples/constitution.txt")
    doc = read_bytes(Path("공문.hwp").read_bytes(), "공문.hwp")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from ingest.readers.base import Reader
from ingest.readers.docx import DocxReader
from ingest.readers.html import HtmlReader
from ingest.readers.hwp import HwpReader
from ingest.readers.hwpx import HwpxReader
from ingest.readers.limits import ReadLimits, check_deadline, current_limits, limits_scope
from ingest.readers.pdf import PdfReader
from ingest.readers.pptx import PptxReader
from ingest.readers.respacing import repair_document_spacing
from ingest.readers.text import MarkdownReader, TextReader
from ingest.readers.xlsx import XlsxReader
from rabbit_rag.errors import DocumentError, UnsupportedFormatError
from rabbit_rag.text import sniff_binary
from rabbit_rag.types import Document

READERS: list[Reader] = [
    PdfReader(),
    HwpxReader(),
    DocxReader(),
    XlsxReader(),
    PptxReader(),
    HwpReader(),
    HtmlReader(),
    TextReader(),
    MarkdownReader(),
]


def register_reader(reader: Reader, first: bool = True) -> None:
    """Add a reader (e.g. for a new format); ``first`` lets it win over existing ones."""
    if first:
        READERS.insert(0, reader)
    else:
        READERS.append(reader)


def supported_extensions() -> set[str]:
    return {ext for r in READERS for ext in r.extensions}


def reader_for(name: str, head: bytes, data: bytes | None = None) -> Reader:
    """The reader for a file, by content first (``probe(data)`` for containers), then by extension."""
    for reader in READERS:
        if reader.sniff(head, name):
            probe = getattr(reader, "probe", None)
            if probe is None or data is None or probe(data):
                return reader
    suffix = Path(name).suffix.lower()
    for reader in READERS:
        if suffix in reader.extensions:
            return reader
    kind = sniff_binary(head)
    what = f"content looks like {kind}" if kind else f"extension {suffix or '(none)'!r}"
    raise UnsupportedFormatError(
        name, f"unsupported type ({what}); supported: {', '.join(sorted(supported_extensions()))}"
    )


def read_bytes(data: bytes, name: str, limits: ReadLimits | None = None) -> Document:
    """Parse file content whose name (a label: for the extension and messages only) is ``name``.

    Every document then passes the spacing safety net (:mod:`ingest.readers.respacing`).
    ``limits`` (unpacked size, time) apply to this parse; by default the enclosing
    :func:`~ingest.readers.limits.limits_scope`'s, or :class:`ReadLimits()`. The time limit is
    cooperative here; :class:`~ingest.readers.isolation.ParseWorker` enforces it by killing a process.

    예: ``read_bytes(upload.file.read(), upload.filename)``
    """
    with limits_scope(limits or current_limits()):
        doc = reader_for(name, data[:4096], data).read(data, name)
        check_deadline(name)
        return repair_document_spacing(doc)  # the spacing safety net, whatever the format


def read_path(
    path: Path,
    source: str,
    max_bytes: int | None = None,
    parse: Callable[[bytes, str], Document] | None = None,
) -> tuple[Document, bytes]:
    """Read and parse one file. Returns the document (``source`` and ``uri`` set) and the raw bytes.

    ``parse`` replaces :func:`read_bytes` (e.g. ``ParseWorker(...).read`` to parse in a child process).
    """
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise DocumentError(
                source,
                f"the file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB "
                "(raise it with RABBIT_RAG_MAX_FILE_MB)",
            )
        data = path.read_bytes()
    except PermissionError as e:
        raise DocumentError(source, f"cannot read the file: permission denied ({path})") from e
    except OSError as e:
        raise DocumentError(source, f"cannot read the file: {e.strerror or e}") from e
    doc = (parse or read_bytes)(data, source)
    return dataclasses.replace(doc, source=source, uri=path.resolve().as_posix()), data


__all__ = [
    "READERS",
    "ReadLimits",
    "Reader",
    "limits_scope",
    "read_bytes",
    "read_path",
    "reader_for",
    "register_reader",
    "supported_extensions",
]
