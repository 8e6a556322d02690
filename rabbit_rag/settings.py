"""Settings: one pydantic-settings class read by the CLI and the API (``RABBIT_RAG_`` env prefix).

Library classes take plain arguments; only the CLI and the API read settings, and they turn them into
components through :mod:`rabbit_rag.components`. Defaults are not written here: each comes from the
module that owns it (the chunker, the generators, the limits), so the library and the settings agree.

예::

    RABBIT_RAG_EMBED_MODEL=none rabbit-rag ingest samples --index indexes/헌법
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from rabbit_rag.embeddings import DEFAULT_EMBED_BATCH_SIZE, DEFAULT_EMBED_MODEL
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
)
from rabbit_rag.index.vectors import APPROXIMATE_FROM, DEFAULT_VECTOR_INDEX
from rabbit_rag.limits import (
    DEFAULT_MAX_FILE_MB,
    DEFAULT_MAX_QUESTION_CHARS,
    DEFAULT_MAX_UNPACKED_MB,
    DEFAULT_PARSE_MEMORY_MB,
    DEFAULT_PARSE_TIMEOUT_S,
    MAX_ASK_K,
    MAX_QUESTION_CHARS_CAP,
    MAX_SEARCH_K,
)
from rabbit_rag.text.chunker import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_SENTENCES
from rabbit_rag.types import GeneratorKind, LLMDecoder, SearchMode


class Settings(BaseSettings):
    """Every knob, with its environment variable ``RABBIT_RAG_<NAME>``."""

    # an empty variable (`export RABBIT_RAG_LLM_DEVICE=`) means "not set", as in most shells' habits
    model_config = SettingsConfigDict(env_prefix="RABBIT_RAG_", extra="ignore", env_ignore_empty=True)

    # where indexes live
    index_root: Path = Field(Path("indexes"), description="Folder holding one index folder per collection.")
    backend: str | None = Field(
        None,
        description="Search backend: local (the index folder, default), milvus:///path/engine.db (Milvus Lite) or "
        "milvus://host:19530 (a Milvus server or cluster). See docs/scaling.md.",
    )
    backend_token: SecretStr | None = Field(None, description="API key or user:password of the Milvus server.")
    ingest_workers: int = Field(
        1, ge=1, le=256, description="Processes that read, analyze (Kiwi) and embed files during an ingest."
    )
    ray_address: str | None = Field(
        None, description="Run ingest workers on this Ray cluster (auto, ray://host:10001, or local for a new one)."
    )

    # the HTTP API (rabbit-rag serve); see docs/api.md
    api_host: str = Field("127.0.0.1", description="Interface rabbit-rag serve listens on.")
    api_port: int = Field(8000, ge=1, le=65535)
    api_auth_disabled: bool = Field(
        False, description="Local development only: every request acts as an admin key. Warned about at start-up."
    )
    api_keys_file: Path | None = Field(
        None, description="JSON file of hashed API keys (default: <index_root>/.api-keys.json); see rabbit-rag keys."
    )
    api_keys: str | None = Field(
        None, description='Extra hashed keys as JSON: [{"name", "sha256", "scopes", "collections"}].'
    )
    api_max_upload_mb: float = Field(50.0, gt=0, description="Largest upload request; larger ones get 413.")
    api_max_files_per_upload: int = Field(200, ge=1, le=10_000)
    api_preload: bool = Field(True, description="Open every collection and load its models at start-up (readyz).")
    api_job_history: int = Field(1000, ge=10, description="Finished jobs kept readable at /v1/jobs/{id}.")

    # embeddings and chunking
    embed_model: str = Field(DEFAULT_EMBED_MODEL, description="sentence-transformers id or folder; 'none' = BM25 only.")
    embed_device: str | None = Field(None, description="cuda, mps or cpu; default: the best available.")
    embed_batch_size: int = Field(DEFAULT_EMBED_BATCH_SIZE, ge=1, le=4096)
    chunk_tokens: int = Field(
        DEFAULT_CHUNK_TOKENS,
        ge=16,
        le=8192,
        description="Chunk budget in model tokens (Kiwi morphemes without a model).",
    )
    chunk_overlap_sentences: int = Field(
        DEFAULT_OVERLAP_SENTENCES, ge=0, le=8, description="Whole sentences repeated between neighbouring chunks."
    )
    vector_index: Literal["auto", "flat", "ivf"] | None = Field(
        None,
        description=f"FAISS index of new generations: flat (exact), ivf (approximate), auto (ivf from "
        f"{APPROXIMATE_FROM:,} vectors). Unset: the index's own ({DEFAULT_VECTOR_INDEX} for a new index).",
    )
    kiwi_workers: int | None = Field(
        None, ge=1, le=64, description="Worker threads of the shared Kiwi analyzer (default: the CPU count, at most 8)."
    )

    # reading files
    max_file_mb: float = Field(DEFAULT_MAX_FILE_MB, gt=0, description="Larger files are refused with a per-file error.")
    max_unpacked_mb: float = Field(
        DEFAULT_MAX_UNPACKED_MB,
        gt=0,
        description="Cap on what one DOCX/HWPX/HWP may decompress (zip bombs fail alone).",
    )
    parse_timeout_s: float = Field(DEFAULT_PARSE_TIMEOUT_S, gt=0, description="Time limit for parsing one file.")
    parse_memory_mb: int = Field(
        DEFAULT_PARSE_MEMORY_MB, ge=0, description="Address-space limit of the parser process; 0 = none."
    )
    parse_isolation: bool = Field(
        True, description="Parse files in a child process that is killed at the time limit (see ingest/readers)."
    )

    # search
    search_mode: SearchMode = Field("hybrid", description="rabbit-rag search and the API's search, unless asked.")
    top_k: int = Field(5, ge=1, le=MAX_SEARCH_K, description="Results of a search, unless asked.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    bm25_weight: float = Field(1.0, ge=0)
    dense_weight: float = Field(1.0, ge=0)

    # answers (rabbit-rag ask, the API's ask endpoints)
    llm: GeneratorKind = Field(
        "auto",
        description="auto: the transformers model if it loads, else extractive (said on stderr and in 'generator').",
    )
    llm_model: str = Field(DEFAULT_LLM_MODEL, description="Hugging Face id or local folder of the chat model.")
    llm_device: str | None = Field(None, description="cuda, mps or cpu; default: the best available.")
    llm_dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto",
        description="auto: bfloat16 on CUDA (float16 where bf16 is unsupported), float16 on MPS, float32 on CPU.",
    )
    llm_max_context: int | None = Field(
        None, ge=256, description="Cap on prompt + answer tokens (default: the model's own maximum length)."
    )
    llm_decoder: LLMDecoder = Field(
        DEFAULT_LLM_DECODER,
        description="transformers models: auto = static on CUDA, generate elsewhere. static: a slot KV cache, "
        "concurrent answers decoded together, decode steps replayed as CUDA graphs (see docs/ask.md, GPU notes). "
        "generate: transformers' generate, one answer at a time per model.",
    )
    llm_max_batch: int = Field(
        DEFAULT_LLM_MAX_BATCH, ge=1, le=256,
        description="Static decoder: answers decoded together (KV cache slots; more requests wait).",
    )  # fmt: skip
    llm_cuda_graphs: bool = Field(
        DEFAULT_LLM_CUDA_GRAPHS, description="Static decoder on CUDA: capture decode steps as CUDA graphs at load."
    )
    llm_compile: bool = Field(
        DEFAULT_LLM_COMPILE,
        description="Static decoder: torch.compile the decode step (fused kernels) before capture; compiling "
        "adds time at load.",
    )
    max_new_tokens: int = Field(DEFAULT_MAX_NEW_TOKENS, ge=1, le=32768, description="Answer budget in model tokens.")
    temperature: float = Field(DEFAULT_TEMPERATURE, ge=0.0, le=2.0, description="0 = greedy decoding (deterministic).")
    top_p: float = Field(DEFAULT_TOP_P, gt=0.0, le=1.0, description="Nucleus sampling, used only when temperature > 0.")
    openai_base_url: str = Field(
        DEFAULT_OPENAI_BASE_URL, description="OpenAI-compatible server, up to /v1 (vLLM, llama.cpp, Ollama)."
    )
    openai_model: str | None = Field(None, description="Model name the server knows (default: llm_model).")
    openai_api_key: SecretStr | None = Field(None, description="Sent as 'Authorization: Bearer ...' when set.")
    openai_timeout: float = Field(
        DEFAULT_OPENAI_TIMEOUT,
        gt=0,
        description="Seconds to wait for the server's next bytes (first token included) before failing.",
    )
    openai_connect_timeout: float = Field(
        DEFAULT_OPENAI_CONNECT_TIMEOUT, gt=0, description="Seconds to wait for a connection."
    )
    openai_max_context: int = Field(
        DEFAULT_OPENAI_MAX_CONTEXT,
        ge=256,
        description="Context length of the served model (prompt + answer), for fitting sources.",
    )
    extractive_max_missing: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Extractive answerer: answer 'not found' when this share of the question's words (nouns "
        "count 1, predicates 1/2) appears nowhere in the retrieved sentences, e.g. 0.5. Off by default: "
        "without an embedding model it cannot tell a paraphrase from a question the documents do not cover.",
    )
    max_question_chars: int = Field(
        DEFAULT_MAX_QUESTION_CHARS, ge=1, le=MAX_QUESTION_CHARS_CAP, description="Longer questions are refused."
    )
    ask_top_k: int = Field(
        5, ge=1, le=MAX_ASK_K, description="Passages retrieved and numbered as sources for an answer."
    )
    ask_mode: SearchMode = Field(
        "hybrid", description="Retrieval for answers (hybrid = BM25 alone on an index without vectors)."
    )

    @classmethod
    def defaults(cls) -> Settings:
        """The built-in defaults, ignoring ``RABBIT_RAG_*`` variables: what library functions use when
        they are given no settings (only the CLI and the API read the environment)."""
        return cls.model_construct()
