"""Readers per format and the choice between them.

``read_path`` picks a reader by content first (magic bytes: a PDF renamed ``.txt`` is not read as
text), then by extension, enforces the size limit, and returns a normalized document or raises a
:class:`~rabbit_rag.errors.DocumentError` that names the file and the reason.

예::

    doc = read_path(Path("samples/constitution.txt"), source="samples/constitution.txt")
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ingest.readers.base import Reader
from ingest.readers.text import MarkdownReader, TextReader
from rabbit_rag.errors import DocumentError, UnsupportedFormatError
from rabbit_rag.text import sniff_binary
from rabbit_rag.types import Document

READERS: list[Reader] = [TextReader(), MarkdownReader()]


def register_reader(reader: Reader, first: bool = True) -> None:
    """Add a reader (e.g. for a new format); ``first`` lets it win over existing ones."""
    if first:
        READERS.insert(0, reader)
    else:
        READERS.append(reader)


def supported_extensions() -> set[str]:
    return {ext for r in READERS for ext in r.extensions}


def reader_for(name: str, head: bytes) -> Reader:
    """The reader for a file, by content first, then by extension."""
    for reader in READERS:
        if reader.sniff(head, name):
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


def read_bytes(data: bytes, name: str) -> Document:
    """Parse file content whose name (for the extension and messages) is ``name``."""
    return reader_for(name, data[:4096]).read(data, name)


def read_path(path: Path, source: str, max_bytes: int | None = None) -> tuple[Document, bytes]:
    """Read and parse one file. Returns the document (``source`` and ``uri`` set) and the raw bytes."""
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
    doc = read_bytes(data, source)
    return dataclasses.replace(doc, source=source, uri=path.resolve().as_posix()), data


__all__ = [
    "READERS",
    "Reader",
    "read_bytes",
    "read_path",
    "reader_for",
    "register_reader",
    "supported_extensions",
]
