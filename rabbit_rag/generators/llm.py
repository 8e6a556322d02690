"""The language-model answerer: numbered sources in a Korean prompt, the chat model's streamed reply.

예::

    gen = LLMGenerator(load_chat_model("CarrotAI/Llama-3.2-Rabbit-Ko-3B-Instruct-2412"))
    draft = gen.draft("국회의원 임기는?", hits)
    for piece in draft.pieces:
        print(piece, end="")
"""

from __future__ import annotations

from collections.abc import Sequence

from rabbit_rag.conversation import Turn
from rabbit_rag.generators.base import DEFAULT_MAX_NEW_TOKENS, ChatModel, Draft
from rabbit_rag.prompts import SYSTEM_PROMPT, fit_prompt
from rabbit_rag.types import ScoredChunk


class LLMGenerator:
    """Answers with a :class:`ChatModel`: fits the sources into its context (lowest-ranked dropped
    first) and streams its reply."""

    def __init__(
        self,
        chat_model: ChatModel,
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float | None = None,
        system_prompt: str = SYSTEM_PROMPT,
    ) -> None:
        self.chat_model = chat_model
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.system_prompt = system_prompt

    @property
    def name(self) -> str:
        return self.chat_model.name

    def draft(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> Draft:
        model = self.chat_model
        answer_tokens = min(self.max_new_tokens, max(model.max_context // 2, 1))
        prompt = fit_prompt(
            question, sources, model.count_tokens, model.max_context, answer_tokens, history, self.system_prompt
        )
        notes = []
        if prompt.dropped_sources:
            notes.append(f"{prompt.dropped_sources} lower-ranked source(s) left out to fit the model's context")
        if prompt.dropped_turns:
            notes.append(f"{prompt.dropped_turns} earlier turn(s) left out to fit the model's context")
        if prompt.truncated:
            notes.append("the best source was cut short to fit the model's context")
        pieces = model.stream_chat(prompt.messages, max_new_tokens=answer_tokens, temperature=self.temperature)
        return Draft(prompt.sources, pieces, prompt.prompt_tokens, notes)
