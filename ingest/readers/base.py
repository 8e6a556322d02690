"""The reader interface: file bytes in, one normalized :class:`~rabbit_rag.types.Document` out.

A reader is chosen by content (magic bytes) first and by extension second. It returns text that is
already normalized (:func:`rabbit_rag.text.normalize_text`), so its ``pages`` and ``sections``
offsets point into exactly the text the docstore keeps.

A reader of a container format (ZIP, OLE) may also define ``probe(data: bytes) -> bool``: when its
``sniff`` matches the first bytes, ``probe`` looks inside (e.g. for ``word/document.xml``) before it
is chosen, so a DOCX named ``.hwpx`` is still read as a DOCX. Readers raise
:class:`~rabbit_rag.errors.DocumentError` naming the file, and respect the limits of
:mod:`rabbit_rag.ingest.readers.limits` (unpacked size, cooperative deadline).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from rabbit_rag.types import Document


@runtime_checkable
class Reader(Protocol):
    """Reads one file format."""

    #: short name shown in reports, e.g. ``"text"``, ``"pdf"``
    name: str
    #: lower-case extensions with the dot, e.g. ``(".txt",)``
    extensions: tuple[str, ...]

    def sniff(self, head: bytes, name: str) -> bool:
        """Whether the first bytes of a file say it is this format (False when unsure)."""
        ...

    def read(self, data: bytes, name: str) -> Document:
        """Parse ``data``; raise :class:`~rabbit_rag.errors.DocumentError` naming ``name`` on failure."""
        ...
