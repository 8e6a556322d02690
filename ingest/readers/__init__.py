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

from rabbit_rag.errors import DocumentError, UnsupportedFormatError
from rabbit_rag.ingest.readers.base import Reader
from rabbit_rag.ingest.readers.docx import DocxReader
from rabbit_rag.ingest.readers.html import HtmlReader
from rabbit_rag.ingest.readers.hwp import HwpReader
from rabbit_rag.ingest.readers.hwpx import HwpxReader
from rabbit_rag.ingest.readers.limits import ReadLimits, check_deadline, current_limits, limits_scope
from rabbit_rag.ingest.readers.pdf import PdfReader
from rabbit_rag.ingest.readers.pptx import PptxReader
from rabbit_rag.ingest.readers.respacing import repair_document_spacing
from rabbit_rag.ingest.readers.text import MarkdownReader, TextReader
from rabbit_rag.ingest.readers.xlsx import XlsxReader
from rabbit_rag.text.normalize import sniff_binary
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


def needs_whole_file(name: str, head: bytes) -> bool:
    """Whether telling the type apart needs the whole file (a ZIP or OLE container: DOCX, HWPX, HWP)."""
    return any(r.sniff(head, name) and getattr(r, "probe", None) is not None for r in READERS)


def detect(name: str, head: bytes, data: bytes | None = None) -> Reader:
    """The reader for a file starting with ``head`` (``data``: the whole file, for containers), judged
    by content first and by the name's extension second; :class:`UnsupportedFormatError` when no
    reader takes it, or when the content is a known binary (an executable, an image, an archive) under
    a document's name — an ELF renamed ``.pdf`` or ``.txt`` is refused, not parsed.

    Ingest and the API's upload check share this one decision.

    예: ``detect("헌법.txt", data[:8192]).name`` → ``'text'``
    """
    reader = reader_for(name, head, data)
    probe = getattr(reader, "probe", None)
    sniffed = reader.sniff(head, name)
    if sniffed and probe is not None and data is not None and not probe(data):
        # the right kind of container (a ZIP for .docx), but not this format inside
        hint = getattr(reader, "probe_hint", "not the parts this format needs")
        raise UnsupportedFormatError(name, f"the content is {sniff_binary(head)}, {hint}: not a {reader.name} file")
    if not sniffed:
        kind = sniff_binary(head)
        # NUL bytes alone are left to the reader (UTF-16 text with a BOM has them)
        if kind is not None and "NUL" not in kind:
            raise UnsupportedFormatError(
                name, f"the content is {kind}, not {reader.name} as the name suggests; give the document itself"
            )
    return reader


def read_bytes(data: bytes, name: str, limits: ReadLimits | None = None) -> Document:
    """Parse file content whose name (a label: for the extension and messages only) is ``name``.

    Every document then passes the spacing safety net (:mod:`rabbit_rag.ingest.readers.respacing`).
    ``limits`` (unpacked size, time) apply to this parse; by default the enclosing
    :func:`~rabbit_rag.ingest.readers.limits.limits_scope`'s, or :class:`ReadLimits()`. The time limit is
    cooperative here; :class:`~rabbit_rag.ingest.readers.isolation.ParseWorker` enforces it by killing a process.

    예: ``read_bytes(upload.file.read(), upload.filename)``
    """
    with limits_scope(limits or current_limits()):
        doc = detect(name, data[:4096], data).read(data, name)
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
    "detect",
    "limits_scope",
    "needs_whole_file",
    "read_bytes",
    "read_path",
    "reader_for",
    "register_reader",
    "supported_extensions",
]
