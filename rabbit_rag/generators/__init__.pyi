"""The public names of :mod:`rabbit_rag.generators`, loaded on first use by ``lazy_loader.attach_stub``."""

from .base import ChatMessage as ChatMessage
from .base import ChatModel as ChatModel
from .base import Draft as Draft
from .base import Generator as Generator
from .extractive import ExtractiveGenerator as ExtractiveGenerator
from .factory import make_generator as make_generator
from .llm import LLMGenerator as LLMGenerator
from .openai_chat import OpenAIChatModel as OpenAIChatModel
from .transformers_chat import TransformersChatModel as TransformersChatModel
from .transformers_chat import load_chat_model as load_chat_model
