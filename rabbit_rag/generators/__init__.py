"""Answer generators behind one small streaming interface.

Two layers:

- a :class:`~rabbit_rag.generators.base.ChatModel` streams text for a list of chat messages —
  :class:`~rabbit_rag.generators.transformers_chat.TransformersChatModel` (a local Hugging Face model)
  or :class:`~rabbit_rag.generators.openai_chat.OpenAIChatModel` (any ``/v1/chat/completions`` server);
- a :class:`~rabbit_rag.generators.base.Generator` turns a question and numbered sources into a
  streamed answer — :class:`~rabbit_rag.generators.llm.LLMGenerator` (prompt + a chat model) or
  :class:`~rabbit_rag.generators.extractive.ExtractiveGenerator` (no language model).

:func:`~rabbit_rag.generators.factory.make_generator` picks one by name (``auto``, ``transformers``,
``openai``, ``extractive``). Nothing heavy is imported until a name below is used.

예::

    from rabbit_rag.generators import make_generator
    gen = make_generator("extractive")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_LAZY = {
    "ChatMessage": "rabbit_rag.generators.base",
    "ChatModel": "rabbit_rag.generators.base",
    "Generator": "rabbit_rag.generators.base",
    "Draft": "rabbit_rag.generators.base",
    "TransformersChatModel": "rabbit_rag.generators.transformers_chat",
    "load_chat_model": "rabbit_rag.generators.transformers_chat",
    "OpenAIChatModel": "rabbit_rag.generators.openai_chat",
    "LLMGenerator": "rabbit_rag.generators.llm",
    "ExtractiveGenerator": "rabbit_rag.generators.extractive",
    "GENERATOR_KINDS": "rabbit_rag.generators.factory",
    "make_generator": "rabbit_rag.generators.factory",
    "generator_from_settings": "rabbit_rag.generators.factory",
}

if TYPE_CHECKING:
    from rabbit_rag.generators.base import ChatMessage, ChatModel, Draft, Generator
    from rabbit_rag.generators.extractive import ExtractiveGenerator
    from rabbit_rag.generators.factory import GENERATOR_KINDS, generator_from_settings, make_generator
    from rabbit_rag.generators.llm import LLMGenerator
    from rabbit_rag.generators.openai_chat import OpenAIChatModel
    from rabbit_rag.generators.transformers_chat import TransformersChatModel, load_chat_model


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rabbit_rag.generators' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "GENERATOR_KINDS",
    "ChatMessage",
    "ChatModel",
    "Draft",
    "ExtractiveGenerator",
    "Generator",
    "LLMGenerator",
    "OpenAIChatModel",
    "TransformersChatModel",
    "generator_from_settings",
    "load_chat_model",
    "make_generator",
]
