"""Korean test documents generated on the fly: PDF (reportlab), DOCX (python-docx), HWPX (OWPML).

The benchmark imports these too, so the measured files are the tested files.

예::

    pdf_bytes = korean_pdf([["첫 쪽"], ["둘째 쪽"]], title="시험")
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
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


MIB = 1 << 20


@functools.cache
def deflated_spaces(mib: int) -> tuple[bytes, int, int]:
    """``mib`` MiB of spaces as a raw deflate stream (about 1000:1), with the CRC-32 and Adler-32 of the
    inflated bytes.

    Built from one compressed MiB repeated: a full flush resets the compressor, so every MiB of spaces
    compresses to the same bytes. zlib at level 9 over 300 MiB takes about 2 s of CPU; this takes 0.3."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = squeeze.compress(b" " * MIB) + squeeze.flush(zlib.Z_FULL_FLUSH)
    crc, adler = 0, 1
    block = b" " * MIB
    for _ in range(mib):
        crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
    return unit * mib + squeeze.flush(), crc, adler


def zip_bomb(member: str, size: int, first: dict[str, bytes] | None = None) -> bytes:
    """A ZIP whose ``member`` inflates to ``size`` bytes of spaces (a whole number of MiB, about 1000:1),
    after the ``first`` members (stored).

    Written by hand because zipfile can only compress what it is given, and compressing hundreds of MB
    per test was seconds of the fast loop (:func:`deflated_spaces`)."""
    if size % MIB:
        raise ValueError("a zip bomb is a whole number of MiB")
    packed, crc, _ = deflated_spaces(size // MIB)
    entries = [(name.encode(), 0, data, zlib.crc32(data), len(data)) for name, data in (first or {}).items()]
    entries.append((member.encode(), 8, packed, crc, size))
    out, central = bytearray(), bytearray()
    for name, method, data, crc32, inflated in entries:
        # version 20, no flags, the method, a fixed time and date (1980-01-01), then sizes and the name
        fields = struct.pack("<HHHHHIII", 20, 0, method, 0, 0x21, crc32, len(data), inflated)
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fields
        central += struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, len(out)) + name
        out += b"PK\x03\x04" + fields + struct.pack("<HH", len(name), 0) + name + data
    end = struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return bytes(out + central + b"PK\x05\x06" + end)


def paged_pdf(
    pages: Sequence[Sequence[str]],
    header: str | None = None,
    footer: str | None = None,
    font_size: int = 10,
    header_last: bool = False,
) -> bytes:
    """A Word-style PDF with page furniture: ``header``/``footer`` drawn on every page.

    ``{page}`` and ``{pages}`` in them become the page number and count (``"- {page} -"``,
    ``"https://news.example.com/a/1 {page}/{pages}"``). ``header_last`` draws them after the body,
    as Chromium does.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for number, lines in enumerate(pages, start=1):

        def furniture(number: int = number) -> None:
            c.setFont(CID_FONT, 8)
            if header:
                c.drawString(60, A4[1] - 40, header.format(page=number, pages=len(pages)))
            if footer:
                c.drawString(60, 30, footer.format(page=number, pages=len(pages)))

        if not header_last:
            furniture()
        c.setFont(CID_FONT, font_size)
        y = A4[1] - 72
        for line in lines:
            c.drawString(60, y, line)
            y -= font_size * 1.5
        if header_last:
            furniture()
        c.showPage()
    c.save()
    return buf.getvalue()


def two_column_pdf(left: Sequence[str], right: Sequence[str], interleaved: bool = False, font_size: int = 10) -> bytes:
    """One page in two columns. ``interleaved`` draws line by line across both columns (some generators
    do), else the left column first (what word processors write)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont(CID_FONT, font_size)
    top = A4[1] - 72
    step = font_size * 1.5
    if interleaved:
        for i in range(max(len(left), len(right))):
            if i < len(left):
                c.drawString(50, top - i * step, left[i])
            if i < len(right):
                c.drawString(310, top - i * step, right[i])
    else:
        for i, line in enumerate(left):
            c.drawString(50, top - i * step, line)
        for i, line in enumerate(right):
            c.drawString(310, top - i * step, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def _raw_pdf(objects: Sequence[bytes]) -> bytes:
    """A PDF from numbered objects (1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(content), extra) + content + b"\nendstream"


def broken_font_pdf(pages: Sequence[str]) -> bytes:
    """Pages drawn in a font whose text layer is broken, the way PDFs with bad font maps come out.

    Each entry of ``pages`` says how its page's text layer reads: ``"pua"`` (a ``ToUnicode`` map
    into the private-use area), ``"latin1"`` (the EUC-KR bytes of Korean text in a font with
    WinAnsi encoding: ``ÇÑ±¹¾î``) or any other string, drawn as is in Helvetica (readable text).
    """
    line = "대한민국 헌법 제1조 대한민국은 민주공화국이다 모든 권력은 국민으로부터 나온다"
    pua_cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Broken def "
        b"1 begincodespacerange <00> <FF> endcodespacerange "
        b"1 beginbfrange <20> <7E> <E020> endbfrange endcmap "
        b"CMapName currentdict /CMap defineresource pop end end"
    )
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    fonts = b"/F1 3 0 R /F2 4 0 R"
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 5 0 R >>")
    objects.append(_stream(pua_cmap))
    kids = []
    for kind in pages:
        if kind == "pua":
            font, texts = b"/F2", [b"Gur dhvpx oebja sbk whzcf bire gur ynml qbt %d" % i for i in range(12)]
        elif kind == "latin1":
            font, texts = b"/F1", [line.encode("euc-kr")] * 12
        else:
            font, texts = b"/F1", [kind.encode("latin-1")]
        ops = b"BT %s 11 Tf 14 TL 60 780 Td " % font
        ops += b" ".join(
            b"(" + t.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b") '" for t in texts
        )
        ops += b" ET"
        content = len(objects) + 1
        objects.append(_stream(ops))
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << %s >> >> /Contents %d 0 R >>"
            % (fonts, content)
        )
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    return _raw_pdf(objects)


def pdf_stream_bomb(inflated_mb: int = 300) -> bytes:
    """A one-page PDF whose second content stream inflates to ``inflated_mb`` MiB of spaces (about 1000:1)."""
    raw, _, adler = deflated_spaces(inflated_mb)
    packed = b"\x78\xda" + raw + struct.pack(">I", adler)  # the zlib wrapping FlateDecode reads
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
            b"/Contents [5 0 R 6 0 R] >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            _stream(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET"),
            _stream(packed, b"/Filter /FlateDecode "),
        ]
    )


def korean_xlsx() -> bytes:
    """A workbook written by openpyxl: a title row over a table with dates, numbers, a formula and a
    percentage; a second sheet; a hidden third sheet."""
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "예산"
    ws["A1"] = "2024년 연구 예산 현황"
    ws.append([])
    ws.append(["부서", "담당자", "예산(억 원)", "집행률", "보고일"])
    rows = [
        ("연구팀", "김철수", 10, 0.125, dt.date(2024, 3, 5)),
        ("관리팀", "이영희", 5.5, 0.4, dt.datetime(2024, 4, 1, 9, 30)),
        ("기획팀", None, 0.1, 1, dt.date(2024, 12, 31)),
    ]
    for r in rows:
        ws.append(list(r))
    for row in ws.iter_rows(min_row=4, max_row=6):
        row[3].number_format = "0.0%"
    ws["C7"] = (
        "=SUM(C4:C6)"  # openpyxl stores no cached value: the cell reads empty, as in a viewer before recalculation
    )
    ws["A7"] = "합계"
    people = wb.create_sheet("인원")
    people.append(["이름", "직급", "입사일"])
    people.append(["박민수", "선임연구원", dt.date(2019, 7, 1)])
    people.append(["최지우", "책임연구원", dt.date(2015, 1, 2)])
    hidden = wb.create_sheet("참고")
    hidden.sheet_state = "hidden"
    hidden.append(["코드", "설명"])
    hidden.append(["A01", "장비 구입"])
    wb.properties.title = "연구 예산"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def big_xlsx(rows: int, cols: int = 10) -> bytes:
    """A one-sheet workbook with ``rows`` x ``cols`` filled cells (inline strings and numbers), written directly."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    letters = [chr(65 + i) for i in range(cols)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook {ns} {rel_ns}><sheets><sheet name="데이터" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(
                f'<?xml version="1.0"?><worksheet {ns}><dimension ref="A1:{letters[-1]}{rows}"/><sheetData>'.encode()
            )
            header = "".join(f'<c r="{c}1" t="inlineStr"><is><t>항목{c}</t></is></c>' for c in letters)
            f.write(f'<row r="1">{header}</row>'.encode())
            for r in range(2, rows + 1):
                cells = "".join(
                    f'<c r="{c}{r}"><v>{r * 7 + i}</v></c>'
                    if i % 2
                    else f'<c r="{c}{r}" t="inlineStr"><is><t>값{r}</t></is></c>'
                    for i, c in enumerate(letters)
                )
                f.write(f'<row r="{r}">{cells}</row>'.encode())
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def korean_pptx(images: int = 0) -> bytes:
    """A deck written by python-pptx: a title slide, a bulleted slide with notes, a slide with a
    table, an untitled text-box slide; ``images`` pictures added to the last slide."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.core_properties.title = "2024년 사업 계획"
    s = prs.slides.add_slide(prs.slide_layouts[0])
    s.shapes.title.text = "2024년 사업 계획"
    s.placeholders[1].text = "토끼연구소 기획팀"
    s = prs.slides.add_slide(prs.slide_layouts[1])
    s.shapes.title.text = "추진 목표"
    body = s.placeholders[1].text_frame
    body.text = "인공지능 연구 예산을 320억 원으로 늘린다"
    p = body.add_paragraph()
    p.text = "그중 절반은 한국어 검색 연구에 쓴다"
    p.level = 1
    s.notes_slide.notes_text_frame.text = "예산 증액은 3월 이사회에서 승인되었다고 말할 것"
    s = prs.slides.add_slide(prs.slide_layouts[5])
    s.shapes.title.text = "추진 일정"
    table = s.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate([("단계", "기간", "담당"), ("설계", "1~3월", "김철수"), ("구축", "4~9월", "이영희")]):
        for col, value in enumerate(row):
            table.cell(r, col).text = value
    s = prs.slides.add_slide(prs.slide_layouts[6])
    box = s.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
    box.text_frame.text = "문의: 기획팀 내선 1234"
    if images:
        png = _png()
        for i in range(images):
            s.shapes.add_picture(io.BytesIO(png + bytes([i % 256])), Inches(0.1 * (i % 50)), Inches(3))
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def _png(size: int = 400) -> bytes:
    """A noisy RGB PNG (incompressible, about ``size``² × 3 bytes)."""
    import os

    from PIL import Image

    img = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def letter_spaced_pdf(pages: Sequence[Sequence[str]], tracking: float = 0.3, font_size: int = 10) -> bytes:
    """Lines drawn one character at a time with ``tracking`` em between characters (wide 자간, as
    justified HWP exports and some web saves have): extractors read a space between every syllable."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for lines in pages:
        c.setFont(CID_FONT, font_size)
        y = A4[1] - 72
        for line in lines:
            x = 60.0
            for ch in line:
                if ch != " ":
                    c.drawString(x, y, ch)
                x += pdfmetrics.stringWidth(ch, CID_FONT, font_size) + tracking * font_size
            y -= font_size * 1.5
        c.showPage()
    c.save()
    return buf.getvalue()


def autospaced_pdf(runs: Sequence[str], gap: float = 0.3, font_size: int = 10) -> bytes:
    """One line drawn run by run with ``gap`` em between runs and no space character there: how Word and
    LibreOffice set Korean next to Latin letters and digits (자동 간격). Spaces inside runs are characters."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont(CID_FONT, font_size)
    x = 60.0
    for run in runs:
        c.drawString(x, A4[1] - 72, run)
        x += pdfmetrics.stringWidth(run, CID_FONT, font_size) + gap * font_size
    c.showPage()
    c.save()
    return buf.getvalue()
