"""Uploaded files: names are labels, types are judged by content, bytes are staged under server names.

- :func:`clean_label` turns the client's file name into the document's ``source`` label; the label
  is never used as a path.
- types are judged by :func:`rabbit_rag.ingest.readers.detect`, the same decision ingest makes: by
  magic bytes first, and content that is a known binary (an executable, an image, an archive) under a
  document's name is a 415 — an ELF renamed ``.pdf`` or ``.txt`` is refused before it is staged.
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

from rabbit_rag.text.normalize import normalize_text

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
