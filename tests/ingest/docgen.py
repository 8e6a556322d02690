"""Korean test documents generated on the fly: PDF (reportlab), DOCX (python-docx), HWPX (OWPML).

The benchmark imports these too, so the measured files are the tested files.

예::

    pdf_bytes = korean_pdf([["첫 쪽"], ["둘째 쪽"]], title="시험")
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

CID_FONT = "HYSMyeongJo-Medium"

# Page 2 holds the fact the end-to-end test asks about; pages 1 and 3 are about other things.
THREE_PAGES: list[list[str]] = [
    [
        "제1장 총칙",
        "이 규정은 토끼연구소의 연구 장비 관리에 필요한 사항을 정한다.",
        "연구 장비는 관리 책임자를 지정하여 운영한다.",
    ],
    [
        "제2장 예산",
        "토끼연구소의 올해 연구 예산은 삼백이십억 원이며, 그중 절반은",
        "인공지능 연구에 쓴다.",
        "예산의 집행 결과는 매 분기 이사회에 보고한다.",
    ],
    [
        "제3장 부칙",
        "이 규정은 공포한 날부터 시행한다.",
        "시행 전의 장비 대장은 새 양식으로 옮겨 적는다.",
    ],
]


def korean_pdf(pages: Sequence[Sequence[str]], title: str | None = None, font_size: int = 12) -> bytes:
    """A PDF with one line of ``pages[i]`` per drawn line, in reportlab's built-in Korean CID font."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    if title:
        c.setTitle(title)
    for lines in pages:
        c.setFont(CID_FONT, font_size)
        y = A4[1] - 72
        for line in lines:
            c.drawString(60, y, line)
            y -= font_size * 1.5
        c.showPage()
    c.save()
    return buf.getvalue()


def wrap_chars(text: str, width: int) -> list[str]:
    """Wrap at any character (Korean 글자 단위), as Word does for Korean by default."""
    return [text[i : i + width] for i in range(0, len(text), width)]


def wrap_words(text: str, width: int) -> list[str]:
    """Wrap at spaces only (어절 단위)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def image_only_pdf(n_pages: int = 2) -> bytes:
    """A PDF whose pages hold only drawings (what a scan looks like to a text extractor)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for _ in range(n_pages):
        c.rect(100, 100, 300, 400, fill=1)
        c.showPage()
    c.save()
    return buf.getvalue()


def korean_docx(title: str = "회의록") -> bytes:
    """A DOCX with a title, two headings, paragraphs, a table and a Korean core title."""
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.core_properties.author = "홍길동"
    d.add_heading("1. 회의 개요", level=1)
    d.add_paragraph("2024년 3월 5일 본관 회의실에서 예산 회의를 열었다.")
    d.add_heading("2. 결정 사항", level=1)
    d.add_paragraph("연구 장비 구입 예산을 15억 원으로 늘리기로 했다.")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([("부서", "담당자", "예산"), ("연구팀", "김철수", "10억"), ("관리팀", "이영희", "5억")]):
        for col, value in enumerate(row):
            table.cell(r, col).text = value
    d.add_paragraph("다음 회의는 4월에 연다.")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


_HWPX_NS = (
    'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"'
)


# paraPr 0: body text; 1: top-level outline (개요 1); 2: second-level outline (개요 2)
HWPX_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?><hh:head xmlns:hh="http://www.hancom.co.kr/hwpml/2011/head">'
    "<hh:refList><hh:paraProperties>"
    '<hh:paraPr id="0"><hh:heading type="NONE" idRef="0" level="0"/></hh:paraPr>'
    '<hh:paraPr id="1"><hh:heading type="OUTLINE" idRef="0" level="0"/></hh:paraPr>'
    '<hh:paraPr id="2"><hh:heading type="OUTLINE" idRef="0" level="1"/></hh:paraPr>'
    "</hh:paraProperties></hh:refList></hh:head>"
)


def _hwpx_para(text: str) -> str:
    # "1|제목" picks paraPr 1 (an outline heading); a line break is an inline <hp:lineBreak/>
    pr, _, text = text.rpartition("|") if text[:2] in ("1|", "2|") else ("0", "", text)
    inner = "<hp:lineBreak/>".join(escape(part) for part in text.split("\n"))
    return f'<hp:p paraPrIDRef="{pr}" styleIDRef="0"><hp:run charPrIDRef="0"><hp:t>{inner}</hp:t></hp:run></hp:p>'


def hwpx_section_xml(paragraphs: Sequence[str], table: Sequence[Sequence[str]] = ()) -> str:
    """A section; a paragraph written ``"1|제목"`` is a top-level outline heading, ``"2|..."`` a second-level one."""
    parts = [_hwpx_para(p) for p in paragraphs]
    if table:
        rows = "".join(
            "<hp:tr>"
            + "".join(f"<hp:tc><hp:subList>{_hwpx_para(cell)}</hp:subList></hp:tc>" for cell in row)
            + "</hp:tr>"
            for row in table
        )
        parts.append(
            f'<hp:p><hp:run charPrIDRef="0"><hp:tbl rowCnt="{len(table)}">{rows}</hp:tbl><hp:t/></hp:run></hp:p>'
        )
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hs:sec {_HWPX_NS}>{"".join(parts)}</hs:sec>'


def korean_hwpx(
    sections: Sequence[str],
    title: str = "",
    extra: dict[str, bytes] | None = None,
    mimetype: bytes = b"application/hwp+zip",
) -> bytes:
    """An HWPX package: ``mimetype`` first and stored, ``content.hpf`` with the title and spine, the sections."""
    items = "".join(
        f'<opf:item id="section{i}" href="Contents/section{i}.xml" media-type="application/xml"/>'
        for i in range(len(sections))
    )
    spine = "".join(f'<opf:itemref idref="section{i}"/>' for i in range(len(sections)))
    hpf = (
        '<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf="http://www.idpf.org/2007/opf/">'
        f"<opf:metadata><opf:title>{escape(title)}</opf:title>"
        '<opf:meta name="creator" content="text">시험</opf:meta></opf:metadata>'
        f"<opf:manifest>{items}</opf:manifest><opf:spine>{spine}</opf:spine></opf:package>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        z.writestr("Contents/content.hpf", hpf)
        z.writestr("Contents/header.xml", HWPX_HEADER)
        for i, xml in enumerate(sections):
            z.writestr(f"Contents/section{i}.xml", xml)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def zip_bomb(member: str, size: int, first: dict[str, bytes] | None = None) -> bytes:
    """A ZIP whose ``member`` inflates to ``size`` bytes of spaces (about 1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in (first or {}).items():
            z.writestr(name, data)
        info = zipfile.ZipInfo(member)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            block = b" " * (1 << 20)
            for _ in range(size // len(block)):
                f.write(block)
    return buf.getvalue()
