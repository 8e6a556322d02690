"""Reader speed: PDF pages/s (pypdf, PDFium, ours, pdfminer.six side by side) and HWPX/HWP MB/s.

Inputs are generated the same way the tests generate theirs (``tests/ingest/docgen.py``):

- a 200-page Korean PDF: the Korean constitution (``samples/constitution.txt``) wrapped at 40
  characters regardless of word boundaries (글자 단위, Word's default for Korean), 40 lines a page,
  in reportlab's built-in CID font ``HYSMyeongJo-Medium`` (``UniKS-UCS2-H`` encoding);
- an HWPX whose section repeats the constitution's paragraphs (plus a table every 50 paragraphs)
  up to about 5 MB of XML; and the HWP/HWPX files of ``--hwp-dir`` when given.

For the PDF it prints pages/s for raw pypdf ``extract_text``, for the reader on main before PDFium
(pypdf plus Kiwi line joining), for raw PDFium text (pypdfium2), for our ``PdfReader`` now (PDFium,
page furniture, line joining, the spacing net; Kiwi is warmed first, as it is in an ingest), and
for pdfminer.six ``extract_text``; and how much of the source text each recovered (share of the
source's non-space characters found in order, per page, via difflib). Medians over ``--rounds``.
``benchmarks/pdf_fidelity.py`` measures the same readers on web-saved Korean PDFs. PDFium runs as
in the ingest's parse worker, without system font matching (``--system-fonts`` turns it back on:
this PDF's font is not embedded, and matching it against installed fonts dominates PDFium's time).

    python benchmarks/reader_speed.py [--rounds 3] [--pages 200]
"""

from __future__ import annotations

import argparse
import difflib
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pdf_fidelity import pdfium_raw, pypdf_main  # noqa: E402

from rabbit_rag.ingest.readers import read_bytes  # noqa: E402
from rabbit_rag.ingest.readers.limits import ReadLimits  # noqa: E402
from rabbit_rag.ingest.readers.pdf import text_only_fonts  # noqa: E402
from tests.ingest.docgen import hwpx_section_xml, korean_hwpx, korean_pdf, wrap_chars  # noqa: E402

NO_LIMIT = ReadLimits(timeout_s=None, max_unpacked_bytes=10**10)


def median_time(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def recovered(source_pages: list[str], got_pages: list[str]) -> float:
    """Share of the source's non-space characters found in order in the extracted text."""
    hit = total = 0
    for src, got in zip(source_pages, got_pages, strict=True):
        a, b = "".join(src.split()), "".join(got.split())
        hit += sum(m.size for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
        total += len(a)
    return hit / max(1, total)


def pdf_benchmark(n_pages: int, rounds: int) -> None:
    import pypdf
    from pdfminer.high_level import extract_text as pdfminer_text

    text = " ".join((ROOT / "samples" / "constitution.txt").read_text(encoding="utf-8").split())
    lines = wrap_chars(text * (1 + n_pages * 40 * 40 // len(text)), 40)[: n_pages * 40]
    pages = [lines[i : i + 40] for i in range(0, len(lines), 40)]
    data = korean_pdf(pages, title="대한민국헌법", font_size=10)
    source = ["".join(p) for p in pages]
    print(f"PDF: {n_pages} pages, {len(data) / 1e6:.2f} MB, Korean CID font (HYSMyeongJo-Medium)")

    def raw_pypdf() -> list[str]:
        r = pypdf.PdfReader(io.BytesIO(data))
        return [p.extract_text() or "" for p in r.pages]

    def main_reader() -> list[str]:
        doc = pypdf_main(data, "bench.pdf")
        return [doc.text[s:e] for s, e, _ in doc.pages]

    def raw_pdfium() -> list[str]:
        doc = pdfium_raw(data, "bench.pdf")
        return [doc.text[s:e] for s, e, _ in doc.pages]

    def ours() -> list[str]:
        doc = read_bytes(data, "bench.pdf", NO_LIMIT)
        return [doc.text[s:e] for s, e, _ in doc.pages]

    def pdfminer() -> list[str]:
        return pdfminer_text(io.BytesIO(data)).split("\f")[:n_pages]

    ours()  # warm Kiwi (loaded once per process in an ingest too)
    rows = []
    readers = (
        ("pypdf extract_text", raw_pypdf),
        ("pypdf + joining (main)", main_reader),
        ("PDFium text", raw_pdfium),
        ("rabbit-rag PdfReader", ours),
        ("pdfminer.six", pdfminer),
    )
    for label, fn in readers:
        t = median_time(fn, rounds)
        rows.append((label, t, recovered(source, fn())))
    print(f"  {'extractor':<22} {'median s':>9} {'pages/s':>9} {'text recovered':>15}")
    for label, t, share in rows:
        print(f"  {label:<22} {t:>9.2f} {n_pages / t:>9.1f} {share:>14.2%}")
    doc = read_bytes(data, "bench.pdf", NO_LIMIT)
    words_src = set(text.split())
    words_got = doc.text.split()
    print(
        f"  words in our text that are words of the source: {sum(w in words_src for w in words_got) / len(words_got):.2%}"
    )


def hwpx_benchmark(rounds: int, hwp_dir: Path | None) -> None:
    paras = [p for p in (ROOT / "samples" / "constitution.txt").read_text(encoding="utf-8").splitlines() if p.strip()]
    body: list[str] = []
    size = 0
    while size < 5_000_000:
        for i, p in enumerate(paras):
            body.append(p)
            size += len(p.encode()) + 120
            if i % 50 == 49:
                body.append("")
    xml = hwpx_section_xml([p for p in body if p], table=[["구분", "내용"]] * 200)
    data = korean_hwpx([xml], title="헌법 반복")
    t = median_time(lambda: read_bytes(data, "bench.hwpx", NO_LIMIT), rounds)
    print(f"HWPX (generated): {len(data) / 1e6:.2f} MB file, {len(xml.encode()) / 1e6:.2f} MB XML")
    print(f"  {t:.3f} s median: {len(data) / 1e6 / t:.1f} MB/s of file, {len(xml.encode()) / 1e6 / t:.1f} MB/s of XML")
    for ext in ("hwpx", "hwp") if hwp_dir else ():
        files = [f for f in sorted(hwp_dir.glob(f"*.{ext}")) if "password" not in f.name and "table.hwp" not in f.name]
        if not files:
            continue
        blobs = [(f.name, f.read_bytes()) for f in files]
        total = sum(len(b) for _, b in blobs)
        t = median_time(lambda blobs=blobs: [read_bytes(b, n, NO_LIMIT) for n, b in blobs], rounds)
        print(
            f"{ext.upper()} samples ({len(files)} files, {total / 1e3:.0f} kB): {t * 1e3:.1f} ms median, {total / 1e6 / t:.2f} MB/s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument(
        "--system-fonts", action="store_true", help="let PDFium match system fonts (the worker turns it off)"
    )
    ap.add_argument("--hwp-dir", type=Path, default=None, help="Also time the .hwp/.hwpx files of this folder.")
    args = ap.parse_args()
    if not args.system_fonts:
        text_only_fonts()  # as the ingest's parse worker does
    pdf_benchmark(args.pages, args.rounds)
    hwpx_benchmark(args.rounds, args.hwp_dir)


if __name__ == "__main__":
    main()
