"""Follow-up questions are expanded with the conversation's topic question."""

from __future__ import annotations

from rabbit_rag.conversation import Turn, condense_query, is_follow_up, topic_for
from rabbit_rag.text.terms import content_terms


def test_follow_ups() -> None:
    assert is_follow_up("그럼 국회의원은?")
    assert is_follow_up("대법원장은?")  # one content word of its own
    assert not is_follow_up("대통령 임기는 몇 년이야?")
    assert not is_follow_up("이 헌법은 언제부터 시행되었나?")
    assert content_terms("국회의원 임기는 얼마 동안인가요?") == [
        "국회의원",
        "임기",
    ]  # 동안 asks nothing (terms.LIGHT_TERMS)


def test_condense_keeps_the_topic_across_a_chain() -> None:
    first = Turn("대통령 임기는 몇 년이야?", "5년 [1]")
    assert condense_query("그럼 국회의원은?", []) == "그럼 국회의원은?"
    assert condense_query("그럼 국회의원은?", [first]) == "대통령 임기는 몇 년이야? 그럼 국회의원은?"
    second = Turn("그럼 국회의원은?", "4년 [1]", topic_for("그럼 국회의원은?", [first]))
    assert condense_query("대법원장은?", [first, second]) == "대통령 임기는 몇 년이야? 대법원장은?"
    assert condense_query("헌법 개정 절차는 어떻게 되나?", [first, second]) == "헌법 개정 절차는 어떻게 되나?"


def test_condensed_query_stays_within_the_query_limit() -> None:
    long_topic = Turn("대통령 임기는 몇 년이야? " + "가" * 3000, "5년 [1]")
    q = condense_query("그럼 국회의원은?", [long_topic], max_chars=1000)
    assert len(q) <= 1000 and q.endswith("그럼 국회의원은?")
