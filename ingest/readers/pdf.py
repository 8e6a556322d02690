"""PDF: the text of each page as a person reads it, with page numbers, via PDFium (pypdfium2).

Why PDFium: Korean PDFs saved from web pages carry a web font sliced by ``unicode-range`` into
dozens of small fonts. pypdf reads every slice change as a word gap (``임 종 석  1989 년  2 월``:
0.9 Hangul syllables per space against 3.1 in the source, and BM25 page hit@5 of 0.33 on such files
against 1.00 on plain ones); PDFium, the engine inside Chrome, places characters by their positions
and reads them as written, with every paragraph of the source, and 15–20 times faster than pypdf
on these files. pdfminer.six is clean too but slower than pypdf and drops the middle dot ``·`` of
some CID fonts. Measured in ``benchmarks/pdf_fidelity.py``; PyMuPDF is AGPL and stays out.

Per page, in this order:

1. the page text (PDFium keeps the content stream's order, which is the reading order for what
   word processors and browsers write, columns one after the other);
2. a page whose text layer is garbled (private-use or Latin-1 characters where Korean should be, a
   font without a usable ``ToUnicode`` map: :func:`rabbit_rag.text.quality.garbled_reason`) is left
   out and listed in the metadata as ``unreadable_pages``; a PDF garbled throughout is refused;
3. page furniture (running headers and footers, page numbers, a browser's date, address and
   ``1/3``: :mod:`rabbit_rag.ingest.readers.furniture`) is taken out and counted in ``furniture_lines``;
4. words wrapped across lines are joined again (:func:`~rabbit_rag.ingest.readers.linebreaks.join_broken_words`).

Every page becomes a ``(start, end, page)`` span, so chunks and citations carry their page.

Refused with a clear reason: a truncated file (no ``%%EOF``), a password-protected one (PDFium tries
the empty user password, as every viewer does), one without any text layer (scanned images: OCR is
not in scope), a damaged one PDFium cannot open, and one with a stream that inflates like a
decompression bomb (:func:`refuse_stream_bombs`).

예::

    doc = PdfReader().read(Path("보고서.pdf").read_bytes(), "보고서.pdf")
    doc.pages[1]  # (start, end, 2)
"""

from __future__ import annotations

import re
import threading
import zlib
from typing import Any

from rabbit_rag.errors import DocumentError, EmptyDocumentError
from rabbit_rag.ingest.readers.builder import TextBuilder
from rabbit_rag.ingest.readers.furniture import strip_furniture
from rabbit_rag.ingest.readers.limits import MB, check_deadline, current_limits
from rabbit_rag.ingest.readers.linebreaks import join_broken_words
from rabbit_rag.text import normalize_text
from rabbit_rag.text.quality import garbled_reason
from rabbit_rag.types import Document

PDF_MAGIC = b"%PDF-"
# PDFium is not thread-safe: one document at a time per process (the API may parse from threads)
_PDFIUM_LOCK = threading.Lock()
_SOFT_HYPHEN = re.compile("\x02(?=[a-z])")
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_PIECE = 1 << 16
_TOO_SMALL = MB // 1032  # compressed bytes that cannot inflate past 1 MB
_PLACEHOLDERS = {"untitled", "제목 없음", "제목없음", "(anonymous)", "anonymous", "unspecified", "unknown"}


def _hyphens(text: str) -> str:
    """PDFium joins a line that ends in a hyphen to the next and marks the hyphen U+0002: drop it
    before a lower-case Latin letter (``infor-mation``), keep it as ``-`` elsewhere (``한-러``, ``3-4``)."""
    if "\x02" not in text:
        return text
    return _SOFT_HYPHEN.sub("", text).replace("\x02", "-")


def _title(meta: dict[str, str]) -> str | None:
    title = (meta.get("Title") or "").strip()
    for prefix in ("Microsoft Word - ", "Microsoft PowerPoint - "):
        title = title.removeprefix(prefix)
    if title.lower() in _PLACEHOLDERS:
        return None  # a generator's placeholder: the first line says more
    return title[:200] or None


def _info(meta: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, field in (("author", "Author"), ("subject", "Subject"), ("producer", "Producer")):
        value = (meta.get(field) or "").strip()
        if value and value.lower() not in _PLACEHOLDERS:
            out[key] = value[:200]
    return out


def refuse_stream_bombs(data: bytes, name: str) -> None:
    """Refuse a PDF with a compressed stream that inflates like a decompression bomb.

    PDFium inflates each content, font and object stream whole, and on an allocation failure it
    aborts the process. So before PDFium sees the file, every ``/FlateDecode`` stream that is not an
    image (images are never decoded for text) is inflated here in 64 kB pieces, output discarded,
    under the rule the ZIP containers follow (:mod:`rabbit_rag.ingest.readers.archive`): over 1 MB at a ratio
    above ``max_ratio`` (200:1), or past ``max_unpacked_bytes`` on its own, is a bomb. A stream zlib
    cannot read (encrypted, damaged) is left to PDFium.
    """
    limits = current_limits()
    for m in _STREAM.finditer(data):
        end = data.find(b"endstream", m.end())
        if 0 <= end - m.end() <= _TOO_SMALL:
            continue  # deflate cannot reach 1 MB from this little (at most about 1032:1)
        head = data[max(0, m.start() - 1024) : m.start()]
        obj = head.rfind(b" obj")
        head = head[obj:] if obj >= 0 else head
        if b"Flate" not in head or b"/Image" in head or b">>" not in head[-64:]:
            continue
        check_deadline(name)
        inflater = zlib.decompressobj()
        pos, out = m.end(), 0
        try:
            while not inflater.eof and pos < len(data):
                tail = data[pos : pos + _PIECE]
                pos += len(tail)
                while tail and not inflater.eof:
                    out += len(inflater.decompress(tail, _PIECE))
                    tail = inflater.unconsumed_tail
                    used = pos - m.end() - len(tail)
                    if out > limits.max_unpacked_bytes or (out > MB and out > limits.max_ratio * max(1, used)):
                        raise DocumentError(
                            name,
                            f"a PDF stream inflates to over {out / MB:.1f} MB from {used} bytes "
                            f"(ratio over {limits.max_ratio:g}:1 or past the unpacked-size limit): "
                            "refusing a likely decompression bomb",
                        )
        except zlib.error:
            continue


_fonts_off = False


def text_only_fonts() -> None:
    """Stop PDFium in this process from matching fonts against the system's font files.

    Text extraction never needs glyph outlines: characters come from the PDF's own encodings,
    ``ToUnicode`` maps and CMaps, widths from its ``/W`` arrays. But for a font the PDF does not
    embed (reportlab's ``HYSMyeongJo-Medium``, older Acrobat output) PDFium looks for a substitute
    among the installed fonts on every page, which cost about 0.25 s a page here with the Noto CJK
    collections installed, against 0.02 s without (the same text). The parse worker
    (:mod:`rabbit_rag.ingest.readers.isolation`) calls this in its child; call it yourself in a process that
    only extracts text. It is process-wide: a process that also renders PDFs should not call it.
    """
    global _fonts_off
    if not _fonts_off:
        import pypdfium2.raw as pdfium_c

        with _PDFIUM_LOCK:
            pdfium_c.FPDF_SetSystemFontInfo(None)
            _fonts_off = True


def _script(ch: str) -> str:
    if "\uac00" <= ch <= "\ud7a3":
        return "hangul"
    return "latin" if ch.isascii() and ch.isalnum() else ""


def _without_autospace(textpage: Any, text: str) -> str:
    """Drop the spaces PDFium made up at Korean-Latin/digit boundaries where the writer left only a gap.

    Word and LibreOffice put a small gap between Korean and Latin letters or digits (자동 간격,
    "autospace"): ``2010년`` is drawn ``2010 년`` but holds no space character. PDFium inserts a
    space at every visible gap and flags it as generated. On a page whose word spaces are written
    as characters (word processors do; browsers do not), a generated space between a Hangul
    syllable and a Latin letter or digit is such a gap, not a word break. Measured on
    LibreOffice exports in ``benchmarks/pdf_fidelity.py``.
    """
    import pypdfium2.raw as pdfium_c

    n = len(text)
    if n != textpage.count_chars():
        return text  # PDFium's text and character views differ (rare): leave the text as it is
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    candidates = [
        i for i in spaces
        if 0 < i < n - 1 and {_script(text[i - 1]), _script(text[i + 1])} == {"hangul", "latin"}
    ]  # fmt: skip
    if not candidates:
        return text
    sample = spaces[:: max(1, len(spaces) // 40)]
    written = sum(1 for i in sample if not pdfium_c.FPDFText_IsGenerated(textpage, i))
    if written < 0.5 * len(sample):
        return text  # spaces are made up everywhere on this page (a browser print): nothing to tell apart
    drop = {i for i in candidates if pdfium_c.FPDFText_IsGenerated(textpage, i) == 1}
    return "".join(ch for i, ch in enumerate(text) if i not in drop) if drop else text


def _page_texts(data: bytes, name: str) -> tuple[list[str], dict[str, str]]:
    """The raw text of every page and the document information, read with PDFium."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as e:
            if e.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
                raise DocumentError(
                    name, "the PDF is encrypted with a password; save an unprotected copy and ingest that"
                ) from e
            if e.err_code == pdfium.raw.FPDF_ERR_SECURITY:
                raise DocumentError(name, f"the PDF uses an unsupported security handler ({e})") from e
            raise DocumentError(name, f"the PDF is damaged and cannot be read ({e})") from e
        try:
            texts: list[str] = []
            for i in range(len(pdf)):
                check_deadline(name)
                try:
                    page = pdf[i]
                except pdfium.PdfiumError as e:
                    raise DocumentError(name, f"page {i + 1} of the PDF is damaged and cannot be read ({e})") from e
                try:
                    textpage = page.get_textpage()
                    try:
                        texts.append(_without_autospace(textpage, textpage.get_text_bounded()))
                    finally:
                        textpage.close()
                finally:
                    page.close()
            try:
                meta = pdf.get_metadata_dict(skip_empty=True)
            except (pdfium.PdfiumError, UnicodeDecodeError):
                meta = {}  # a damaged /Info dictionary costs the title, not the text
        finally:
            pdf.close()
    return texts, meta


class PdfReader:
    """``.pdf``: text per page, page spans, title and author from the document info."""

    name = "pdf"
    extensions: tuple[str, ...] = (".pdf",)

    def sniff(self, head: bytes, name: str) -> bool:
        # the header may follow a little junk (allowed within the first 1024 bytes)
        return head.find(PDF_MAGIC, 0, 1024) >= 0

    def read(self, data: bytes, name: str) -> Document:
        if PDF_MAGIC not in data[:1024]:
            raise DocumentError(name, "not a PDF: no %PDF- header in the first 1024 bytes")
        if b"%%EOF" not in data[-4096:]:
            raise DocumentError(name, "the PDF is truncated (no %%EOF marker at its end); download or copy it again")
        refuse_stream_bombs(data, name)
        raw, meta = _page_texts(data, name)
        n_pages = len(raw)
        if n_pages == 0:
            raise EmptyDocumentError(name, "the PDF has no pages")
        if not any(text.strip() for text in raw):
            raise DocumentError(
                name,
                f"the PDF has no text layer ({n_pages} page(s) of images, e.g. a scan); OCR is not in scope: "
                "run OCR first (e.g. ocrmypdf) and ingest the result",
            )
        unreadable: list[dict[str, Any]] = []
        page_lines: list[list[str]] = []
        for number, text in enumerate(raw, start=1):
            reason = garbled_reason(text)
            if reason is not None:
                unreadable.append({"page": number, "reason": reason})
                page_lines.append([])
            else:
                page_lines.append(normalize_text(_hyphens(text)).split("\n"))
        if unreadable and len(unreadable) == sum(1 for text in raw if text.strip()):
            pages = ", ".join(str(u["page"]) for u in unreadable[:20]) + (" ..." if len(unreadable) > 20 else "")
            raise DocumentError(
                name,
                f"the PDF's text layer is unreadable on every page with text (pages {pages}: "
                f"{unreadable[0]['reason']}); the fonts do not say which characters they draw. "
                "Run OCR over it (e.g. ocrmypdf --force-ocr) and ingest the result",
            )
        page_lines, furniture = strip_furniture(page_lines)
        builder = TextBuilder()
        for number, text in enumerate(join_broken_words(page_lines), start=1):
            builder.page(text, number)
        metadata: dict[str, Any] = {"format": "pdf", "page_count": n_pages, **_info(meta)}
        blank = n_pages - len(builder.pages) - len(unreadable)
        if blank > 0:
            metadata["pages_without_text"] = blank  # e.g. scanned pages inside a digital PDF: worth an OCR pass
        if unreadable:
            metadata["unreadable_pages"] = unreadable
        if furniture:
            metadata["furniture_lines"] = len(furniture)
            metadata["furniture_examples"] = list(dict.fromkeys(f.line for f in furniture))[:5]
        return builder.document(name, _title(meta), metadata, "the PDF holds no text")
