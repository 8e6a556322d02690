"""Page images with the quote highlighted: how often the quote is found on the page, and how long a page takes.

For every PDF of ``--pdf-dir`` (e.g. a folder of Korean PDFs printed from web pages; without it, a
generated Korean PDF: the constitution wrapped at 40 characters, 40 lines a page, 12 pages), the PDF is read with our
reader (pypdf, the text the index keeps); from each page's text, sentences are taken as quotes
(what a citation quotes: up to ``--per-page`` sentences of 10+ characters) and searched for on the
same page among PDFium's characters (:func:`api.pdfpages.locate`). It prints the share found
exactly (whitespace and NFKC aside), approximately, or not at all; then the time of one page render
with the highlight (in process, and through the killable child process the API uses, first call
included), medians over the pages.

    python benchmarks/page_highlight.py [--per-page 3] [--width 1000] [--pdf-dir DIR]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rabbit_rag.api.pdfpages import PageRenderer, locate, render_page  # noqa: E402
from rabbit_rag.ingest.readers import read_bytes  # noqa: E402
from rabbit_rag.ingest.readers.limits import ReadLimits  # noqa: E402

SENTENCE = re.compile(r"[^.!?。]{10,300}?[.!?。]")  # may run over line breaks, as citations do


def generated_pdfs(out: Path) -> list[Path]:
    from tests.ingest.docgen import korean_pdf, wrap_chars

    text = (ROOT / "samples" / "constitution.txt").read_text(encoding="utf-8")
    lines = wrap_chars(" ".join(text.split()), 40)[: 40 * 30]
    pages = [lines[i : i + 40] for i in range(0, len(lines), 40)]
    p = out / "constitution.pdf"
    p.write_bytes(korean_pdf(pages))
    return [p]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-page", type=int, default=3, help="quotes taken from each page")
    ap.add_argument("--width", type=int, default=1000, help="image width in pixels")
    ap.add_argument("--pdf-dir", type=Path, default=None, help="a folder of PDFs (default: a generated one)")
    args = ap.parse_args()

    import tempfile

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    tmp = Path(tempfile.mkdtemp(prefix="page-highlight-"))
    if args.pdf_dir is not None and not args.pdf_dir.is_dir():
        sys.exit(f"--pdf-dir {args.pdf_dir}: not a folder")
    pdfs = sorted(args.pdf_dir.glob("*.pdf")) if args.pdf_dir else generated_pdfs(tmp)
    if not pdfs:
        sys.exit(f"--pdf-dir {args.pdf_dir}: no *.pdf files in it")
    print(f"{len(pdfs)} PDF(s) from {args.pdf_dir or 'a generated PDF of the constitution'}")
    kinds: Counter[str] = Counter()
    misses: list[str] = []
    locate_ms: list[float] = []
    jobs: list[tuple[Path, int, str]] = []
    for path in pdfs:
        doc = read_bytes(path.read_bytes(), path.name, ReadLimits(timeout_s=None))
        pdf = pdfium.PdfDocument(path)
        for start, end, page_no in doc.pages:
            quotes = [m.group(0).strip() for m in SENTENCE.finditer(doc.text[start:end])][: args.per_page]
            if not quotes:
                continue
            text = pdf[page_no - 1].get_textpage()
            chars = [chr(pdfium_c.FPDFText_GetUnicode(text.raw, i) or 0x20) for i in range(text.count_chars())]
            text.close()
            for q in quotes:
                t0 = time.perf_counter()
                m = locate(chars, q)
                locate_ms.append((time.perf_counter() - t0) * 1000)
                kinds[m.kind] += 1
                if m.kind == "none" and len(misses) < 5:
                    misses.append(f"{path.name} p{page_no}: {q[:60]!r}")
            jobs.append((path, page_no, quotes[0]))
        pdf.close()
    total = sum(kinds.values())
    print(f"quotes: {total} from {len(jobs)} pages")
    for k in ("exact", "approximate", "none"):
        print(f"  {k:12s} {kinds[k]:5d}  {kinds[k] / max(total, 1):6.1%}")
    for line in misses:
        print(f"  not found: {line}")
    print(f"locate: median {statistics.median(locate_ms):.2f} ms per quote")

    sample = jobs[:: max(1, len(jobs) // 40)][:40]
    inproc = []
    for path, page_no, q in sample:
        t0 = time.perf_counter()
        render_page(path, page_no, q, width=args.width)
        inproc.append((time.perf_counter() - t0) * 1000)
    child = []
    with PageRenderer(timeout_s=60) as r:
        t0 = time.perf_counter()
        r.render(sample[0][0], sample[0][1], sample[0][2], width=args.width)
        first = (time.perf_counter() - t0) * 1000
        for path, page_no, q in sample:
            t0 = time.perf_counter()
            r.render(path, page_no, q, width=args.width)
            child.append((time.perf_counter() - t0) * 1000)
    print(f"render at {args.width} px wide, {len(sample)} pages (median):")
    print(f"  in process          {statistics.median(inproc):7.1f} ms")
    print(
        f"  child process       {statistics.median(child):7.1f} ms   (first call, starting the child: {first:.0f} ms)"
    )


if __name__ == "__main__":
    main()
