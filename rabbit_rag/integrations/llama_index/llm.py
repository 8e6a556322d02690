"""``RabbitLLM``: rabbit-rag's generators as a llama-index ``LLM``.

Two kinds of backend:

- a chat model (:class:`~rabbit_rag.generators.transformers_chat.TransformersChatModel` — Rabbit-Ko
  or any local model, through its own chat template — or
  :class:`~rabbit_rag.generators.openai_chat.OpenAIChatModel`): ``chat`` passes the messages with
  their roles, ``complete`` sends the prompt as one user message; both stream. Metadata gives the
  model's real context window;
- the extractive answerer (no language model): it answers a question from the context in the
  prompt with the context's best sentences. Through llama-index's response synthesizers it reads
  ``query_str`` and ``context_str`` straight from the prompt template's variables, so any QA
  template works; a bare ``complete(prompt)`` finds them in the prompt's text (llama-index's
  ``Context information is below`` / ``Query:`` layout). Without context it says that the documents
  do not answer (:data:`~rabbit_rag.prompts.NOT_FOUND`) — it never makes anything up.

예::

    llm = RabbitLLM("extractive")                              # no model needed
    llm = RabbitLLM("transformers", model="CarrotAI/Llama-3.2-Rabbit-Ko-3B-Instruct-2412")
    llm = RabbitLLM(load_chat_model("path/to/model"))
    for r in llm.stream_complete("안녕하세요"):
        print(r.delta, end="")
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.prompts import BasePromptTemplate

from rabbit_rag.citations import MARKER_RE, parse_markers
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.generators.base import ChatMessage as RabbitMessage
from rabbit_rag.generators.base import ChatModel, Generator
from rabbit_rag.generators.factory import make_generator
from rabbit_rag.prompts import NOT_FOUND
from rabbit_rag.types import Chunk, ScoredChunk

#: What the extractive answerer reports as its context window: it reads any amount of context, but
#: llama-index packs prompts to this size, and one big prompt lets it compare every passage at once.
EXTRACTIVE_CONTEXT_WINDOW = 32768

_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.CHATBOT: "assistant",
}
_RULE = re.compile(r"^\s*-{3,}\s*$", re.M)
_QUERY = re.compile(r"^\s*(?:Query|Question|질문)\s*[:：]\s*", re.M | re.I)
_ANSWER_TAIL = re.compile(r"\n\s*(?:Refined\s+)?(?:Answer|답변?)\s*[:：]?\s*$", re.I)
_SOURCE_LABEL = re.compile(r"^Source (\d+):[ \t]*\n?", re.M)


def _resolve(
    backend: Generator | ChatModel | str, options: dict[str, Any]
) -> tuple[Generator | None, ChatModel | None]:
    """The generator or chat model behind ``backend`` (a name goes through ``make_generator``)."""
    if isinstance(backend, str):
        backend = make_generator(backend, **options)
    elif options:
        raise InvalidInputError(
            f"options {sorted(options)} only apply when the backend is given by name, e.g. RabbitLLM('transformers', model=...)"
        )
    if isinstance(backend, ChatModel):
        return None, backend
    chat = getattr(backend, "chat_model", None)  # an LLMGenerator: talk to its chat model directly
    if isinstance(chat, ChatModel):
        return backend, chat
    if isinstance(backend, Generator):
        return backend, None
    raise InvalidInputError(
        f"RabbitLLM takes a generator, a chat model or a name ('extractive', 'transformers', 'openai', 'auto'), "
        f"not {type(backend).__name__}"
    )


def _template_vars(prompt: BasePromptTemplate, prompt_args: dict[str, Any]) -> dict[str, Any]:
    """The variables a template is formatted with: those fixed by ``partial_format`` and the call's."""
    fixed: dict[str, Any] = {}
    default = getattr(prompt, "default_template", None)  # SelectorPromptTemplate keeps them there
    for p in (default, prompt):
        fixed.update(getattr(p, "kwargs", None) or {})
    return {**fixed, **prompt_args}


def split_prompt(prompt: str) -> tuple[str, str]:
    """``(question, context)`` from a QA prompt's text: the context between the first two ``---``
    rules, the question after the last ``Query:`` / ``Question:`` / ``질문:``. A prompt in neither
    layout is all question and no context.

    예: ``split_prompt("Context information is below.\\n---\\n국회의원의 임기는 4년으로 한다.\\n---\\nQuery: 임기는?\\nAnswer: ")``
    → ``('임기는?', '국회의원의 임기는 4년으로 한다.')``
    """
    rules = list(_RULE.finditer(prompt))
    context = prompt[rules[0].end() : rules[1].start()].strip() if len(rules) >= 2 else ""
    queries = list(_QUERY.finditer(prompt))
    if queries:
        question = _ANSWER_TAIL.sub("", prompt[queries[-1].end() :]).strip()
    else:
        rest = prompt[rules[1].end() :] if len(rules) >= 2 else prompt
        question = _ANSWER_TAIL.sub("", rest).strip()
    return question, context


def _passages(context: str) -> tuple[list[str], list[int] | None]:
    """The context as passages: ``Source N:`` blocks (llama-index's CitationQueryEngine) keep their
    numbers; otherwise passages are the blank-line separated blocks, unnumbered."""
    labels = list(_SOURCE_LABEL.finditer(context))
    if labels:
        texts, numbers = [], []
        for i, m in enumerate(labels):
            end = labels[i + 1].start() if i + 1 < len(labels) else len(context)
            texts.append(context[m.end() : end].strip())
            numbers.append(int(m.group(1)))
        return texts, numbers
    return [p.strip() for p in re.split(r"\n\s*\n", context) if p.strip()], None


def _renumber(text: str, numbers: list[int] | None) -> str:
    """Our ``[n]`` markers point at passage n: map them to the ``Source N`` numbers, or drop them when
    the passages had no numbers (they would point at nothing the caller knows)."""
    if numbers is None:
        return re.sub(r"\s+([.!?。])", r"\1", MARKER_RE.sub("", text)).replace("  ", " ").strip()

    def repl(m: re.Match[str]) -> str:

        got = [numbers[n - 1] for mk in parse_markers(m.group(0)) for n in mk.numbers if 0 < n <= len(numbers)]
        return "".join(f"[{n}]" for n in got)

    return MARKER_RE.sub(repl, text)


class RabbitLLM(CustomLLM):
    """A rabbit-rag generator or chat model as a llama-index ``LLM`` (see the module docstring).

    ``backend``: a name for :func:`~rabbit_rag.generators.make_generator` (``extractive``,
    ``transformers``, ``openai``, ``auto``; keyword options go to it), a
    :class:`~rabbit_rag.generators.base.Generator` or a :class:`~rabbit_rag.generators.base.ChatModel`.
    """

    model_name: str = Field(default="extractive", description="What produces the text (our generator name).")
    context_window: int = Field(default=EXTRACTIVE_CONTEXT_WINDOW, description="Prompt plus answer tokens.")
    num_output: int = Field(default=512, description="Most tokens one answer may have.")
    temperature: float | None = Field(default=None, description="Sampling temperature (None: the model's).")
    _generator: Generator | None = PrivateAttr(default=None)
    _chat: ChatModel | None = PrivateAttr(default=None)

    def __init__(
        self,
        backend: Generator | ChatModel | str = "extractive",
        *,
        num_output: int | None = None,
        context_window: int | None = None,
        temperature: float | None = None,
        **options: Any,
    ) -> None:
        callback_manager = options.pop("callback_manager", None)
        generator, chat = _resolve(backend, options)
        if chat is not None:
            window = context_window or chat.max_context
            wanted = num_output or getattr(generator, "max_new_tokens", None) or 512
            num_output = max(1, min(wanted, window // 2))  # leave the prompt at least half the window
            name = chat.name
        else:
            assert generator is not None
            window = context_window or EXTRACTIVE_CONTEXT_WINDOW
            num_output = num_output or 512
            name = generator.name
        super().__init__(
            model_name=name, context_window=window, num_output=num_output, temperature=temperature,
            callback_manager=callback_manager,
        )  # fmt: skip
        self._generator, self._chat = generator, chat

    @classmethod
    def class_name(cls) -> str:
        return "RabbitLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            is_chat_model=self._chat is not None,
            model_name=self.model_name,
        )

    @property
    def chat_model(self) -> ChatModel | None:
        """The chat model behind this LLM (None for the extractive answerer)."""
        return self._chat

    @property
    def generator(self) -> Generator | None:
        """Our generator behind this LLM, when it was given one (or a name)."""
        return self._generator

    # -- text streams ----------------------------------------------------------------------------
    def _chat_pieces(self, messages: Sequence[RabbitMessage]) -> Iterator[str]:
        assert self._chat is not None
        return self._chat.stream_chat(messages, max_new_tokens=self.num_output, temperature=self.temperature)

    def _extract_pieces(self, question: str, context: str) -> Iterator[str]:
        """The extractive answer to ``question`` from ``context``, as one piece."""
        assert self._generator is not None
        texts, numbers = _passages(context)
        if not question.strip() or not texts:
            yield NOT_FOUND
            return
        sources = [
            ScoredChunk(Chunk(chunk_id=i, doc_id="context", source="context", start=0, end=len(t), text=t), 1.0)
            for i, t in enumerate(texts, 1)
        ]
        draft = self._generator.draft(question, sources)
        try:
            text = "".join(draft.pieces)
        finally:
            draft.close()
        yield _renumber(text, numbers)

    def _prompt_pieces(self, prompt: str) -> Iterator[str]:
        if self._chat is not None:
            return self._chat_pieces([{"role": "user", "content": prompt}])
        return self._extract_pieces(*split_prompt(prompt))

    # -- completion ------------------------------------------------------------------------------
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="".join(self._prompt_pieces(prompt)))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        pieces = self._prompt_pieces(prompt)

        def gen() -> CompletionResponseGen:
            text = ""
            try:
                for piece in pieces:
                    text += piece
                    yield CompletionResponse(text=text, delta=piece)
            finally:
                _close(pieces)  # a consumer that stops early stops the generation

        return gen()

    # -- chat ------------------------------------------------------------------------------------
    @staticmethod
    def _messages(messages: Sequence[ChatMessage]) -> list[RabbitMessage]:
        return [{"role": _ROLES.get(m.role, "user"), "content": m.content or ""} for m in messages]

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        if self._chat is None:
            return super().chat(messages, **kwargs)
        text = "".join(self._chat_pieces(self._messages(messages)))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        if self._chat is None:
            return super().stream_chat(messages, **kwargs)
        pieces = self._chat_pieces(self._messages(messages))

        def gen() -> ChatResponseGen:
            text = ""
            try:
                for piece in pieces:
                    text += piece
                    yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=piece)
            finally:
                _close(pieces)

        return gen()

    # -- prompt templates (the extractive answerer reads the variables) ----------------------------
    def _extractive_args(self, prompt: BasePromptTemplate, prompt_args: dict[str, Any]) -> tuple[str, str, str] | None:
        if self._chat is not None:
            return None
        v = _template_vars(prompt, prompt_args)
        context = v.get("context_str", v.get("context_msg"))
        if "query_str" not in v or context is None:
            return None
        return str(v["query_str"]), str(context), str(v.get("existing_answer") or "")

    def _extractive_answer(self, question: str, context: str, existing: str) -> str:
        # Refining (one node at a time, best first): keep the first real answer.
        if existing.strip() and NOT_FOUND not in existing:
            return existing
        return "".join(self._extract_pieces(question, context))

    def predict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        args = self._extractive_args(prompt, prompt_args)
        if args is None:
            return super().predict(prompt, **prompt_args)
        return self._extractive_answer(*args)

    def stream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> Iterator[str]:
        args = self._extractive_args(prompt, prompt_args)
        if args is None:
            return super().stream(prompt, **prompt_args)
        return iter([self._extractive_answer(*args)])

    async def apredict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        args = self._extractive_args(prompt, prompt_args)
        if args is None:
            return await super().apredict(prompt, **prompt_args)
        return self._extractive_answer(*args)

    async def astream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> AsyncIterator[str]:
        args = self._extractive_args(prompt, prompt_args)
        if args is None:
            return await super().astream(prompt, **prompt_args)
        answer = self._extractive_answer(*args)

        async def gen() -> AsyncIterator[str]:
            yield answer

        return gen()


def _close(it: Any) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()
