"""Choosing a generator by name: ``auto``, ``transformers``, ``openai`` or ``extractive``.

``auto`` answers with the configured ``transformers`` model when it loads here, and otherwise with
the extractive answerer — saying why on stderr and in the generator's name
(``extractive (fallback: model '…' cannot be loaded: …)``), so a fallback is never silent. An
explicit ``transformers`` raises :class:`ModelUnavailableError` instead of falling back.

예::

    gen = make_generator("auto")                     # Rabbit-Ko if it is here, else extractive
    gen = make_generator("openai", openai_base_url="http://localhost:8000/v1")
    gen = generator_from_settings(Settings(), "extractive")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rabbit_rag.embeddings import Embedder
from rabbit_rag.errors import InvalidInputError, ModelUnavailableError
from rabbit_rag.generators.base import Generator
from rabbit_rag.settings import DEFAULT_LLM_MODEL

if TYPE_CHECKING:
    from rabbit_rag.settings import Settings

GENERATOR_KINDS = ("auto", "transformers", "openai", "extractive")


def _notice(message: str) -> None:
    from rabbit_rag.index.store import notice

    notice(message)


def make_generator(
    kind: str = "auto",
    *,
    model: str = DEFAULT_LLM_MODEL,
    device: str | None = None,
    dtype: str = "auto",
    max_context: int | None = None,
    max_new_tokens: int = 512,
    temperature: float = 0.0,
    top_p: float = 1.0,
    openai_base_url: str = "http://localhost:8000/v1",
    openai_model: str | None = None,
    openai_api_key: str | None = None,
    openai_timeout: float = 60.0,
    openai_connect_timeout: float = 5.0,
    openai_max_context: int = 8192,
    extractive_max_missing: float | None = None,
    embedder: Embedder | None = None,
    notify: Callable[[str], None] = _notice,
) -> Generator:
    """The generator called ``kind`` (one of :data:`GENERATOR_KINDS`).

    ``model`` is the transformers model id or folder; ``openai_model`` defaults to ``model``;
    ``embedder`` adds a semantic score to the extractive answerer; ``extractive_max_missing`` makes it
    decline questions whose words the sources mostly never mention (see
    :class:`~rabbit_rag.generators.extractive.ExtractiveGenerator`).
    """
    from rabbit_rag.generators.extractive import ExtractiveGenerator
    from rabbit_rag.generators.llm import LLMGenerator

    kind = (kind or "auto").strip().lower()
    if kind not in GENERATOR_KINDS:
        raise InvalidInputError(
            f"generator {kind!r} is not one of {', '.join(GENERATOR_KINDS)}; e.g. --llm extractive needs no model"
        )
    if kind == "extractive":
        return ExtractiveGenerator(embedder, max_missing_share=extractive_max_missing)
    if kind == "openai":
        from rabbit_rag.generators.openai_chat import OpenAIChatModel

        chat = OpenAIChatModel(
            openai_base_url, openai_model or model, api_key=openai_api_key, timeout=openai_timeout,
            connect_timeout=openai_connect_timeout, max_context=openai_max_context, max_new_tokens=max_new_tokens,
            temperature=temperature, top_p=top_p,
        )  # fmt: skip
        return LLMGenerator(chat, max_new_tokens=max_new_tokens, temperature=temperature)
    from rabbit_rag.generators.transformers_chat import load_chat_model

    try:
        chat_model = load_chat_model(
            model, device=device, dtype=dtype, max_context=max_context, max_new_tokens=max_new_tokens,
            temperature=temperature, top_p=top_p,
        )  # fmt: skip
    except ModelUnavailableError as e:
        if kind == "transformers":
            raise
        notify(f"answering with the extractive answerer (no language model): {e}")
        return ExtractiveGenerator(embedder, max_missing_share=extractive_max_missing, fallback_reason=str(e))
    return LLMGenerator(chat_model, max_new_tokens=max_new_tokens, temperature=temperature)


def generator_from_settings(
    settings: Settings,
    kind: str | None = None,
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    notify: Callable[[str], None] = _notice,
) -> Generator:
    """:func:`make_generator` with every option from ``settings`` (``kind`` and ``model`` override)."""
    s = settings
    return make_generator(
        kind or s.llm, model=model or s.llm_model, device=s.llm_device, dtype=s.llm_dtype,
        max_context=s.llm_max_context, max_new_tokens=s.max_new_tokens, temperature=s.temperature, top_p=s.top_p,
        openai_base_url=s.openai_base_url, openai_model=s.openai_model or (model if model else None),
        openai_api_key=s.openai_api_key.get_secret_value() if s.openai_api_key else None,
        openai_timeout=s.openai_timeout, openai_connect_timeout=s.openai_connect_timeout,
        openai_max_context=s.openai_max_context, extractive_max_missing=s.extractive_max_missing,
        embedder=embedder, notify=notify,
    )  # fmt: skip
