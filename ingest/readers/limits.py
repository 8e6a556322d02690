"""Resource limits for parsing one file: unpacked size, compression ratio and time.

Readers parse untrusted bytes. Three limits keep one bad file from taking the batch down:

- ``max_unpacked_bytes``: how much a reader may decompress for one file (the XML parts of a DOCX
  or HWPX, the deflated ``BodyText`` streams of an HWP), counted as it streams, so a zip bomb is
  stopped at the cap however its headers lie;
- ``max_ratio``: a zip member that declares more than this many times its compressed size (and
  more than 1 MB) is refused before a byte is inflated;
- ``max_cells``: filled spreadsheet cells read from one workbook; the rows past it are skipped and
  listed in the document's metadata (a million-cell data dump would otherwise become 100,000
  chunks of numbers);
- ``timeout_s``: a deadline our own parsers check cooperatively (per record, per XML element
  batch, per PDF page). A cooperative check cannot interrupt a library stuck inside one call, so
  the ingest pipeline also runs every parse in a separate process that it kills at the same
  deadline (see :mod:`rabbit_rag.ingest.readers.isolation`).

예::

    with limits_scope(ReadLimits(max_unpacked_bytes=50_000_000, timeout_s=30)):
        doc = read_bytes(data, "보고서.hwpx")
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from rabbit_rag.errors import DocumentError
from rabbit_rag.limits import DEFAULT_MAX_CELLS, DEFAULT_MAX_RATIO, DEFAULT_MAX_UNPACKED_MB, DEFAULT_PARSE_TIMEOUT_S

MB = 1_000_000


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Per-file parsing limits (see the module docstring)."""

    max_unpacked_bytes: int = int(DEFAULT_MAX_UNPACKED_MB * MB)
    max_ratio: float = DEFAULT_MAX_RATIO
    timeout_s: float | None = DEFAULT_PARSE_TIMEOUT_S
    max_cells: int = DEFAULT_MAX_CELLS


@dataclass(slots=True)
class _Scope:
    limits: ReadLimits
    deadline: float | None


_scope: ContextVar[_Scope | None] = ContextVar("rabbit_rag_read_limits", default=None)


@contextmanager
def limits_scope(limits: ReadLimits | None = None) -> Iterator[ReadLimits]:
    """Apply ``limits`` (default: :class:`ReadLimits()`) to the reads inside the block; the deadline starts now."""
    limits = limits or ReadLimits()
    deadline = None if limits.timeout_s is None else time.monotonic() + limits.timeout_s
    token = _scope.set(_Scope(limits, deadline))
    try:
        yield limits
    finally:
        _scope.reset(token)


def current_limits() -> ReadLimits:
    scope = _scope.get()
    return scope.limits if scope else ReadLimits()


def check_deadline(name: str) -> None:
    """Raise :class:`DocumentError` naming ``name`` when the current parse is past its deadline."""
    scope = _scope.get()
    if scope is not None and scope.deadline is not None and time.monotonic() > scope.deadline:
        raise DocumentError(name, timeout_reason(scope.limits.timeout_s))


def timeout_reason(timeout_s: float | None) -> str:
    return (
        f"parsing took longer than the {timeout_s:g} s limit; the file may be malformed or very large "
        "(raise RABBIT_RAG_PARSE_TIMEOUT_S to allow more)"
    )


class UnpackBudget:
    """Counts the bytes one file decompresses against ``max_unpacked_bytes``.

    예: ``budget.spend(len(chunk), "Contents/section0.xml")`` raises once the total passes the cap.
    """

    def __init__(self, name: str, limits: ReadLimits | None = None):
        self.name = name
        self.limits = limits or current_limits()
        self.used = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limits.max_unpacked_bytes - self.used)

    def spend(self, n: int, part: str) -> None:
        self.used += n
        if self.used > self.limits.max_unpacked_bytes:
            raise DocumentError(self.name, self.over_reason(part))

    def over_reason(self, part: str) -> str:
        return (
            f"decompressed content passes the {self.limits.max_unpacked_bytes / MB:g} MB limit at {part!r} "
            "(a decompression bomb or an unusually large document; raise RABBIT_RAG_MAX_UNPACKED_MB to allow more)"
        )
