"""Normalization and encoding detection."""

from __future__ import annotations

import unicodedata

import pytest

from rabbit_rag.errors import DocumentError, EmptyDocumentError
from rabbit_rag.text.normalize import decode_bytes, normalize_text

KOREAN = "대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다."


def test_nfd_input_becomes_nfc() -> None:
    nfd = unicodedata.normalize("NFD", KOREAN)
    assert nfd != KOREAN and len(nfd) > len(KOREAN)
    assert normalize_text(nfd) == KOREAN


def test_line_ends_and_controls() -> None:
    raw = "제1조\r\n대한민국은\r민주공화국이다.\u2028끝\x00\x07\ufeff"
    assert normalize_text(raw) == "제1조\n대한민국은\n민주공화국이다.\n끝"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp949", "cp949"), ("euc-kr", "cp949")],
)
def test_decode_detects_encodings(encoding: str, expected: str) -> None:
    data = (
        (KOREAN + "\n똠방각하 펲시콜라").encode(encoding) if encoding == "cp949" else (KOREAN + "\n").encode(encoding)
    )
    decoded = decode_bytes(data, "a.txt")
    assert decoded.encoding == expected
    assert decoded.text.lstrip("\ufeff").startswith(KOREAN)


def test_cp949_file_on_disk(tmp_path) -> None:
    p = tmp_path / "레거시.txt"
    p.write_bytes("국회의원의 임기는 4년으로 한다.\r\n똠방각하".encode("cp949"))
    decoded = decode_bytes(p.read_bytes(), p.name)
    assert decoded.encoding == "cp949"
    assert normalize_text(decoded.text) == "국회의원의 임기는 4년으로 한다.\n똠방각하"


def test_binary_content_is_an_error_naming_the_file() -> None:
    with pytest.raises(DocumentError, match=r"photo\.txt: binary content \(PNG image\)"):
        decode_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "photo.txt")
    with pytest.raises(DocumentError, match=r"x\.txt: binary content \(NUL bytes\), not text") as e:
        decode_bytes(b"abc\x00\x01\x02" * 10, "x.txt")
    assert str(e.value).count("binary") == 1  # not "binary content (binary data (NUL bytes))"


def test_empty_is_its_own_error() -> None:
    with pytest.raises(EmptyDocumentError, match="empty"):
        decode_bytes(b"  \n\t ", "blank.txt")
