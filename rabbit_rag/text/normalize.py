"""Text normalization and encoding detection.

Every document is normalized once, on the way in, and the normalized text is what offsets point
into (``document_text[start:end] == chunk.text``). Normalization is deliberately small: Unicode NFC
(macOS file names and some PDFs are NFD), one kind of line end, no stray control characters.

예::

    >>> normalize_text("대한민국\\r\\n헌법")
    '대한민국\\n헌법'
    >>> decode_bytes("국회".encode("cp949"), "a.txt").encoding
    'cp949'
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from rabbit_rag.errors import DocumentError, EmptyDocumentError

# C0/C1 controls except tab and newline, plus the BOM and other invisible format characters that
# only get in the way of search. Removing them happens before offsets exist, so it is safe.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\u200b\u2060]")
_LINE_END_RE = re.compile("\r\n?|[\u2028\u2029\x85]")

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "PDF"),
    (b"PK\x03\x04", "ZIP (DOCX/HWPX/XLSX)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE compound file (HWP/DOC/XLS)"),
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"SQLite format 3\x00", "SQLite database"),
)


def normalize_text(text: str) -> str:
    """Return ``text`` in NFC with ``\\n`` line ends and without control characters.

    예: ``normalize_text("한\\u1100\\u1161")`` composes the jamo into ``"한가"``.
    """
    text = _LINE_END_RE.sub("\n", text)
    text = _CONTROL_RE.sub("", text)
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True, slots=True)
class DecodedText:
    """Decoded file content and the encoding it was read with."""

    text: str
    encoding: str


def sniff_binary(data: bytes) -> str | None:
    for magic, kind in _BINARY_MAGIC:
        if data.startswith(magic):
            return kind
    head = data[:8192]
    if b"\x00" in head:
        return "NUL bytes"
    return None


def _looks_like_text(text: str) -> bool:
    """Reject decodes that are technically valid but full of controls or replacement characters."""
    sample = text[:20000]
    if not sample:
        return True
    bad = sum(1 for ch in sample if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"))
    return bad / len(sample) < 0.01


def decode_bytes(data: bytes, name: str = "<bytes>") -> DecodedText:
    """Decode the bytes of a text file, detecting its encoding.

    Order: a byte-order mark (UTF-8, UTF-16, UTF-32), strict UTF-8, strict CP949 (a superset of
    EUC-KR, the common legacy Korean encoding), then charset-normalizer's best guess. Binary content
    and undecodable text raise :class:`DocumentError` naming ``name``.

    예: ``decode_bytes("대한민국".encode("euc-kr"), "old.txt").text == "대한민국"``
    """
    if not data.strip():
        raise EmptyDocumentError(name, "the file is empty")
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return DecodedText(data.decode(encoding), encoding)
            except UnicodeDecodeError as e:
                raise DocumentError(
                    name, f"starts with a {encoding} byte-order mark but is not valid {encoding}: {e}"
                ) from e
    kind = sniff_binary(data)
    if kind is not None:
        raise DocumentError(name, f"binary content ({kind}), not text; give it a matching extension or remove it")
    for encoding in ("utf-8", "cp949"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return DecodedText(text, encoding)
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is not None and best.encoding:
        text = data.decode(best.encoding, errors="replace")
        if _looks_like_text(text):
            return DecodedText(text, best.encoding)
    raise DocumentError(
        name,
        "cannot detect the text encoding (tried UTF-8, UTF-16/32 with BOM, CP949/EUC-KR); convert it to UTF-8",
    )
