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

import lazy_loader

# Declared once in __init__.pyi and imported on first use: `rabbit_rag.generators.base` (the defaults the
# settings read) is imported by every command, the generators themselves only by those that answer.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
