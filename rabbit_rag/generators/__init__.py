"""Answer generators behind one small streaming interface.

Two layers:

- a :class:`~rabbit_rag.generators.base.ChatModel` streams text for a list of chat messages —
  :class:`~rabbit_rag.generators.transformers_chat.TransformersChatModel` (a local Hugging Face model)
  or :class:`~rabbit_rag.generators.openai_chat.OpenAIChatModel` (any ``/v1/chat/completions`` server);
- a :class:`~rabbit_rag.generators.base.Generator` turns a question and numbered sources into a
  streamed answer — :class:`~rabbit_rag.generators.llm.LLMGenerator` (prompt + a chat model) or
  :class:`~rabbit_rag.generators.extractive.ExtractiveGenerator` (no language model).

:func:`~rabbit_rag.generators.factory.make_generator` picks one by name (``auto``, ``transformers``,
``openai``, ``extractive``); :func:`rabbit_rag.components.generator_from_settings` does the same from
:class:`~rabbit_rag.settings.Settings`. torch and transformers are imported only when a local model loads.

예::

    from rabbit_rag.generators import make_generator
    gen = make_generator("extractive")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Imported on first access (PEP 562): `rabbit_rag.generators.base` (the defaults the settings read) is
# imported by every command, the generators themselves only by those that answer.
_EXPORTS: dict[str, str] = {
    "ChatMessage": "rabbit_rag.generators.base",
    "ChatModel": "rabbit_rag.generators.base",
    "Draft": "rabbit_rag.generators.base",
    "Generator": "rabbit_rag.generators.base",
    "ExtractiveGenerator": "rabbit_rag.generators.extractive",
    "make_generator": "rabbit_rag.generators.factory",
    "LLMGenerator": "rabbit_rag.generators.llm",
    "OpenAIChatModel": "rabbit_rag.generators.openai_chat",
    "TransformersChatModel": "rabbit_rag.generators.transformers_chat",
    "load_chat_model": "rabbit_rag.generators.transformers_chat",
}

if TYPE_CHECKING:
    from rabbit_rag.generators.base import ChatMessage, ChatModel, Draft, Generator
    from rabbit_rag.generators.extractive import ExtractiveGenerator
    from rabbit_rag.generators.factory import make_generator
    from rabbit_rag.generators.llm import LLMGenerator
    from rabbit_rag.generators.openai_chat import OpenAIChatModel
    from rabbit_rag.generators.transformers_chat import TransformersChatModel, load_chat_model


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rabbit_rag.generators' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "ChatMessage",
    "ChatModel",
    "Draft",
    "ExtractiveGenerator",
    "Generator",
    "LLMGenerator",
    "OpenAIChatModel",
    "TransformersChatModel",
    "load_chat_model",
    "make_generator",
]
