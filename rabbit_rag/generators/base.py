"""The two interfaces: a chat model streams text for chat messages; a generator streams an answer
for a question and its numbered sources.

예::

    for piece in chat_model.stream_chat([{"role": "user", "content": "안녕하세요"}]):
        print(piece, end="")

    draft = generator.draft("국회의원 임기는?", hits)
    text = "".join(draft.pieces)     # '국회의원의 임기는 4년으로 한다. [1]'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypedDict, runtime_checkable

if TYPE_CHECKING:
    from rabbit_rag.conversation import Turn
    from rabbit_rag.types import ScoredChunk


class ChatMessage(TypedDict):
    """One chat message: ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@runtime_checkable
class ChatModel(Protocol):
    """A chat model that streams text. ``name`` reads ``transformers:<id>`` or ``openai:<model>``."""

    name: str

    @property
    def max_context(self) -> int:
        """Prompt plus answer tokens the model accepts."""
        ...

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the prompt these messages make (chat template and generation prompt included)."""
        ...

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        """The reply, piece by piece. Closing the iterator early stops the generation."""
        ...


@dataclass
class Draft:
    """A generator's answer in the making: the sources it numbered ``[1]..[n]`` (in that order) and
    the answer text as it streams. :meth:`close` stops the generation early."""

    sources: list[ScoredChunk]
    pieces: Iterator[str]
    prompt_tokens: int | None = None
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        close = getattr(self.pieces, "close", None)
        if close is not None:
            close()


@runtime_checkable
class Generator(Protocol):
    """Turns a question and retrieved passages into a streamed answer with ``[n]`` markers.

    ``name`` says what produces the answers: ``extractive``, ``transformers:<model id>`` or
    ``openai:<model>`` (a fallback says so in the name too).
    """

    name: str

    def draft(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> Draft: ...
