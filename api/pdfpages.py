"""PDF page images with a cited quote highlighted, rendered by PDFium in a killable child process.

A citation says which characters of the *normalized* document text it quotes and on which page.
To show the quote on the page itself, :func:`render_page` opens the original PDF with PDFium
(pypdfium2), reads the page's characters and their boxes from PDFium's text page, finds the quote
among them (:func:`locate`: whitespace, hyphens, NFKC and case differences are ignored, because the
document text is PDFium's text after the reader's repairs: lines joined, spacing repaired, page
furniture taken out, a line-end hyphen PDFium marks U+0002 kept as ``-`` or dropped inside a wrapped
Latin word), paints translucent boxes over the matched characters and encodes a PNG.

The renderer keeps PDFium's system font matching on (unlike the parse worker's
:func:`~rabbit_rag.ingest.readers.pdf.text_only_fonts`): a PDF whose Korean font is not embedded
needs an installed font to be drawn at all. It runs in its own process, so the reader's PDFium lock
(one PDFium per process) does not concern it.

PDFs come from users, and PDFium is a C library: a hostile file could hang it, exhaust memory or
crash it. So the rendering runs in one long-lived child process (:class:`PageRenderer`, the same
design as the ingest's parse worker) under an address-space limit and a time limit; a child that
times out or dies is killed and replaced, and the request fails alone with the reason. PDFium is
not thread-safe either, and the child serves one page at a time.

예::

    with PageRenderer(memory_mb=2048, timeout_s=30) as r:
        png, info = r.render(Path("규정.pdf"), 2, quote="연구 예산은 삼백이십억 원이며", width=1000)
    info["match"]     # 'exact'
"""

from __future__ import annotations

import difflib
import io
import json
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rabbit_rag.childproc import ChildTimeout, FramedChild, child_pipes, died_how, read_frame, write_frame
from rabbit_rag.errors import DocumentError, InvalidInputError

MIN_WIDTH, MAX_WIDTH, DEFAULT_WIDTH = 200, 2000, 1000
MAX_PIXELS = 12_000_000  # a 2000 px wide rendering of a very tall page is cut to this many pixels
HIGHLIGHT_FILL = (255, 200, 0, 96)  # translucent yellow over the quoted characters
HIGHLIGHT_EDGE = (214, 120, 0, 255)  # and an orange frame, visible on yellow paper too
MIN_FUZZY_RATIO = 0.6  # an approximate match must cover this share of the quote's characters
_GRACE_S = 1.0
_CHILD = "from rabbit_rag.api.pdfpages import serve; serve({memory_mb})"


class PageNotFoundError(InvalidInputError):
    """A page number outside the document (the API answers 404)."""

    http_status = 404


# -- finding the quote among the page's characters -----------------------------------------------------
_HYPHENS = frozenset("-\u2010")  # NFKC folds the non-breaking hyphen U+2011 into U+2010


def squash(chars: Sequence[str]) -> tuple[str, list[int]]:
    """The characters without whitespace and hyphens, NFKC-normalized and case-folded, and for each
    character of the result the index of the input character it came from. The document text and
    PDFium's characters differ mostly in spaces and line breaks (and ligatures, full-width forms);
    a line-end hyphen is U+0002 among PDFium's characters but ``-`` (``한-러``) or nothing
    (``infor-mation`` → ``information``) in the text: this makes them comparable.

    예: ``squash(["가", " ", "ﬁ", "-"])`` → ``("가fi", [0, 2, 2])``
    """
    out: list[str] = []
    where: list[int] = []
    for i, c in enumerate(chars):
        for d in unicodedata.normalize("NFKC", c).casefold():
            if d.isspace() or d in _HYPHENS or unicodedata.category(d) in ("Cc", "Cf"):
                continue
            out.append(d)
            where.append(i)
    return "".join(out), where


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


@dataclass(frozen=True, slots=True)
class Match:
    """Indexes of the page's characters that the quote covers, and how they were found:
    ``exact`` (the whole quote, whitespace aside), ``approximate`` (most of it) or ``none``."""

    indexes: tuple[int, ...]
    kind: str


def locate(chars: Sequence[str], quote: str, before: str = "", after: str = "") -> Match:
    """Find ``quote`` among a page's characters (one string per PDFium character).

    ``before``/``after`` are the document text around the quote: when the quote occurs more than once
    on the page (a repeated heading, ``제1조``), the occurrence whose neighbourhood matches them best is
    chosen. When the exact quote is not there (the extractors disagree on a few characters), the
    matching runs of three or more characters are used if they cover at least 60% of the quote, and
    the passage they span (extended to where the quote's ends fall) is returned.

    예: ``locate(list("예산은 삼백 억"), "삼백억").kind`` → ``'exact'``
    """
    page, where = squash(chars)
    q, _ = squash(quote)
    if not q or not page:
        return Match((), "none")
    hits: list[int] = []
    i = page.find(q)
    while i >= 0:
        hits.append(i)
        i = page.find(q, i + 1)
    if hits:
        if len(hits) == 1:
            best = hits[0]
        else:
            b, _ = squash(before)
            a, _ = squash(after)
            best = max(hits, key=lambda h: _common_suffix(page[:h], b) + _common_prefix(page[h + len(q) :], a))
        return Match(tuple(sorted({where[j] for j in range(best, best + len(q))})), "exact")
    sm = difflib.SequenceMatcher(None, page, q, autojunk=False)
    blocks = [m for m in sm.get_matching_blocks() if m.size >= 3]
    if not blocks:
        return Match((), "none")
    # the matching blocks are ordered in both strings; keep the densest window of them, so stray
    # three-letter coincidences elsewhere on the page are not painted
    best_cover, best_blocks = 0, blocks[:1]
    for s in range(len(blocks)):
        for e in range(s, len(blocks)):
            span = blocks[e].a + blocks[e].size - blocks[s].a
            if span > 2 * len(q):
                break
            cover = sum(m.size for m in blocks[s : e + 1])
            if cover > best_cover:
                best_cover, best_blocks = cover, blocks[s : e + 1]
    if best_cover < MIN_FUZZY_RATIO * len(q):
        return Match((), "none")
    # paint the whole passage, gaps included: from where the quote's start falls to where its end falls
    first, last = best_blocks[0], best_blocks[-1]
    lo = max(0, first.a - first.b)
    hi = min(len(page), last.a + last.size + (len(q) - last.b - last.size))
    return Match(tuple(sorted({where[j] for j in range(lo, hi)})), "approximate")


Box = tuple[float, float, float, float]  # left, top, right, bottom in device pixels


def _same_run(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether box ``b`` continues the line of box ``a``: side by side on one row (horizontal text),
    or one under the other in one column (vertical text, or a page shown rotated)."""
    height = max(a[3] - a[1], b[3] - b[1])
    width = max(a[2] - a[0], b[2] - b[0])
    rows = min(a[3], b[3]) - max(a[1], b[1])
    cols = min(a[2], b[2]) - max(a[0], b[0])
    gap_x = max(b[0] - a[2], a[0] - b[2])
    gap_y = max(b[1] - a[3], a[1] - b[3])
    return (rows > 0.5 * height and gap_x < 1.5 * height) or (cols > 0.5 * width and gap_y < 1.5 * width)


def merge_boxes(boxes: Sequence[Box]) -> list[Box]:
    """Character boxes (in reading order) merged into one rectangle per line run, so the highlight
    reads as marker strokes instead of a box per glyph."""
    out: list[list[float]] = []
    for left, top, right, bottom in boxes:
        if right - left <= 0 or bottom - top <= 0:
            continue
        if out and _same_run(out[-1], (left, top, right, bottom)):
            last = out[-1]
            last[0], last[1] = min(last[0], left), min(last[1], top)
            last[2], last[3] = max(last[2], right), max(last[3], bottom)
            continue
        out.append([left, top, right, bottom])
    return [(a, b, c, d) for a, b, c, d in out]


# -- rendering (runs in the child) ---------------------------------------------------------------------
def render_page(
    pdf: str | Path | bytes,
    page_no: int,
    quote: str = "",
    before: str = "",
    after: str = "",
    width: int = DEFAULT_WIDTH,
) -> tuple[bytes, dict[str, Any]]:
    """Render page ``page_no`` (1-based) of ``pdf`` about ``width`` pixels wide, with ``quote``
    highlighted; the PNG and ``{"match", "pages", "width", "height", "boxes"}``. Runs PDFium in this
    process: the API calls it through :class:`PageRenderer`."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from PIL import Image, ImageDraw

    width = max(MIN_WIDTH, min(MAX_WIDTH, int(width)))
    doc = pdfium.PdfDocument(pdf)
    try:
        n_pages = len(doc)
        if not 1 <= page_no <= n_pages:
            raise PageNotFoundError(f"page {page_no} does not exist: the PDF has {n_pages} page(s)")
        page = doc[page_no - 1]
        try:
            pw, ph = page.get_size()
            scale = width / pw if pw > 0 else 1.0
            if pw * ph * scale * scale > MAX_PIXELS:
                scale = (MAX_PIXELS / (pw * ph)) ** 0.5
            bitmap = page.render(scale=scale, may_draw_forms=True)
            image = bitmap.to_pil().convert("RGB")
            match = Match((), "none")
            device: list[Box] = []
            if quote.strip():
                text = page.get_textpage()
                try:
                    n = text.count_chars()
                    chars = [chr(pdfium_c.FPDFText_GetUnicode(text.raw, i) or 0x20) for i in range(n)]
                    match = locate(chars, quote, before, after)
                    dx, dy = ctypes.c_int(), ctypes.c_int()

                    def to_device(x: float, y: float) -> tuple[int, int]:
                        # the page's own /Rotate and crop box, exactly as the rendering applied them
                        pdfium_c.FPDF_PageToDevice(
                            page.raw, 0, 0, image.width, image.height, 0, x, y, ctypes.byref(dx), ctypes.byref(dy)
                        )
                        return dx.value, dy.value

                    for i in match.indexes:
                        if chars[i].isspace():
                            continue
                        left, bottom, right, top = text.get_charbox(i, loose=True)
                        (x0, y0), (x1, y1) = to_device(left, top), to_device(right, bottom)
                        device.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
                finally:
                    text.close()
            boxes = merge_boxes(device)
            if boxes:
                overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
                draw = ImageDraw.Draw(overlay)
                pad = max(1, round(scale))
                for left, top, right, bottom in boxes:
                    draw.rectangle(
                        (left - pad, top - pad, right + pad, bottom + pad),
                        fill=HIGHLIGHT_FILL,
                        outline=HIGHLIGHT_EDGE,
                        width=max(1, round(scale)),
                    )
                image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
            buf = io.BytesIO()
            image.save(buf, format="PNG", optimize=False, compress_level=6)
            info = {
                "match": match.kind if boxes else "none",
                "pages": n_pages,
                "width": image.width,
                "height": image.height,
                "boxes": [[round(v) for v in b] for b in boxes],
            }
            return buf.getvalue(), info
        finally:
            page.close()
    finally:
        doc.close()


# -- the child process -----------------------------------------------------------------------------------
def serve(memory_mb: int) -> None:
    """The child's loop: a JSON request frame in; a JSON answer frame (and the PNG frame) out."""
    stdin, out = child_pipes(memory_mb)
    while True:
        try:
            req = json.loads(read_frame(stdin))
        except EOFError:
            return
        png = b""
        fatal = False
        try:
            png, info = render_page(req["path"], req["page"], req["quote"], req["before"], req["after"], req["width"])
            answer: dict[str, Any] = {"ok": True, "info": info}
        except PageNotFoundError as e:
            answer = {"ok": False, "error": "PageNotFoundError", "reason": str(e)}
        except MemoryError:
            answer = {"ok": False, "error": "DocumentError", "reason": "rendering needed more than the memory limit"}
            fatal = True
        except Exception as e:  # PDFium refusing the file, a damaged page: report and keep serving
            answer = {"ok": False, "error": "DocumentError", "reason": f"{type(e).__name__}: {e}"}
        write_frame(out, json.dumps(answer, ensure_ascii=False).encode())
        if answer["ok"]:
            write_frame(out, png)
        out.flush()
        if fatal:
            return


class PageRenderer:
    """Renders page images in a child process with hard time and memory limits; one page at a time.

    ``command`` replaces the child's command line (tests of a stuck or crashing renderer).
    """

    def __init__(self, memory_mb: int | None = 2048, timeout_s: float = 30.0, command: Sequence[str] | None = None):
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        self.child = FramedChild(_CHILD, memory_mb, command)
        self._lock = threading.Lock()
        self.renders = 0  # pages rendered by this renderer (the cache's tests count them)

    def __enter__(self) -> PageRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self.child.close()

    def render(
        self, path: Path, page: int, quote: str = "", before: str = "", after: str = "", width: int = DEFAULT_WIDTH
    ) -> tuple[bytes, dict[str, Any]]:
        """The PNG and its info (see :func:`render_page`); :class:`PageNotFoundError` for a page the PDF
        does not have, :class:`DocumentError` (naming the file) for anything else that goes wrong."""
        req = {"path": str(path), "page": page, "quote": quote, "before": before, "after": after, "width": width}
        with self._lock:
            try:
                self.child.send(json.dumps(req, ensure_ascii=False).encode())
                deadline = time.monotonic() + self.timeout_s + _GRACE_S
                answer = json.loads(self.child.receive(deadline))
                png = self.child.receive(deadline) if answer.get("ok") else b""
            except ChildTimeout:
                raise DocumentError(
                    path.name, f"rendering the page took longer than {self.timeout_s:g} s (the renderer was stopped)"
                ) from None
            except (BrokenPipeError, EOFError, OSError) as e:
                code = self.child.kill(grace_s=1.0)
                raise DocumentError(
                    path.name,
                    f"the page renderer died ({died_how(code)}) on this PDF; the file is likely malformed"
                    + (
                        f" or needed more than {self.memory_mb} MB (RABBIT_RAG_PARSE_MEMORY_MB)"
                        if self.memory_mb
                        else ""
                    ),
                ) from e
        if not answer.get("ok"):
            if answer.get("error") == "PageNotFoundError":
                raise PageNotFoundError(answer.get("reason") or "no such page")
            raise DocumentError(path.name, f"the page could not be rendered: {answer.get('reason')}")
        self.renders += 1
        return png, answer["info"]
