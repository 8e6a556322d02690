"""Settings: one pydantic-settings class read by the CLI and the API (``RABBIT_RAG_`` env prefix).

Library classes take plain arguments; only the CLI and the API read settings.

예::

    RABBIT_RAG_EMBED_MODEL=none rabbit-rag ingest samples --index indexes/헌법
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "nlpai-lab/KURE-v1"
DEFAULT_LLM_MODEL = "CarrotAI/Llama-3.2-Rabbit-Ko-3B-Instruct-2412"


class Settings(BaseSettings):
    """Every knob, with its environment variable ``RABBIT_RAG_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="RABBIT_RAG_", extra="ignore")

    # where indexes live
    index_root: Path = Field(Path("indexes"), description="Folder holding one index folder per collection.")

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
    embed_batch_size: int = Field(32, ge=1, le=4096)
    chunk_tokens: int = Field(
        256, ge=16, le=8192, description="Chunk budget in model tokens (Kiwi morphemes without a model)."
    )
    chunk_overlap_sentences: int = Field(
        1, ge=0, le=8, description="Whole sentences repeated between neighbouring chunks."
    )

    # reading files
    max_file_mb: float = Field(200.0, gt=0, description="Larger files are refused with a per-file error.")
    max_unpacked_mb: float = Field(
        256.0, gt=0, description="Cap on what one DOCX/HWPX/HWP may decompress (zip bombs fail alone)."
    )
    parse_timeout_s: float = Field(120.0, gt=0, description="Time limit for parsing one file.")
    parse_memory_mb: int = Field(4096, ge=0, description="Address-space limit of the parser process; 0 = none.")
    parse_isolation: bool = Field(
        True, description="Parse files in a child process that is killed at the time limit (see ingest/readers)."
    )

    # search
    search_mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    top_k: int = Field(5, ge=1, le=1000)
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    bm25_weight: float = Field(1.0, ge=0)
    dense_weight: float = Field(1.0, ge=0)
