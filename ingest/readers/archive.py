"""Safe access to the ZIP containers (DOCX, HWPX) and the XML inside them.

A member is read only after its declared size passes the unpacked-size budget and the ratio
check, and then streamed in 1 MB pieces that are counted again (the declared size may lie). XML is
parsed with entity resolution, DTD loading and network access off, and a part that carries a DTD is
refused: OOXML and OWPML never need one, and it is where entity-expansion attacks live.

예::

    z = SafeZip(data, "보고서.docx")
    root = z.xml("word/document.xml")
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers.limits import MB, UnpackBudget, check_deadline

ZIP_MAGIC = b"PK\x03\x04"
_PIECE = 1 << 20

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_comments=True, remove_pis=True,
)  # fmt: skip


def parse_xml(data: bytes, name: str, part: str) -> etree._Element:
    """Parse one XML part safely; errors name the file and the part."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise DocumentError(name, f"{part} is not well-formed XML ({e}); the file is damaged") from e
    if root.getroottree().docinfo.internalDTD is not None:
        raise DocumentError(name, f"{part} declares a DTD, which these documents never need; refusing it")
    return root


def zip_names(data: bytes) -> set[str] | None:
    """Member names of a ZIP held in ``data``, or None when it is not a readable ZIP."""
    if not data.startswith(ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


class SafeZip:
    """A ZIP archive in memory whose members are read under one :class:`UnpackBudget`."""

    def __init__(self, data: bytes, name: str, kind: str):
        self.name = name
        self.kind = kind
        self.budget = UnpackBudget(name)
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise DocumentError(name, f"not a readable {kind} (ZIP container damaged or truncated: {e})") from e

    def names(self) -> list[str]:
        return self.zip.namelist()

    def has(self, member: str) -> bool:
        try:
            self.zip.getinfo(member)
        except KeyError:
            return False
        return True

    def _checked(self, member: str) -> zipfile.ZipInfo:
        """The member's entry after the encryption, budget and ratio checks on its declared sizes."""
        try:
            info = self.zip.getinfo(member)
        except KeyError as e:
            raise DocumentError(self.name, f"not a valid {self.kind}: the archive has no {member!r}") from e
        if info.flag_bits & 0x1:
            raise DocumentError(self.name, f"{member!r} is encrypted inside the archive; remove the password first")
        limits = self.budget.limits
        if info.file_size > self.budget.remaining:
            raise DocumentError(
                self.name, self.budget.over_reason(member) + f"; it declares {info.file_size / MB:.1f} MB"
            )
        if info.file_size > MB and info.file_size > limits.max_ratio * max(1, info.compress_size):
            raise DocumentError(
                self.name,
                f"{member!r} declares {info.file_size / MB:.1f} MB packed into {info.compress_size} bytes "
                f"(ratio over {limits.max_ratio:g}:1): refusing a likely decompression bomb",
            )
        return info

    def read(self, member: str) -> bytes:
        """The bytes of ``member``, within the budget; a missing member is an error naming it."""
        info = self._checked(member)
        out = bytearray()
        try:
            with self.zip.open(info) as f:
                while piece := f.read(_PIECE):
                    self.budget.spend(len(piece), member)
                    out += piece
                    check_deadline(self.name)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as e:
            raise DocumentError(self.name, f"{member!r} cannot be decompressed ({e}); the file is damaged") from e
        return bytes(out)

    def xml(self, member: str) -> etree._Element:
        return parse_xml(self.read(member), self.name, member)

    def iter_xml(self, member: str, tag: str | tuple[str, ...]) -> Iterator[etree._Element]:
        """Stream the ``tag`` elements (one tag or a tuple) of a large XML part (a worksheet) without building its tree.

        The part is inflated in 1 MB pieces under the budget (and the deadline), parsed as it comes
        with the same safe settings as :func:`parse_xml`, and each yielded element is cleared
        afterwards with what came before it, so memory stays flat however long the part is. Close
        the generator to stop early: the rest of the part is never inflated.
        """
        info = self._checked(member)
        try:
            with self.zip.open(info) as f:
                stream = _BudgetStream(f, self, member)
                events = etree.iterparse(
                    stream, events=("end",), tag=tag, resolve_entities=False, no_network=True, load_dtd=False,
                    huge_tree=False, remove_comments=True, remove_pis=True,
                )  # fmt: skip
                for _, el in events:
                    yield el
                    el.clear(keep_tail=False)
                    parent = el.getparent()
                    while parent is not None and el.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as e:
            raise DocumentError(self.name, f"{member} is not well-formed XML ({e}); the file is damaged") from e
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as e:
            raise DocumentError(self.name, f"{member!r} cannot be decompressed ({e}); the file is damaged") from e

    def close(self) -> None:
        self.zip.close()


class _BudgetStream:
    """A file-like view of a ZIP member that spends the budget per piece and refuses a DTD."""

    def __init__(self, f: BinaryIO, z: SafeZip, member: str):
        self.f = f
        self.z = z
        self.member = member
        self.first = True

    def read(self, n: int = -1) -> bytes:
        piece = self.f.read(_PIECE if n is None or n < 0 else min(n, _PIECE))
        self.z.budget.spend(len(piece), self.member)
        check_deadline(self.z.name)
        if self.first:
            self.first = False
            if b"<!DOCTYPE" in piece[:4096]:
                raise DocumentError(
                    self.z.name, f"{self.member} declares a DTD, which these documents never need; refusing it"
                )
        return piece
