"""Choosing a generator by name: ``auto``, ``transformers``, ``openai`` or ``extractive``.

``auto`` answers with the configured ``transformers`` model when it loads here, and otherwise with
the extractive answerer — saying why on stderr and in the generator's name
(``extractive (fallback: model '…' cannot be loaded: …)``), so a fallback is never silent. An
explicit ``transformers`` raises :class:`ModelUnavailableError` instead of falling back.

예::

    gen = make_generator("auto")                     # Rabbit-Ko if it is here, else extractive
    gen = make_generator("openai", openai_base_url="http://localhost:8000/v1")
"""

from __future__ import annotations

from collections.abc import Callable

from rabbit_rag.embeddings import Embedder
from rabbit_rag.errors import InvalidInputError, ModelUnavailableError
from rabbit_rag.generators.base import (
    DEFAULT_LLM_COMPILE,
    DEFAULT_LLM_CUDA_GRAPHS,
    DEFAULT_LLM_DECODER,
    DEFAULT_LLM_MAX_BATCH,
    DEFAULT_LLM_MODEL,
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_OPENAI_BASE_URL,
    DEFAULT_OPENAI_CONNECT_TIMEOUT,
    DEFAULT_OPENAI_MAX_CONTEXT,
    DEFAULT_OPENAI_TIMEOUT,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    Generator,
)
from rabbit_rag.generators.extractive import ExtractiveGenerator
from rabbit_rag.generators.llm import LLMGenerator
from rabbit_rag.generators.openai_chat import OpenAIChatModel
from rabbit_rag.generators.transformers_chat import load_chat_model
from rabbit_rag.notices import notice
from rabbit_rag.types import GENERATOR_KINDS


def make_generator(
    kind: str = "auto",
    *,
    model: str = DEFAULT_LLM_MODEL,
    device: str | None = None,
    dtype: str = "auto",
    max_context: int | None = None,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float = DEFAULT_TOP_P,
    openai_base_url: str = DEFAULT_OPENAI_BASE_URL,
    openai_model: str | None = None,
    openai_api_key: str | None = None,
    openai_timeout: float = DEFAULT_OPENAI_TIMEOUT,
    openai_connect_timeout: float = DEFAULT_OPENAI_CONNECT_TIMEOUT,
    openai_max_context: int = DEFAULT_OPENAI_MAX_CONTEXT,
    extractive_max_missing: float | None = None,
    embedder: Embedder | None = None,
    notify: Callable[[str], None] = notice,
    decoder: str = DEFAULT_LLM_DECODER,
    max_batch: int = DEFAULT_LLM_MAX_BATCH,
    cuda_graphs: bool = DEFAULT_LLM_CUDA_GRAPHS,
    compile_step: bool = DEFAULT_LLM_COMPILE,
) -> Generator:
    """The generator called ``kind`` (one of :data:`GENERATOR_KINDS`).

    ``model`` is the transformers model id or folder; ``openai_model`` defaults to ``model``;
    ``embedder`` adds a semantic score to the extractive answerer; ``extractive_max_missing`` makes it
    decline questions whose words the sources mostly never mention (see
    :class:`~rabbit_rag.generators.extractive.ExtractiveGenerator`); ``decoder``, ``max_batch``,
    ``cuda_graphs`` and ``compile_step`` choose how a transformers model decodes (see
    :class:`~rabbit_rag.generators.transformers_chat.TransformersChatModel`).
    """
    kind = (kind or "auto").strip().lower()
    if kind not in GENERATOR_KINDS:
        raise InvalidInputError(
            f"generator {kind!r} is not one of {', '.join(GENERATOR_KINDS)}; e.g. --llm extractive needs no model"
        )
    if kind == "extractive":
        return ExtractiveGenerator(embedder, max_missing_share=extractive_max_missing)
    if kind == "openai":
        chat = OpenAIChatModel(
            openai_base_url, openai_model or model, api_key=openai_api_key, timeout=openai_timeout,
            connect_timeout=openai_connect_timeout, max_context=openai_max_context, max_new_tokens=max_new_tokens,
            temperature=temperature, top_p=top_p,
        )  # fmt: skip
        return LLMGenerator(chat, max_new_tokens=max_new_tokens, temperature=temperature)
    try:
        chat_model = load_chat_model(
            model, device=device, dtype=dtype, max_context=max_context, max_new_tokens=max_new_tokens,
            temperature=temperature, top_p=top_p, decoder=decoder, max_batch=max_batch, cuda_graphs=cuda_graphs,
            compile_step=compile_step, notify=notify,
        )  # fmt: skip
    except ModelUnavailableError as e:
        if kind == "transformers":
            raise
        notify(f"answering with the extractive answerer (no language model): {e}")
        return ExtractiveGenerator(embedder, max_missing_share=extractive_max_missing, fallback_reason=str(e))
    return LLMGenerator(chat_model, max_new_tokens=max_new_tokens, temperature=temperature)
