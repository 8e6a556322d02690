"""Multi-turn chat: what a follow-up question means, given the turns before it.

A follow-up such as ``그럼 국회의원은?`` names only what changed; retrieval needs the rest. We
*expand* it instead of asking the language model to rewrite it: the retrieval query becomes the
topic question of the conversation followed by the follow-up (``대통령 임기는 몇 년이야? 그럼
국회의원은?``). BM25 then finds passages with both the new subject and the old predicate, and the
answerers weight the follow-up's own words above the topic's. Why not an LLM rewrite: it costs a
whole generation per turn (seconds on a CPU), fails silently offline, and the extractive answerer
has no model at all; expansion is free, deterministic and works for every generator.

A question is a follow-up when it opens with a connective or pointer (그럼, 그러면, 그건, 또, 그 …)
or carries at most one content word of its own (``대법원장은?``). The topic is the last question that
was not a follow-up, so chains of follow-ups stay anchored to it and do not grow.

예::

    turns = [Turn("대통령 임기는 몇 년이야?", "대통령의 임기는 5년으로 한다. [1]")]
    condense_query("그럼 국회의원은?", turns)   # '대통령 임기는 몇 년이야? 그럼 국회의원은?'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rabbit_rag.text.terms import content_terms

#: Openers that make a question lean on the previous turn.
FOLLOW_UP_OPENERS = re.compile(
    r"^\s*(?:그럼|그러면|그렇다면|그건|그것은|그거|그게|그리고|그런데|근데|또|또는|아니면|반면|이건|이것은|저건|"
    r"거기|그때|그\s|같은\s)"
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One finished exchange: the question as asked, the answer text, and the topic question it
    hangs on (itself for a standalone question)."""

    question: str
    answer: str
    topic: str = ""

    @property
    def topic_question(self) -> str:
        return self.topic or self.question


def is_follow_up(question: str) -> bool:
    """Whether ``question`` leans on an earlier turn (see the module docstring)."""
    if FOLLOW_UP_OPENERS.match(question):
        return True
    return len(set(content_terms(question))) <= 1


def topic_for(question: str, history: Sequence[Turn]) -> str:
    """The topic question a new turn hangs on: the last standalone question for a follow-up, else itself."""
    if history and is_follow_up(question):
        return history[-1].topic_question
    return question


def condense_query(question: str, history: Sequence[Turn], max_chars: int = 4000) -> str:
    """The retrieval query for ``question`` after ``history``: the question itself when it stands
    alone, else the topic question followed by the follow-up (the topic cut short to stay within
    ``max_chars``, the retrievers' query limit)."""
    topic = topic_for(question, history)
    if topic == question:
        return question
    room = max_chars - len(question) - 1
    return f"{topic[:room]} {question}" if room > 0 else question
