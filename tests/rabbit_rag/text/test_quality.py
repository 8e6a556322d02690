"""Garbled text layers: private-use characters, Latin-1 mojibake, unmapped glyphs; real text passes."""

from __future__ import annotations

import pytest

from rabbit_rag.text.quality import garbled_reason

KOREAN = "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다."


def test_mojibake_kinds_are_named() -> None:
    assert "Latin-1" in (garbled_reason(KOREAN.encode("euc-kr").decode("latin-1")) or "")
    assert "private-use" in (garbled_reason("".join(chr(0xE000 + ord(c) % 256) for c in KOREAN)) or "")
    assert "replacement" in (garbled_reason("\ufffd" * 40 + " 본문") or "")


@pytest.mark.parametrize(
    "text",
    [
        KOREAN,
        "Les élèves français étudient à l'école près de la rivière.",  # accents are a small share
        "온도는 25°C ± 0.5°, 면적은 30 m² 이다. 제3조 § 2 참조 · 한국 © 2024",
        "본문 중에 한컴 기호 \uf53a 가 한두 개 섞인 한글 문서의 본문이다. 길게 이어지는 본문.",
        "ÇÑ±¹",  # too short to judge
        "",
    ],
)
def test_real_text_is_not_garbled(text: str) -> None:
    assert garbled_reason(text) is None
