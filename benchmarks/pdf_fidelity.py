"""PDF text fidelity and retrieval, side by side in one run: which extractor reads Korean PDFs as people do.

Inputs:

- ``../shared/data/pdf_web``: 24 KorQuAD articles printed to PDF by Chromium, 16 the way web pages
  are saved (a web font sliced by unicode-range: every slice is its own PDF font) and 8 plain
  controls, with 623 questions and the page that answers each;
- PDFs generated here from other KorQuAD articles (source text known), cached in ``--work``:
  Word-style (reportlab, CID font, wrapped at any syllable, running title and ``- n -``), exported
  by LibreOffice from DOCX (header and page-number footer; one in two columns) when ``soffice`` is
  installed, saved by Chromium from HTML with a sliced web font and the browser's own header and
  footer (date, title, address, ``n/m``; one in CSS columns) when ``chromium`` is installed, and
  two columns drawn line by line across the page (a layout PDFium keeps in stream order).

PDFium runs as in the ingest's parse worker, without system font matching
(:func:`rabbit_rag.ingest.readers.pdf.text_only_fonts`). Extractors: pypdf as the reader on main (``extract_text`` + line joining), the same plus the
spacing safety net, pdfminer.six (+ line joining), raw PDFium text, and rabbit-rag's reader now
(PDFium + furniture + line joining + spacing net). Figures:

- paragraphs matched: share of source paragraphs found in the text, spaces ignored;
- word boundaries: precision / recall / F1 of the source's spaces inside matched paragraphs (a line
  break inside a word counts as a wrong boundary);
- Hangul syllables per whitespace run, extracted vs source;
- furniture lines left in the text (generated PDFs);
- pages/s (median of ``--rounds``, Kiwi warmed first);
- BM25 page hit@5 over all pdf_web questions: the real ingest (chunks, Kiwi BM25, ``--embed-model
  none``), a hit when one of the top 5 chunks is from the right file and page;
- the spacing net on text that must not change: KorQuAD contexts, the constitution and the bills
  read as ``.txt`` files through ``read_bytes``, byte for byte; and BM25 on the 16 constitution
  questions over ``samples/`` read with the net on and off.

    python benchmarks/pdf_fidelity.py [--rounds 3] [--generated-rounds 1] [--work /tmp/rabbit-rag-pdf-bench]
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import io
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rabbit_rag.ingest.readers import read_bytes  # noqa: E402
from rabbit_rag.ingest.readers.builder import TextBuilder  # noqa: E402
from rabbit_rag.ingest.readers.limits import ReadLimits  # noqa: E402
from rabbit_rag.ingest.readers.linebreaks import join_broken_words  # noqa: E402
from rabbit_rag.ingest.readers.pdf import text_only_fonts  # noqa: E402
from rabbit_rag.ingest.readers.respacing import repair_document_spacing  # noqa: E402
from rabbit_rag.text import normalize_text  # noqa: E402
from rabbit_rag.text.spacing import hangul_per_space  # noqa: E402
from rabbit_rag.types import Document  # noqa: E402
from tests.ingest.docgen import paged_pdf, two_column_pdf, wrap_chars  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
NO_LIMIT = ReadLimits(timeout_s=None, max_unpacked_bytes=10**10)
Reader = Callable[[bytes, str], Document]


# --- the extractors -----------------------------------------------------------------------------------


def _paged(name: str, pages: Sequence[str], fmt: str) -> Document:
    builder = TextBuilder()
    for number, text in enumerate(pages, start=1):
        builder.page(text, number)
    return builder.document(name, None, {"format": fmt, "page_count": len(pages)}, "no text")


def pypdf_main(data: bytes, name: str) -> Document:
    """The PDF reader on main before this change: pypdf ``extract_text`` per page, then line joining."""
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    lines = [[line.rstrip("\r") for line in (p.extract_text() or "").split("\n")] for p in reader.pages]
    return _paged(name, join_broken_words(lines), "pdf")


def pypdf_repaired(data: bytes, name: str) -> Document:
    return repair_document_spacing(pypdf_main(data, name))


def pdfminer_joined(data: bytes, name: str) -> Document:
    from pdfminer.high_level import extract_text

    pages = extract_text(io.BytesIO(data)).split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return _paged(name, join_broken_words([normalize_text(p).split("\n") for p in pages]), "pdf")


def pdfium_raw(data: bytes, name: str) -> Document:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        texts = [normalize_text(pdf[i].get_textpage().get_text_bounded()) for i in range(len(pdf))]
    finally:
        pdf.close()
    return _paged(name, texts, "pdf")


def rabbit_rag_now(data: bytes, name: str) -> Document:
    return read_bytes(data, name, NO_LIMIT)


EXTRACTORS: dict[str, Reader] = {
    "pypdf (main)": pypdf_main,
    "pypdf + spacing net": pypdf_repaired,
    "pdfminer.six + joining": pdfminer_joined,
    "PDFium raw": pdfium_raw,
    "rabbit-rag now (PDFium)": rabbit_rag_now,
}


# --- fidelity --------------------------------------------------------------------------------------


@dataclass
class Case:
    """One PDF and the text it was made from."""

    name: str
    group: str
    data: bytes
    paragraphs: list[str]
    furniture: list[str] = field(default_factory=list)
    pages: int = 0


@dataclass
class Score:
    matched: int = 0
    paragraphs: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    furniture_left: int = 0
    text: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def f1(self) -> float:
        p = self.tp / max(1, self.tp + self.fp)
        r = self.tp / max(1, self.tp + self.fn)
        return 2 * p * r / max(1e-9, p + r)

    @property
    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)


def _boundaries(text: str) -> tuple[str, list[bool]]:
    """Non-space characters, and for each whether whitespace follows it."""
    chars: list[str] = []
    gaps: list[bool] = []
    for ch in text:
        if ch.isspace():
            if gaps:
                gaps[-1] = True
        else:
            chars.append(ch)
            gaps.append(False)
    return "".join(chars), gaps


def fidelity(doc: Document, case: Case) -> Score:
    flat, gaps = _boundaries(doc.text)
    s = Score(paragraphs=len(case.paragraphs), text=[doc.text], source=["\n".join(case.paragraphs)])
    for para in case.paragraphs:
        want, want_gaps = _boundaries(para)
        at = flat.find(want)
        if at < 0:
            continue
        s.matched += 1
        for j in range(len(want) - 1):  # the boundary after the paragraph's last character is not its own
            got, exp = gaps[at + j], want_gaps[j]
            s.tp += got and exp
            s.fp += got and not exp
            s.fn += exp and not got
    s.furniture_left = sum(doc.text.count(f) for f in case.furniture)
    return s


def median_time(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# --- inputs ----------------------------------------------------------------------------------------


def korquad() -> list[dict]:
    return json.loads((SHARED / "korquad" / "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))["data"]


def page_count(data: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return len(pdf)
    finally:
        pdf.close()


def pdf_web_cases(articles: list[dict]) -> list[Case]:
    folder = SHARED / "pdf_web"
    cases = []
    for path in sorted(folder.glob("*.pdf")):
        index = int(path.name[:3])
        data = path.read_bytes()
        paragraphs = [p["context"] for p in articles[index]["paragraphs"]]
        group = "web" if path.stem.endswith("_web") else "plain"
        cases.append(Case(path.name, group, data, paragraphs, pages=page_count(data)))
    return cases


def longest(articles: list[dict], first: int, n: int, skip: int = 0) -> list[dict]:
    """The ``n`` longest articles from ``first`` on (after the ``skip`` longest): multi-page documents,
    where running headers and footers repeat."""
    ranked = sorted(articles[first:], key=lambda a: -sum(len(p["context"]) for p in a["paragraphs"]))
    return ranked[skip : skip + n]


def word_style(articles: list[dict]) -> list[Case]:
    """reportlab, CID font, each paragraph wrapped at any syllable, running title and ``- n -``."""
    cases = []
    for a in articles:
        lines = [a["title"].replace("_", " ")]
        for p in a["paragraphs"]:
            lines += wrap_chars(" ".join(p["context"].split()), 44)
        pages = [lines[i : i + 42] for i in range(0, len(lines), 42)]
        data = paged_pdf(pages, header="토끼연구소 자료집 · 내부용", footer="- {page} -")
        cases.append(
            Case(
                f"word_{a['title'][:12]}.pdf",
                "reportlab Word-style",
                data,
                [p["context"] for p in a["paragraphs"]],
                ["토끼연구소 자료집", "- 2 -", "- 1 -"],
                len(pages),
            )
        )
    return cases


def interleaved_columns(articles: list[dict]) -> list[Case]:
    """Two columns drawn line by line across the page (stream order is not the reading order)."""
    cases = []
    for a in articles:
        text = " ".join(" ".join(p["context"].split()) for p in a["paragraphs"][:2])
        lines = wrap_chars(text, 24)[:90]
        half = len(lines) // 2
        data = two_column_pdf(lines[:half], lines[half:], interleaved=True, font_size=9)
        cases.append(Case(f"cols_{a['title'][:12]}.pdf", "two columns, interleaved", data, ["".join(lines)], [], 1))
    return cases


def _docx(article: dict, columns: int, font: str) -> bytes:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    d = docx.Document()
    style = d.styles["Normal"]
    style.font.name = font
    style.element.rPr.rFonts.set(qn("w:eastAsia"), font)
    section = d.sections[0]
    section.header.paragraphs[0].text = f"토끼연구소 자료집 — {article['title'].replace('_', ' ')}"
    footer = section.footer.paragraphs[0]
    field_el = OxmlElement("w:fldSimple")
    field_el.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    run.append(t)
    field_el.append(run)
    footer.text = "- "
    footer._p.append(field_el)
    footer.add_run(" -")
    if columns > 1:
        cols = OxmlElement("w:cols")
        cols.set(qn("w:num"), str(columns))
        cols.set(qn("w:space"), "425")
        section._sectPr.append(cols)
    d.add_heading(article["title"].replace("_", " "), level=1)
    for p in article["paragraphs"]:
        d.add_paragraph(p["context"])
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def libreoffice(chosen: list[dict], work: Path) -> list[Case]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("  (LibreOffice not installed: no LibreOffice-exported PDFs)")
        return []
    folder = work / "libreoffice"
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, a in enumerate(chosen):
        name = f"lo_{i}_{'2col' if i == 0 else '1col'}"
        names.append(name)
        pdf = folder / f"{name}.pdf"
        if not pdf.exists():
            (folder / f"{name}.docx").write_bytes(_docx(a, 2 if i == 0 else 1, "NanumMyeongjo"))
    todo = [str(folder / f"{n}.docx") for n in names if not (folder / f"{n}.pdf").exists()]
    if todo:
        subprocess.run(
            [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(folder), *todo],
            check=True,
            capture_output=True,
            timeout=600,
        )
    cases = []
    for name, a in zip(names, chosen, strict=True):
        data = (folder / f"{name}.pdf").read_bytes()
        group = "LibreOffice, 2 columns" if "2col" in name else "LibreOffice"
        furniture = ["토끼연구소 자료집", "- 2 -"]
        cases.append(
            Case(f"{name}.pdf", group, data, [p["context"] for p in a["paragraphs"]], furniture, page_count(data))
        )
    return cases


def _font_slices(text: str, folder: Path) -> list[tuple[str, str]]:
    """Subsets of NanumGothic by 256-code-point blocks of the characters used: (file, unicode-range)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    source = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
    used = sorted({ord(c) for c in text if not c.isspace()} | {0x20})
    blocks: dict[int, list[int]] = {}
    for cp in used:
        blocks.setdefault(cp // 256, []).append(cp)
    out = []
    for block, cps in sorted(blocks.items()):
        path = folder / f"slice_{block:04x}.ttf"
        if not path.exists():
            options = subset.Options()
            options.notdef_outline = True
            options.name_IDs = ["*"]
            sub = subset.Subsetter(options)
            sub.populate(unicodes=cps)
            font = TTFont(str(source))
            sub.subset(font)
            font.save(str(path))
        out.append((path.name, ",".join(f"U+{cp:04X}" for cp in cps)))
    return out


def chromium(chosen: list[dict], work: Path) -> list[Case]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    font = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
    if not browser or not font.exists():
        print("  (Chromium or NanumGothic not installed: no browser-saved PDFs)")
        return []
    folder = work / "chromium"
    folder.mkdir(parents=True, exist_ok=True)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    slices = _font_slices(
        " ".join(a["title"] + " ".join(p["context"] for p in a["paragraphs"]) for a in chosen), folder
    )
    faces = "".join(
        f"@font-face{{font-family:'WebSans';src:url('{f}') format('truetype');unicode-range:{r};}}\n" for f, r in slices
    )
    cases = []
    for i, a in enumerate(chosen):
        columns = i == 0
        name = f"web_{i}_{'2col' if columns else '1col'}"
        pdf = folder / f"{name}.pdf"
        title = a["title"].replace("_", " ")
        if not pdf.exists():
            body = "".join(f"<p>{html.escape(p['context'])}</p>" for p in a["paragraphs"])
            page = (
                f"<!doctype html><html lang='ko'><head><meta charset='utf-8'><title>{html.escape(title)} - 위키백과</title>"
                f"<style>{faces} body{{font-family:'WebSans';font-size:15px;letter-spacing:-0.3px;line-height:1.6}}"
                f"{'article{column-count:2;column-gap:28px}' if columns else ''}</style></head>"
                f"<body><h1>{html.escape(title)}</h1><article>{body}</article></body></html>"
            )
            src = folder / f"{name}.html"
            src.write_text(page, encoding="utf-8")
            subprocess.run(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--lang=ko-KR",
                    f"--print-to-pdf={pdf}",
                    src.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
        data = pdf.read_bytes()
        group = "Chromium web-style, 2 columns" if columns else "Chromium web-style"
        furniture = [f"{title} - 위키백과", "file:///"]
        cases.append(
            Case(f"{name}.pdf", group, data, [p["context"] for p in a["paragraphs"]], furniture, page_count(data))
        )
    return cases


# --- retrieval -------------------------------------------------------------------------------------


def page_hits(docs: list[Document], questions: list[dict], k: int = 5) -> dict[str, tuple[int, int]]:
    """BM25 page hit@k per group ("web", "plain") over the real ingest of ``docs``: (hits, questions)."""
    from rabbit_rag.index.reader import open_index
    from rabbit_rag.ingest.pipeline import ingest_documents
    from rabbit_rag.retrieval import make_retriever

    with tempfile.TemporaryDirectory(prefix="pdf-bench-") as tmp:
        ingest_documents(docs, Path(tmp) / "I", embed_model="none", progress=False)
        index = open_index(Path(tmp) / "I")
        try:
            retriever = make_retriever(index, "bm25")
            out: dict[str, list[int]] = {}
            for q in questions:
                group = "web" if q["file"].endswith("_web.pdf") else "plain"
                hits = retriever.retrieve(q["question"], k)
                ok = any(h.chunk.source == q["file"] and h.chunk.page == q["page"] for h in hits)
                out.setdefault(group, [0, 0])
                out[group][0] += ok
                out[group][1] += 1
        finally:
            index.close()
    return {g: (h, n) for g, (h, n) in out.items()}


def constitution_hits(repair: bool) -> tuple[int, int, int, bool]:
    """BM25 over ``samples/`` read through the readers; hits@1, hits@5 of the 16 constitution questions
    (the evidence sentence inside a top chunk), and whether every text is byte-identical to its file."""
    import rabbit_rag.ingest.readers as readers
    from rabbit_rag.index.reader import open_index
    from rabbit_rag.ingest.pipeline import ingest_documents
    from rabbit_rag.retrieval import make_retriever
    from rabbit_rag.text import decode_bytes

    original = readers.repair_document_spacing
    if not repair:
        readers.repair_document_spacing = lambda doc: doc  # type: ignore[assignment]
    try:
        files = sorted((ROOT / "samples").rglob("*.txt"))
        docs = [read_bytes(f.read_bytes(), str(f.relative_to(ROOT))) for f in files]
    finally:
        readers.repair_document_spacing = original
    identical = all(
        d.text == normalize_text(decode_bytes(f.read_bytes()).text) for d, f in zip(docs, files, strict=True)
    )
    qa = [json.loads(line) for line in (SHARED / "corpus" / "constitution_qa.jsonl").read_text("utf-8").splitlines()]
    at1 = at5 = 0
    with tempfile.TemporaryDirectory(prefix="const-bench-") as tmp:
        ingest_documents(docs, Path(tmp) / "I", embed_model="none", progress=False)
        index = open_index(Path(tmp) / "I")
        try:
            retriever = make_retriever(index, "bm25")
            for q in qa:
                hits = retriever.retrieve(q["question"], 5)
                ranks = [i for i, h in enumerate(hits) if q["evidence"] in h.chunk.text]
                at1 += bool(ranks) and ranks[0] == 0
                at5 += bool(ranks)
        finally:
            index.close()
    return at1, at5, len(qa), identical


def spacing_net_identity() -> tuple[int, int]:
    """(texts changed, texts) for KorQuAD contexts, the constitution and the bills read as .txt files."""
    texts = [p["context"] for a in korquad() for p in a["paragraphs"]]
    texts.append((SHARED / "corpus" / "constitution.txt").read_text(encoding="utf-8"))
    texts += [p.read_text(encoding="utf-8") for p in sorted((SHARED / "corpus" / "kobill").glob("*.txt"))]
    changed = 0
    for i, text in enumerate(texts):
        doc = read_bytes(text.encode("utf-8"), f"{i}.txt")
        changed += doc.text != normalize_text(text) or "spacing_repaired_spans" in doc.metadata
    return changed, len(texts)


# --- main ------------------------------------------------------------------------------------------


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print(
            "  "
            + "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rabbit-rag-pdf-bench")
    ap.add_argument("--generated-rounds", type=int, default=1, help="rounds for the generated PDFs' pages/s")
    ap.add_argument("--skip-generated", action="store_true")
    args = ap.parse_args()
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    text_only_fonts()  # as the ingest's parse worker does: no system font matching in PDFium
    if not (SHARED / "pdf_web").exists():
        sys.exit(f"needs {SHARED / 'pdf_web'} and the KorQuAD dev set")
    articles = korquad()
    web = pdf_web_cases(articles)
    rabbit_rag_now(web[0].data, web[0].name)  # warm Kiwi, as an ingest does once

    print(f"pdf_web: {len(web)} PDFs ({sum(c.pages for c in web)} pages), Chromium-printed KorQuAD articles")
    docs: dict[str, dict[str, Document]] = {}
    speed: dict[str, float] = {}
    for label, fn in EXTRACTORS.items():
        docs[label] = {c.name: fn(c.data, c.name) for c in web}
        speed[label] = sum(c.pages for c in web) / median_time(
            lambda fn=fn: [fn(c.data, c.name) for c in web], args.rounds
        )
    source_hps = {
        g: hangul_per_space("\n".join(p for c in web if c.group == g for p in c.paragraphs)) for g in ("web", "plain")
    }
    rows = []
    for label in EXTRACTORS:
        per = {g: Score() for g in ("web", "plain")}
        for c in web:
            per[c.group].add(fidelity(docs[label][c.name], c))
        hps = {g: hangul_per_space("\n".join(per[g].text)) for g in per}
        rows.append(
            [
                label,
                f"{per['web'].matched}/{per['web'].paragraphs}",
                f"{per['plain'].matched}/{per['plain'].paragraphs}",
                f"{per['web'].f1:.3f}",
                f"{per['plain'].f1:.3f}",
                f"{hps['web']:.2f}",
                f"{hps['plain']:.2f}",
                f"{speed[label]:.1f}",
            ]
        )
    rows.append(
        ["source (KorQuAD contexts)", "", "", "", "", f"{source_hps['web']:.2f}", f"{source_hps['plain']:.2f}", ""]
    )
    _table(
        rows, ["extractor", "paras web", "paras plain", "F1 web", "F1 plain", "Hangul/space web", "plain", "pages/s"]
    )

    questions = [json.loads(line) for line in (SHARED / "pdf_web" / "questions.jsonl").read_text("utf-8").splitlines()]
    print(f"\nBM25 page hit@5 over {len(questions)} pdf_web questions (real ingest, --embed-model none)")
    rows = []
    for label in ("pypdf (main)", "pypdf + spacing net", "pdfminer.six + joining", "rabbit-rag now (PDFium)"):
        h = page_hits(list(docs[label].values()), questions)
        (wh, wn), (ph, pn) = h["web"], h["plain"]
        rows.append(
            [
                label,
                f"{wh / wn:.3f} ({wh}/{wn})",
                f"{ph / pn:.3f} ({ph}/{pn})",
                f"{(wh + ph) / (wn + pn):.3f}",
                f"{wh / wn - ph / pn:+.3f}",
            ]
        )
    _table(rows, ["extractor", "web-style", "plain", "overall", "web - plain"])

    if not args.skip_generated:
        args.work.mkdir(parents=True, exist_ok=True)
        print(f"\nGenerated PDFs (the longest KorQuAD articles after the 24 of pdf_web; cached in {args.work})")
        gen = word_style(longest(articles, 24, 3)) + interleaved_columns(longest(articles, 24, 2, skip=3))
        gen += libreoffice(longest(articles, 24, 3, skip=5), args.work)
        gen += chromium(longest(articles, 24, 4, skip=8), args.work)
        groups = list(dict.fromkeys(c.group for c in gen))
        rows = []
        for group in groups:
            cases = [c for c in gen if c.group == group]
            for label, fn in EXTRACTORS.items():
                s = Score()
                for c in cases:
                    s.add(fidelity(fn(c.data, c.name), c))
                pages = sum(c.pages for c in cases)
                t = median_time(lambda fn=fn, cases=cases: [fn(c.data, c.name) for c in cases], args.generated_rounds)
                rows.append(
                    [
                        f"{group} ({len(cases)} PDFs, {pages} p.) · {label}",
                        f"{s.matched}/{s.paragraphs}",
                        f"{s.precision:.3f}/{s.recall:.3f}/{s.f1:.3f}",
                        f"{hangul_per_space(chr(10).join(s.text)):.2f} vs {hangul_per_space(chr(10).join(s.source)):.2f}",
                        str(s.furniture_left),
                        f"{pages / t:.1f}",
                    ]
                )
        _table(rows, ["PDFs · extractor", "paras", "boundary P/R/F1", "Hangul/space", "furniture left", "pages/s"])

    print("\nThe spacing net on text that must not change")
    changed, n = spacing_net_identity()
    print(f"  KorQuAD contexts + constitution + bills read as .txt: {changed} of {n} texts changed")
    rows = []
    for repair in (False, True):
        at1, at5, nq, identical = constitution_hits(repair)
        rows.append(
            [
                f"samples/ read with the net {'on' if repair else 'off'}",
                f"{at1}/{nq}",
                f"{at5}/{nq}",
                "yes" if identical else "NO",
            ]
        )
    _table(rows, ["constitution questions, BM25", "hit@1", "hit@5", "texts byte-identical to the files"])


if __name__ == "__main__":
    main()
