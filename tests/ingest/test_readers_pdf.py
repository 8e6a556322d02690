"""PDF reader: pages, Korean CID fonts, words broken across lines, and the PDFs it refuses."""

from __future__ import annotations

import io
import itertools

import pytest

from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.linebreaks import join_broken_words
from rabbit_rag.ingest.readers.pdf import PdfReader
from tests.ingest.docgen import THREE_PAGES, image_only_pdf, korean_pdf, wrap_chars, wrap_words


def test_three_page_korean_pdf_has_page_spans_and_title() -> None:
    doc = read_bytes(korean_pdf(THREE_PAGES, title="연구소 규정"), "규정.pdf")
    assert doc.title == "연구소 규정"
    assert read_bytes(korean_pdf(THREE_PAGES), "x.pdf").title == "제1장 총칙"  # reportlab's "untitled" is no title
    assert doc.metadata["format"] == "pdf" and doc.metadata["page_count"] == 3
    assert [p[2] for p in doc.pages] == [1, 2, 3]
    texts = [doc.text[s:e] for s, e, _ in doc.pages]
    assert texts[0].startswith("제1장 총칙") and texts[2].startswith("제3장 부칙")
    # the page-2 line break fell between two words ("절반은" / "인공지능"): no glue
    assert "그중 절반은\n인공지능 연구에 쓴다." in texts[1]
    # spans are ordered, disjoint and cover the text but the joining newlines
    assert doc.pages[0][0] == 0 and doc.pages[-1][1] == len(doc.text)
    for (_, end, _), (start, _, _) in itertools.pairwise(doc.pages):
        assert doc.text[end:start] == "\n"


def test_a_korean_word_wrapped_across_lines_is_one_word_again() -> None:
    sentence = "대한민국의 모든 권력은 국민으로부터 나오며 국회의원은 국가이익을 우선하여 양심에 따라 직무를 행한다."
    lines = wrap_chars(sentence, 13)  # breaks inside 국민으로부터-like words
    assert any(a[-1] != " " and b[0] != " " for a, b in itertools.pairwise(lines))
    doc = read_bytes(korean_pdf([lines]), "wrapped.pdf")
    flat = doc.text.replace("\n", " ")
    for word in ("대한민국의", "국민으로부터", "국가이익을", "우선하여", "직무를", "행한다."):
        assert word in flat, (word, doc.text)


def test_words_wrapped_at_spaces_are_not_glued() -> None:
    sentence = "김하성은 좌측 담장을 넘기는 홈런을 쳤고 샌디에이고는 여덟 점을 내며 경기를 이겼다."
    lines = wrap_words(sentence, 12)
    doc = read_bytes(korean_pdf([lines]), "words.pdf")
    assert doc.text.split() == sentence.split()  # same words, none glued, none split


def test_join_broken_words_rules() -> None:
    joined = join_broken_words(
        [
            ["모든 권력은 국민", "으로부터 나온다."],
            ["information is infor-", "mation"],
            ["짧은 줄", "다음 문단이 시작된다"],
            [
                "조국의 민주개혁과 평화적 통일을 계승하고",
                ", 체포·구속·압수 또는 수색을 할 때 제57",
                "조에 따라 체포·",
                "구속한다.",
            ],
        ]
    )
    assert joined[0] == "모든 권력은 국민으로부터 나온다."
    assert joined[1] == "information is information"
    assert (
        joined[3]
        == "조국의 민주개혁과 평화적 통일을 계승하고, 체포·구속·압수 또는 수색을 할 때 제57조에 따라 체포·구속한다."
    )
    assert joined[2] == "짧은 줄\n다음 문단이 시작된다"  # a short line ends its paragraph


def test_pdf_without_text_layer_is_reported_not_ingested_empty() -> None:
    with pytest.raises(DocumentError, match="no text layer") as e:
        read_bytes(image_only_pdf(2), "스캔본.pdf")
    assert e.value.path == "스캔본.pdf" and "OCR" in e.value.reason


def test_pages_without_text_keep_their_numbers() -> None:
    doc = read_bytes(korean_pdf([["첫 쪽 본문이다."], [], ["셋째 쪽 본문이다."]]), "섞임.pdf")
    assert [n for _, _, n in doc.pages] == [1, 3] and doc.metadata["pages_without_text"] == 1


def test_truncated_pdf_is_a_clear_error() -> None:
    data = korean_pdf(THREE_PAGES)
    with pytest.raises(DocumentError, match="truncated"):
        read_bytes(data[: len(data) // 2], "잘린.pdf")


def test_password_protected_pdf_is_refused_but_owner_only_encryption_reads() -> None:
    import pypdf

    def encrypted(user: str) -> bytes:
        w = pypdf.PdfWriter(clone_from=io.BytesIO(korean_pdf(THREE_PAGES)))
        w.encrypt(user_password=user, owner_password="owner-secret", algorithm="AES-128")
        out = io.BytesIO()
        w.write(out)
        return out.getvalue()

    with pytest.raises(DocumentError, match="encrypted with a password"):
        read_bytes(encrypted("1234"), "잠김.pdf")
    doc = read_bytes(encrypted(""), "열림.pdf")  # viewers open these without asking: so do we
    assert len(doc.pages) == 3 and "삼백이십억" in doc.text


def test_content_wins_over_extension() -> None:
    doc = read_bytes(korean_pdf(THREE_PAGES), "규정.txt")
    assert doc.metadata["format"] == "pdf" and len(doc.pages) == 3
    assert PdfReader().sniff(b"\n%PDF-1.7", "x") and not PdfReader().sniff(b"PK\x03\x04", "x.pdf")


# --- PDFium: page furniture, garbled text layers, spacing, columns, bombs --------------------------------

ARTICLE = [
    [
        "반기문은 충주고등학교 2학년 때 미국 적십자사가 주최한 영어경시대회에서 최고 점수를 받았다.",
        "부상으로 외국 학생의 미국 방문 프로그램에 뽑혀 1962년 미국을 방문했다.",
        "2023년 매출은 이 쪽의 내용이다.",
    ],
    [
        "그는 2006년 10월 14일 한국인으로는 처음 유엔 사무총장에 당선되었다.",
        "1차 예비투표에서 안전보장이사회 15개 회원국 가운데 13개국의 찬성을 받았다.",
        "2024년 매출은 이 쪽의 내용이다.",
    ],
    [
        "두자릭 유엔 대변인은 사무총장이 사진 요청에 거의 대부분 응한다고 말했다.",
        "사진은 사무총장이 그 단체를 지지한다는 뜻이 아니라고 덧붙였다.",
        "2025년 매출은 이 쪽의 내용이다.",
    ],
]


def _page_texts(doc) -> list[str]:
    return [doc.text[s:e] for s, e, _ in doc.pages]


def test_browser_header_and_footer_are_taken_out_of_every_page() -> None:
    from tests.ingest.docgen import paged_pdf

    data = paged_pdf(
        ARTICLE,
        header="26. 5. 3. 오후 2:15 반기문 - 위키백과, 우리 모두의 백과사전",
        footer="https://ko.wikipedia.org/wiki/반기문 {page}/{pages}",
        header_last=True,  # Chromium draws them after the body
    )
    doc = read_bytes(data, "반기문.pdf")
    assert "위키백과" not in doc.text and "wikipedia" not in doc.text and "오후 2:15" not in doc.text
    assert _page_texts(doc) == ["\n".join(lines) for lines in ARTICLE]  # body lines kept, numbers and all
    assert doc.metadata["furniture_lines"] == 6
    assert "https://ko.wikipedia.org/wiki/반기문 1/3" in doc.metadata["furniture_examples"]


def test_word_processor_running_title_and_page_numbers_are_taken_out() -> None:
    from tests.ingest.docgen import paged_pdf

    doc = read_bytes(paged_pdf(ARTICLE, header="토끼연구소 연구 규정", footer="- {page} -"), "규정.pdf")
    assert _page_texts(doc) == ["\n".join(lines) for lines in ARTICLE]
    # printed numbers that run ahead of the file's pages (an excerpt) are still page numbers
    doc = read_bytes(paged_pdf(ARTICLE, footer="- {page}4 -"), "발췌.pdf")  # 14, 24, 34: not page + constant
    assert "- 14 -" in doc.text
    doc = read_bytes(paged_pdf(ARTICLE, footer="Page 1{page} of 99"), "발췌.pdf")  # 11, 12, 13
    assert "Page" not in doc.text and doc.metadata["furniture_lines"] == 3


def test_one_page_browser_print_loses_its_stamp_and_address() -> None:
    from tests.ingest.docgen import paged_pdf

    data = paged_pdf(
        ARTICLE[:1], header="5/3/26, 2:15 PM 반기문 - 위키백과", footer="https://ko.wikipedia.org/wiki/x 1/1"
    )
    doc = read_bytes(data, "한쪽.pdf")
    assert doc.text == "\n".join(ARTICLE[0]) and doc.metadata["furniture_lines"] == 2


def test_garbled_pages_are_reported_page_by_page_and_not_indexed() -> None:
    from tests.ingest.docgen import broken_font_pdf

    doc = read_bytes(broken_font_pdf(["Readable text of the first page.", "pua", "latin1"]), "깨진글꼴.pdf")
    assert doc.text == "Readable text of the first page." and [p[2] for p in doc.pages] == [1]
    assert doc.metadata["unreadable_pages"] == [
        {"page": 2, "reason": "private-use characters (a font without a correct ToUnicode map)"},
        {"page": 3, "reason": "Latin-1 mojibake (e.g. EUC-KR bytes read as Latin-1)"},
    ]
    assert "pages_without_text" not in doc.metadata
    with pytest.raises(DocumentError, match=r"unreadable on every page with text \(pages 1, 2: .*OCR") as e:
        read_bytes(broken_font_pdf(["latin1", "pua"]), "전부깨짐.pdf")
    assert e.value.path == "전부깨짐.pdf"


@pytest.mark.parametrize("tracking", [0.3, 0.5])
def test_implausible_spacing_is_repaired_and_the_pages_recorded(tracking: float) -> None:
    import pypdfium2

    from rabbit_rag.text.spacing import hangul_per_space
    from tests.ingest.docgen import korean_pdf, letter_spaced_pdf

    lines = [
        "임종석은 청량리경찰서에서 약 1시간 동안 조사를 받은 뒤",
        "서울지방경찰청 공안분실로 인계되었다. 그 뒤",
        "재판을 받았다.",
    ]
    raw = letter_spaced_pdf([lines, ["둘째 쪽도 같은 자간으로 쓴 글이다."]], tracking=tracking)
    # widely tracked letters: PDFium reads a space between every syllable, or (wider still) none at all
    extracted = pypdfium2.PdfDocument(raw)[0].get_textpage().get_text_bounded()
    if not any("가" <= ch <= "힣" for ch in extracted):
        # PDFium reads glyph-by-glyph runs of a non-embedded CJK font only with a CJK system font to map them
        pytest.skip("PDFium read no Hangul from the test PDF: install a CJK font (apt-get install fonts-noto-cjk)")
    assert not 1.5 < hangul_per_space(extracted) < 15, extracted
    doc = read_bytes(raw, "자간.pdf")
    assert doc.metadata["spacing_repaired_pages"] == [1, 2] and doc.metadata["spacing_repaired_spans"] >= 2
    page1 = _page_texts(doc)[0]
    assert "".join(page1.split()) == "".join("".join(lines).split())  # the same characters, re-spaced
    assert 2.0 < hangul_per_space(page1) < 4.5
    for word in ("임종석은", "1시간", "동안", "인계되었다.", "받았다."):
        assert word in page1.split(), page1
    assert "spacing_repaired_pages" not in read_bytes(korean_pdf([lines]), "보통.pdf").metadata


def test_columns_written_one_after_the_other_read_in_order() -> None:
    from tests.ingest.docgen import two_column_pdf

    left = ["왼쪽 단의 첫 줄은 여기서", "시작하여 왼쪽 단의 끝에서", "마친다."]
    right = ["오른쪽 단은 그 다음에", "읽는다."]
    doc = read_bytes(two_column_pdf(left, right), "두단.pdf")
    assert doc.text.index("마친다.") < doc.text.index("오른쪽 단은")
    assert "왼쪽 단의 첫 줄은 여기서\n시작하여" in doc.text or "여기서 시작하여" in doc.text


def test_a_stream_that_inflates_like_a_bomb_is_refused_before_pdfium() -> None:
    from tests.ingest.docgen import pdf_stream_bomb

    bomb = pdf_stream_bomb(300)
    assert len(bomb) < 1_000_000
    with pytest.raises(DocumentError, match="decompression bomb") as e:
        read_bytes(bomb, "폭탄.pdf")
    assert e.value.path == "폭탄.pdf"
    ok = pdf_stream_bomb(0)  # the same file with an empty second stream reads
    assert read_bytes(ok, "정상.pdf").text == "Hello"


def test_pdf_web_reads_as_the_source_article() -> None:
    """A web-saved PDF (sliced web font) and its plain control read as the KorQuAD article they came from."""
    import json

    from rabbit_rag.text.spacing import hangul_per_space
    from tests.conftest import shared_data

    folder = shared_data("pdf_web")
    articles = json.loads(shared_data("korquad", "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))["data"]
    for name, index in (("000_web.pdf", 0), ("002_plain.pdf", 2)):
        doc = read_bytes((folder / name).read_bytes(), name)
        paragraphs = [p["context"] for p in articles[index]["paragraphs"]]
        flat = "".join(doc.text.split())
        assert all("".join(p.split()) in flat for p in paragraphs), name
        source = hangul_per_space("\n".join(paragraphs))
        assert abs(hangul_per_space(doc.text) - source) < 0.15 * source, name
        assert "spacing_repaired_spans" not in doc.metadata and "furniture_lines" not in doc.metadata


def test_hyphens_at_line_ends_stay_in_korean_and_go_in_wrapped_latin_words() -> None:
    lines = [
        "야로슬라블에서 개최된 한-",
        "러 정상회담에서 두 정상은 협력을 약속했고 이어서 길게 이어지는",
        "information is infor-",
        "mation and the rest of this line is long enough",
    ]
    doc = read_bytes(korean_pdf([lines]), "하이픈.pdf")
    assert "개최된 한-러 정상회담에서" in doc.text and "information is information and" in doc.text
    assert "\x02" not in doc.text


def test_autospace_gaps_between_korean_and_digits_are_not_word_breaks() -> None:
    import pypdfium2

    from tests.ingest.docgen import autospaced_pdf

    data = autospaced_pdf(["해군 장병 ", "40", "명이 사망했고 ", "2010", "년 3월 발표에서 천안함이 침몰했다"])
    raw = pypdfium2.PdfDocument(data)[0].get_textpage().get_text_bounded()
    assert "40 명이" in raw and "2010 년" in raw  # PDFium makes up a space at each gap
    text = read_bytes(data, "자동간격.pdf").text
    assert text == "해군 장병 40명이 사망했고 2010년 3월 발표에서 천안함이 침몰했다"


@pytest.mark.slow  # a parse child per PDF family, compared with in-process reads
def test_the_parse_worker_reads_pdfs_as_read_bytes_does() -> None:
    """The worker's child turns PDFium's system font matching off (text_only_fonts): same text, faster."""
    from rabbit_rag.ingest.readers.isolation import ParseWorker
    from rabbit_rag.ingest.readers.limits import ReadLimits

    data = korean_pdf(THREE_PAGES, title="연구소 규정")  # a font the PDF does not embed
    with ParseWorker(ReadLimits(timeout_s=60)) as worker:
        assert worker.read(data, "규정.pdf").text == read_bytes(data, "규정.pdf").text
