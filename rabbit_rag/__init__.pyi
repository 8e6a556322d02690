"""The public names of :mod:`rabbit_rag`: type checkers read them here, and ``__init__.py`` loads each on
first use (``lazy_loader.attach_stub``), so importing one submodule does not import them all.
(``from .x import A as A`` is the stub convention for a re-export.)"""

from .citations import Citation as Citation
from .citations import cite as cite
from .engine import Answer as Answer
from .engine import ChatSession as ChatSession
from .engine import Engine as Engine
from .errors import RabbitRagError as RabbitRagError
from .generators import ExtractiveGenerator as ExtractiveGenerator
from .generators import LLMGenerator as LLMGenerator
from .generators import OpenAIChatModel as OpenAIChatModel
from .generators import TransformersChatModel as TransformersChatModel
from .generators import load_chat_model as load_chat_model
from .generators import make_generator as make_generator
from .index import Index as Index
from .index import IndexWriter as IndexWriter
from .index import SearchFilter as SearchFilter
from .index import open_index as open_index
from .retrieval import BM25Retriever as BM25Retriever
from .retrieval import DenseRetriever as DenseRetriever
from .retrieval import HybridRetriever as HybridRetriever
from .settings import Settings as Settings
from .types import Block as Block
from .types import Chunk as Chunk
from .types import Document as Document
from .types import ScoredChunk as ScoredChunk

__version__: str
