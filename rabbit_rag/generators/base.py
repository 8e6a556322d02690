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


#: The default chat model: Rabbit-Ko, a Korean Llama-3.2 3B instruct model, through its own chat template.
DEFAULT_LLM_MODEL = "CarrotAI/Llama-3.2-Rabbit-Ko-3B-Instruct-2412"
#: Generation defaults shared by every backend (and :class:`~rabbit_rag.settings.Settings`): an answer
#: budget in model tokens, greedy decoding (deterministic answers), no nucleus cut.
DEFAULT_MAX_NEW_TOKENS = 512
DEFAULT_TEMPERATURE = 0.0
DEFAULT_TOP_P = 1.0
#: OpenAI-compatible servers: seconds to wait for the next bytes and for a connection, and the served
#: model's context length when the server does not say.
DEFAULT_OPENAI_BASE_URL = "http://localhost:8000/v1"
DEFAULT_OPENAI_TIMEOUT = 60.0
DEFAULT_OPENAI_CONNECT_TIMEOUT = 5.0
DEFAULT_OPENAI_MAX_CONTEXT = 8192
#: Local transformers models: the decoder (``auto`` = the static decoder on CUDA, ``generate`` elsewhere;
#: see :mod:`rabbit_rag.generators.transformers_chat`), how many answers the static decoder decodes together,
#: whether it replays CUDA graphs, and whether it compiles its step first (off until measured on a GPU).
DEFAULT_LLM_DECODER = "auto"
DEFAULT_LLM_MAX_BATCH = 16
DEFAULT_LLM_CUDA_GRAPHS = True
DEFAULT_LLM_COMPILE = False


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
