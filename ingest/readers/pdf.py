"""PDF: the text layer of each page, with page numbers, via pypdf (BSD).

Why pypdf: on a generated 200-page Korean PDF (reportlab, CID font ``HYSMyeongJo-Medium``) it read
the same Korean text as pdfminer.six about 4.5 times faster (see ``benchmarks/reader_speed.py``);
both map the predefined Korean CMaps (``UniKS-UCS2-H``) and ToUnicode tables. PyMuPDF is AGPL and
stays out. Text follows the content-stream order, which for the PDFs word processors write is the
reading order (columns one after the other).

Each page's lines are joined by :func:`~rabbit_rag.ingest.readers.linebreaks.join_broken_words`, so a Korean
word wrapped across two lines is one word again and two words stay two. Every page becomes a
``(start, end, page)`` span, so chunks and citations carry their page.

Refused with a clear reason: a truncated file (no ``%%EOF``), a password-protected one (an empty
user password is tried first, as every viewer does), one without any text layer (scanned images:
OCR is not in scope), and one with a stream that inflates past pypdf's own per-stream limit
(75 MB, ``pypdf.filters.ZLIB_MAX_OUTPUT_LENGTH``).

예::

    doc = PdfReader().read(Path("보고서.pdf").read_bytes(), "보고서.pdf")
    doc.pages[1]  # (start, end, 2)
"""

from __future__ import annotations

import io
import logging
from typing import Any

from rabbit_rag.errors import DocumentError, EmptyDocumentError
from rabbit_rag.ingest.readers.builder import TextBuilder
from rabbit_rag.ingest.readers.limits import check_deadline
from rabbit_rag.ingest.readers.linebreaks import join_broken_words
from rabbit_rag.types import Document

PDF_MAGIC = b"%PDF-"


def _title(meta: Any) -> str | None:
    try:
        title = (meta.title or "").strip() if meta else ""
    except Exception:  # a damaged /Info dictionary
        return None
    for prefix in ("Microsoft Word - ", "Microsoft PowerPoint - "):
        title = title.removeprefix(prefix)
    if title.lower() in ("untitled", "제목 없음", "제목없음", "(anonymous)"):
        return None  # a generator's placeholder: the first line says more
    return title[:200] or None


def _info(meta: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if not meta:
        return out
    for key, field in (("author", "/Author"), ("subject", "/Subject"), ("producer", "/Producer")):
        try:
            value = meta.get(field)
        except Exception:
            continue
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()[:200]
    return out


class PdfReader:
    """``.pdf``: text per page, page spans, title and author from the document info."""

    name = "pdf"
    extensions: tuple[str, ...] = (".pdf",)

    def sniff(self, head: bytes, name: str) -> bool:
        # the header may follow a little junk (allowed within the first 1024 bytes)
        return head.find(PDF_MAGIC, 0, 1024) >= 0

    def read(self, data: bytes, name: str) -> Document:
        import pypdf
        from pypdf.errors import DependencyError, LimitReachedError, PyPdfError

        if PDF_MAGIC not in data[:1024]:
            raise DocumentError(name, "not a PDF: no %PDF- header in the first 1024 bytes")
        if b"%%EOF" not in data[-4096:]:
            raise DocumentError(name, "the PDF is truncated (no %%EOF marker at its end); download or copy it again")
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # recoverable-damage warnings are noise here
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except DependencyError as e:
                    raise DocumentError(
                        name, f"the PDF is AES-encrypted and needs the 'cryptography' package: {e}"
                    ) from e
                if not ok:
                    raise DocumentError(
                        name, "the PDF is encrypted with a password; save an unprotected copy and ingest that"
                    )
            page_lines: list[list[str]] = []
            for page in reader.pages:
                check_deadline(name)
                text = page.extract_text() or ""
                page_lines.append([line.rstrip("\r") for line in text.split("\n")])
            meta = reader.metadata
        except DocumentError:
            raise
        except LimitReachedError as e:
            raise DocumentError(
                name, f"a PDF stream inflates past pypdf's safety limit ({e}); refusing a likely decompression bomb"
            ) from e
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
            raise DocumentError(name, f"the PDF is damaged and cannot be read ({type(e).__name__}: {e})") from e
        n_pages = len(page_lines)
        if n_pages == 0:
            raise EmptyDocumentError(name, "the PDF has no pages")
        if not any(line.strip() for lines in page_lines for line in lines):
            raise DocumentError(
                name,
                f"the PDF has no text layer ({n_pages} page(s) of images, e.g. a scan); OCR is not in scope: "
                "run OCR first (e.g. ocrmypdf) and ingest the result",
            )
        builder = TextBuilder()
        for number, text in enumerate(join_broken_words(page_lines), start=1):
            builder.page(text, number)
        metadata: dict[str, Any] = {"format": "pdf", "page_count": n_pages, **_info(meta)}
        blank = n_pages - len(builder.pages)
        if blank:
            metadata["pages_without_text"] = blank  # e.g. scanned pages inside a digital PDF: worth an OCR pass
        return builder.document(name, _title(meta), metadata, "the PDF holds no text")
