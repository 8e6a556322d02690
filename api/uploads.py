"""Uploaded files: names are labels, types are judged by content, bytes are staged under server names.

- :func:`clean_label` turns the client's file name into the document's ``source`` label; the label
  is never used as a path.
- :func:`check_type` picks the reader by magic bytes first (``rabbit_rag.ingest.readers.reader_for``) and also
  refuses content that is a known binary (an executable, an image, an archive) when the reader was
  chosen only by the extension — an ELF renamed ``.pdf`` or ``.txt`` is a 415.
- :class:`Staging` holds each upload at ``<index_root>/.staging/<uuid>`` until its ingest job
  (:mod:`rabbit_rag.api.writes`) reads it back and deletes it.

예::

    clean_label("../../x.txt")          # 'x.txt'
    clean_label("kobill/1809890.txt")   # 'kobill/1809890.txt'
"""

from __future__ import annotations

import shutil
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rabbit_rag.ingest.readers import READERS, reader_for

from rabbit_rag.errors import UnsupportedFormatError
from rabbit_rag.text.normalize import normalize_text, sniff_binary

HEAD_BYTES = 8192
MAX_LABEL_CHARS = 255
STAGING_DIR = ".staging"


def clean_label(filename: str | None, fallback: str = "upload.txt") -> str:
    """A display label from a client file name: NFC, ``/`` separators, no empty, ``.`` or ``..`` parts,
    no control characters, at most 255 characters. Folder parts are kept (``kobill/1.txt``)."""
    name = normalize_text(unicodedata.normalize("NFC", filename or "")).replace("\\", "/").replace("\n", " ")
    parts = [p.strip() for p in name.split("/")]
    parts = [p for p in parts if p and p not in (".", "..")]
    label = "/".join(parts)[-MAX_LABEL_CHARS:].lstrip("/")
    return label or fallback


def needs_probe(label: str, head: bytes) -> bool:
    """Whether telling the type apart needs the whole file (a ZIP or OLE container: DOCX, HWPX, HWP)."""
    return any(r.sniff(head, label) and getattr(r, "probe", None) is not None for r in READERS)


def check_type(label: str, head: bytes, data: bytes | None = None) -> str:
    """The reader name for a file starting with ``head`` (``data``: the whole file, for containers);
    :class:`UnsupportedFormatError` (415) when no reader takes it or the content contradicts the name."""
    reader = reader_for(label, head, data)  # by content first, then by extension; raises for unknown types
    probe = getattr(reader, "probe", None)
    by_content = reader.sniff(head, label) and (probe is None or data is None or probe(data))
    if not by_content:
        kind = sniff_binary(head)
        # known magic bytes (an executable, an image, an archive) under a document's name; NUL bytes
        # alone are left to the reader (UTF-16 text with a BOM has them)
        if kind is not None and "NUL" not in kind:
            raise UnsupportedFormatError(
                label,
                f"the content is {kind}, not {reader.name} as the name suggests; upload the document itself",
            )
    return reader.name


@dataclass(frozen=True, slots=True)
class StagedFile:
    label: str
    path: Path
    size: int
    reader: str


class Staging:
    """The folder where uploads wait for their ingest job (cleared at start-up: jobs do not survive)."""

    def __init__(self, index_root: Path) -> None:
        self.dir = Path(index_root) / STAGING_DIR
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)

    def new_path(self) -> Path:
        return self.dir / uuid.uuid4().hex  # server-generated: the client's name never reaches the file system

    def discard(self, files: Sequence[StagedFile]) -> None:
        for f in files:
            f.path.unlink(missing_ok=True)
