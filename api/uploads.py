"""Uploaded files: names are labels, types are judged by content, bytes are staged under server names.

- :func:`clean_label` turns the client's file name into the document's ``source`` label; the label
  is never used as a path.
- types are judged by :func:`rabbit_rag.ingest.readers.detect`, the same decision ingest makes: by
  magic bytes first, and content that is a known binary (an executable, an image, an archive) under a
  document's name is a 415 — an ELF renamed ``.pdf`` or ``.txt`` is refused before it is staged.
- :class:`Staging` holds each upload at ``<index_root>/.staging/<uuid>``, fsynced before the job is
  journaled and the client hears 202, until its ingest job (:mod:`rabbit_rag.api.writes`) has
  committed it; a restart keeps the files of pending jobs and removes only those no job refers to.

예::

    clean_label("../../x.txt")          # 'x.txt'
    clean_label("kobill/1809890.txt")   # 'kobill/1809890.txt'
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rabbit_rag.index.fsio import fsync_dir
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

    def record(self) -> dict[str, Any]:
        """The job journal's record (the file's name only: the folder is the staging folder)."""
        return {**asdict(self), "path": self.path.name}


class Staging:
    """The folder where uploads wait for their ingest job. It survives restarts: pending jobs resume
    from it (:meth:`clean` removes what no job refers to)."""

    def __init__(self, index_root: Path) -> None:
        self.dir = Path(index_root) / STAGING_DIR
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def new_path(self) -> Path:
        return self.dir / uuid.uuid4().hex  # server-generated: the client's name never reaches the file system

    def sync(self) -> None:
        """Make the staged files' names durable (their bytes are fsynced as they are written)."""
        fsync_dir(self.dir)

    def file(self, rec: dict[str, Any]) -> StagedFile:
        """A staged file back from its journal record (``path`` is a name inside this folder)."""
        name = Path(str(rec["path"])).name
        return StagedFile(
            label=str(rec["label"]), path=self.dir / name, size=int(rec["size"]), reader=str(rec["reader"])
        )

    def clean(self, keep: Collection[str]) -> int:
        """Remove staged files no pending job refers to (an upload interrupted before it was
        accepted). Returns how many were removed."""
        removed = 0
        for p in self.dir.iterdir():
            if p.name not in keep:
                p.unlink(missing_ok=True)
                removed += 1
        return removed

    def discard(self, files: Sequence[StagedFile]) -> None:
        for f in files:
            f.path.unlink(missing_ok=True)
