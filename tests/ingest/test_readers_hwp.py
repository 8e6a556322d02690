"""HWP 5.0 and HWPX readers: the shared samples, generated HWPX files, and the files they refuse."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from rabbit_rag.errors import DocumentError, EmptyDocumentError, UnsupportedFormatError
from rabbit_rag.ingest.readers import read_bytes, reader_for
from rabbit_rag.ingest.readers.hwp import decode_para_text, inflate, iter_records
from rabbit_rag.ingest.readers.limits import ReadLimits, UnpackBudget
from tests.conftest import shared_data
from tests.ingest.docgen import hwpx_section_xml, korean_hwpx, zip_bomb


def _sample(name: str) -> bytes:
    return Path(shared_data("hwp", name)).read_bytes()


# -- HWP 5.0 records ------------------------------------------------------------------------------


def _u16(*codes: int) -> bytes:
    return struct.pack(f"<{len(codes)}H", *codes)


def test_para_text_controls_are_removed_with_their_spans() -> None:
    payload = (
        "가".encode("utf-16le")
        + _u16(11, *b"tbl \0\0\0\0"[::2], 0, 0, 0, 11)[:16]  # extended control: 8 code units
        + "나".encode("utf-16le")
        + _u16(9, 0, 0, 0, 0, 0, 0, 9)  # tab: an inline control, 8 units, shown as a tab
        + "다".encode("utf-16le")
        + _u16(10)  # line break: 1 unit
        + "라".encode("utf-16le")
        + _u16(30)  # 묶음 빈칸: 1 unit
        + "마".encode("utf-16le")
        + _u16(13)  # paragraph end
    )
    assert decode_para_text(payload) == "가나\t다\n라 마"


def test_extended_control_data_that_looks_like_controls_is_skipped() -> None:
    # the 6 data units of a control may themselves be small numbers: they must not be read as controls
    payload = _u16(2, 10, 13, 9, 1, 2, 3, 2) + "본문".encode("utf-16le")
    assert decode_para_text(payload) == "본문"


def test_records_with_extended_size_and_truncation() -> None:
    big = b"x" * 5000
    stream = struct.pack("<I", 67 | (1 << 10) | (0xFFF << 20)) + struct.pack("<I", len(big)) + big
    stream += struct.pack("<I", 66 | (4 << 20)) + b"abcd"
    assert [(t, lv, len(p)) for t, lv, p in iter_records(stream, "a.hwp", "S0")] == [(67, 1, 5000), (66, 0, 4)]
    with pytest.raises(DocumentError, match="runs past the end"):
        list(iter_records(stream[:-2], "a.hwp", "S0"))


def test_inflate_is_capped() -> None:
    packed = zlib.compress(b"\0" * 5_000_000)[2:-4]  # raw deflate, as in BodyText
    assert len(inflate(packed, UnpackBudget("a.hwp", ReadLimits()), "BodyText/Section0")) == 5_000_000
    with pytest.raises(DocumentError, match="passes the 1 MB limit"):
        inflate(packed, UnpackBudget("a.hwp", ReadLimits(max_unpacked_bytes=1_000_000)), "BodyText/Section0")


# -- HWP 5.0 samples ----------------------------------------------------------------------------


def test_hwp_sample_paragraphs_tables_notes_and_summary() -> None:
    doc = read_bytes(_sample("hwp5_sample-5017.hwp"), "hwp5_sample-5017.hwp")
    assert doc.title == "제목입니다." and doc.metadata["author"] == "지은이입니다."
    assert doc.metadata["format"] == "hwp" and doc.metadata["tables"] == 3
    assert doc.text.startswith("한글 2005 예제 파일입니다.\n머리말입니다\n본문 내용입니다.")
    assert "A0 | B0\nA1 | B10 B11" in doc.text  # a table as rows; a cell with two paragraphs
    assert "미주입니다." in doc.text and "이건 각주이지요." in doc.text
    assert not any(ord(c) < 32 and c not in "\n\t" for c in doc.text)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hwp5_footnote-endnote.hwp", ["각주참조", "각주 두 번째입니다.", "미주 두 번째입니다."]),
        ("hwp5_headerfooter.hwp", ["첫 페이지", "이것은 머리말입니다.", "이것은 꼬리말입니다."]),
        ("hwp5_lists.hwp", ["글머리표 두 번째", "문단번호 세 번째 (새 번호)", "개요 세 번째 (새 번호)"]),
    ],
)
def test_hwp_samples(name: str, expected: list[str]) -> None:
    doc = read_bytes(_sample(name), name)
    for text in expected:
        assert text in doc.text


def test_hwp_top_level_outline_paragraphs_are_sections() -> None:
    doc = read_bytes(_sample("hwp5_lists.hwp"), "hwp5_lists.hwp")
    # the sample's 개요 paragraphs: level-1 ones ("1".."5") are sections, "2-1" (level 2) is not
    assert [t for _, t in doc.sections] == ["1", "2", "3", "4", "5", "1", "2", "3", "4"]
    before = doc.text[: doc.sections[0][0]]
    assert before.endswith("개요\n") and "문단번호" in before  # numbered/bulleted lists are not headings
    for start, title in doc.sections:
        assert doc.text[start:].startswith(title)


def test_hwp_with_only_an_empty_table_is_empty_not_broken() -> None:
    with pytest.raises(EmptyDocumentError, match="holds no text"):
        read_bytes(_sample("hwp5_table.hwp"), "hwp5_table.hwp")


def test_encrypted_hwp_is_refused_with_the_reason() -> None:
    with pytest.raises(DocumentError, match="encrypted with a password") as e:
        read_bytes(_sample("hwp5_password-12345.hwp"), "hwp5_password-12345.hwp")
    assert e.value.path == "hwp5_password-12345.hwp"


def _with_flags(data: bytes, flags: int) -> bytes:
    """The file with other FileHeader flags (the header's sector may also have a stale copy: patch all)."""
    out = bytearray(data)
    at = out.find(b"HWP Document File")
    while at >= 0:
        out[at + 36 : at + 40] = struct.pack("<I", flags)
        at = out.find(b"HWP Document File", at + 1)
    return bytes(out)


@pytest.mark.parametrize(
    ("flags", "reason"),
    [(0b11, "encrypted with a password"), (0b101, "distribution-locked"), (0b10001, "DRM-protected")],
)
def test_protection_flags_are_refused(flags: int, reason: str) -> None:
    data = _with_flags(_sample("hwp5_footnote-endnote.hwp"), flags)
    with pytest.raises(DocumentError, match=reason):
        read_bytes(data, "보안.hwp")


def test_hwp_that_is_not_ole_and_damaged_hwp() -> None:
    with pytest.raises(DocumentError, match="not an OLE compound file") as e:
        read_bytes("그냥 텍스트입니다".encode(), "가짜.hwp")
    assert e.value.path == "가짜.hwp"
    with pytest.raises(UnsupportedFormatError, match=r"HWP 3\.x"):
        read_bytes(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + b"\0" * 100, "옛날.hwp")
    data = _sample("hwp5_sample-5017.hwp")
    with pytest.raises(DocumentError, match="damaged"):
        read_bytes(data[: len(data) // 2], "잘린.hwp")


def test_ole_file_that_is_not_hwp() -> None:
    # rename the FileHeader stream in the OLE directory: an OLE file like a .doc, named .hwp
    data = _sample("hwp5_headerfooter.hwp").replace("FileHeader".encode("utf-16le"), "FileHeadeX".encode("utf-16le"))
    with pytest.raises(UnsupportedFormatError, match="OLE compound file"):
        reader_for("문서.dat", data[:4096], data)
    with pytest.raises(UnsupportedFormatError, match="without an HWP FileHeader"):
        read_bytes(data, "워드.hwp")


def test_ole_file_is_chosen_by_content() -> None:
    data = _sample("hwp5_headerfooter.hwp")
    assert reader_for("문서.dat", data[:4096], data).name == "hwp"


# -- HWPX ---------------------------------------------------------------------------------------


def test_generated_hwpx_paragraphs_table_title_and_order() -> None:
    sec0 = hwpx_section_xml(
        ["제1조(목적) 이 규칙은 민원 처리 절차를 정한다.", "둘째 줄은\n줄바꿈을 품는다."],
        table=[["구분", "처리 기한"], ["일반 민원", "7일"], ["고충 민원", "14일"]],
    )
    sec1 = hwpx_section_xml(["제2조(부칙) 이 규칙은 공포한 날부터 시행한다."])
    doc = read_bytes(korean_hwpx([sec0, sec1], title="민원 처리 규칙"), "규칙.hwpx")
    assert doc.title == "민원 처리 규칙" and doc.metadata["author"] == "시험"
    assert doc.metadata == {**doc.metadata, "format": "hwpx", "sections": 2, "tables": 1}
    assert doc.text == (
        "제1조(목적) 이 규칙은 민원 처리 절차를 정한다.\n둘째 줄은\n줄바꿈을 품는다.\n"
        "구분 | 처리 기한\n일반 민원 | 7일\n고충 민원 | 14일\n"
        "제2조(부칙) 이 규칙은 공포한 날부터 시행한다."
    )


def test_hwpx_outline_headings_are_sections() -> None:
    sec = hwpx_section_xml(
        ["1|Ⅰ. 추진 배경", "본문 첫 문단.", "2|가. 세부 항목", "둘째 문단.", "1|Ⅱ. 추진 계획", "셋째 문단."]
    )
    doc = read_bytes(korean_hwpx([sec]), "계획.hwpx")
    assert [t for _, t in doc.sections] == ["Ⅰ. 추진 배경", "Ⅱ. 추진 계획"]
    assert doc.text[doc.sections[1][0] :] == "Ⅱ. 추진 계획\n셋째 문단."


def test_hwpx_is_told_from_docx_by_content() -> None:
    data = korean_hwpx([hwpx_section_xml(["내용"])])
    assert reader_for("잘못된이름.docx", data[:4096], data).name == "hwpx"
    assert read_bytes(data, "잘못된이름.docx").metadata["format"] == "hwpx"


def test_hwpx_bad_inputs() -> None:
    with pytest.raises(DocumentError, match="mimetype"):
        read_bytes(korean_hwpx([hwpx_section_xml(["x"])], mimetype=b"application/epub+zip"), "책.hwpx")
    bomb = zip_bomb("Contents/section0.xml", 200 * 1024 * 1024, first={"mimetype": b"application/hwp+zip"})
    with pytest.raises(DocumentError, match="decompression bomb"):
        read_bytes(bomb, "폭탄.hwpx")
    encrypted = korean_hwpx(
        [hwpx_section_xml(["x"])], extra={"META-INF/manifest.xml": b"<manifest><encryption-data/></manifest>"}
    )
    with pytest.raises(DocumentError, match="encrypted"):
        read_bytes(encrypted, "암호.hwpx")
    with pytest.raises(DocumentError, match="not well-formed"):
        read_bytes(korean_hwpx(["<hs:sec><hp:p>"]), "깨짐.hwpx")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hwpx_multipara.hwpx", ["김하성은 볼카운트 2B 2S에서", "김하성의 3점홈런은 결승타로 남았다."]),
        ("hwpx_Table.hwpx", ["C반 기말고사", "이름 | 국어 | 영어 | 수학", "개똥이 | 89 | 65 | 78"]),
        ("hwpx_SimpleTable.hwpx", ["1 | 2", "5 | 4"]),
        ("hwpx_HeaderFooter.hwpx", ["머리말 테스트", "꼬리말"]),
        ("hwpx_sample1.hwpx", ["우리는 수학 이다."]),
    ],
)
def test_hwpx_samples(name: str, expected: list[str]) -> None:
    doc = read_bytes(_sample(name), name)
    assert doc.metadata["format"] == "hwpx"
    for text in expected:
        assert text in doc.text
