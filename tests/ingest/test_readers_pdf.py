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
