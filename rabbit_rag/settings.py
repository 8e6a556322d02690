"""Settings: one pydantic-settings class read by the CLI and the API.

Where a value comes from, strongest first: a ``RABBIT_RAG_<NAME>`` environment variable, the config
file (``rabbit-rag.toml`` in the working directory, or ``rabbit-rag --config PATH``), the built-in
default. ``rabbit-rag config`` prints the effective settings and where each came from.

Library classes take plain arguments; only the CLI and the API read settings (:meth:`Settings.load`),
and they turn them into components through :mod:`rabbit_rag.components`. Library functions given no
settings use :meth:`Settings.defaults`, which reads neither the environment nor a file. Defaults are
not written here: each comes from the module that owns it (the chunker, the generators, the limits),
so the library and the settings agree.

예::

    # rabbit-rag.toml
    embed_model = "none"
    top_k = 3

    RABBIT_RAG_TOP_K=10 rabbit-rag search "대통령 임기" --index indexes/헌법   # top_k = 10 (the variable wins)
"""

from __future__ import annotations

import difflib
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from rabbit_rag.embeddings import DEFAULT_EMBED_BATCH_SIZE, DEFAULT_EMBED_MODEL
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.generators.base import (
    DEFAULT_LLM_COMPILE,
    DEFAULT_LLM_CUDA_GRAPHS,
    DEFAULT_LLM_DECODER,
    DEFAULT_LLM_MAX_BATCH,
    DEFAULT_LLM_MODEL,
    DEFAULT_MAX_MISSING,
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
    DEFAULT_MAX_CELLS,
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

#: The config file the CLI and the API read from the working directory when no other is named.
CONFIG_FILE_NAME = "rabbit-rag.toml"
ENV_PREFIX = "RABBIT_RAG_"

# The file :meth:`Settings.load` is reading, seen by ``settings_customise_sources`` while it runs; None
# everywhere else, so a plain ``Settings()`` reads the environment only and never a file.
_config_file: ContextVar[Path | None] = ContextVar("rabbit_rag_config_file", default=None)


class Settings(BaseSettings):
    """Every knob: ``<name>`` in the config file, ``RABBIT_RAG_<NAME>`` in the environment."""

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
    max_cells: int = Field(
        DEFAULT_MAX_CELLS, ge=1, description="Filled cells read from one spreadsheet; the rest are skipped and listed."
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
    extractive_max_missing: float = Field(
        DEFAULT_MAX_MISSING,
        gt=0,
        le=1,
        description="Extractive answerer: answer 'not found' when this share of the question's words (nouns "
        "count 1, predicates 1/2) appears nowhere in the retrieved sources. Set by measurement (docs/ask.md); "
        "1 declines only questions none of whose words the sources mention.",
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
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then (only inside :meth:`load`) the config file."""
        path = _config_file.get()
        file = (TomlConfigSettingsSource(settings_cls, toml_file=path),) if path is not None else ()
        return (init_settings, env_settings, dotenv_settings, file_secret_settings, *file)

    @classmethod
    def load(cls, config: str | Path | None = None, cwd: str | Path | None = None) -> Settings:
        """The settings the CLI and the API run with: ``RABBIT_RAG_*`` variables over the config file
        over the defaults. ``config`` names the file (it must exist); without it, ``rabbit-rag.toml``
        in ``cwd`` (default: the working directory) is read when it is there.

        Raises :class:`InvalidInputError` for an unreadable file or a key that is not a setting (a typo
        in a config file must not be silently ignored), and pydantic's ``ValidationError`` for a value
        that does not parse (:func:`setting_source` says where it came from).

        예: ``Settings.load("deploy/rabbit-rag.toml").top_k``
        """
        path = config_file(config, cwd)
        if path is not None:
            read_config_file(path)  # checks syntax and keys, with messages naming the file
        token = _config_file.set(path)
        try:
            return cls()
        finally:
            _config_file.reset(token)

    @classmethod
    def defaults(cls) -> Settings:
        """The built-in defaults, ignoring ``RABBIT_RAG_*`` variables: what library functions use when
        they are given no settings (only the CLI and the API read the environment)."""
        return cls.model_construct()


def config_file(config: str | Path | None = None, cwd: str | Path | None = None) -> Path | None:
    """The config file to read: ``config`` (an error when missing), else ``rabbit-rag.toml`` in ``cwd``
    when it exists, else None."""
    if config is not None:
        path = Path(config).expanduser()
        if not path.is_file():
            raise InvalidInputError(
                f"config file {path} not found (--config names a TOML file, e.g. {CONFIG_FILE_NAME})"
            )
        return path
    here = Path(cwd) if cwd is not None else Path.cwd()
    path = here / CONFIG_FILE_NAME
    return path if path.is_file() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a config file, checked: TOML syntax, and every key a setting's name.

    예: ``read_config_file(Path("rabbit-rag.toml"))`` → ``{"top_k": 3, "embed_model": "none"}``
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"config file {path}: cannot read it ({e})") from e
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"config file {path}: not valid TOML ({e})") from e
    names = list(Settings.model_fields)
    for key in data:
        if key not in Settings.model_fields:
            close = difflib.get_close_matches(key.lower().removeprefix("rabbit_rag_"), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; `rabbit-rag config` lists the settings"
            raise InvalidInputError(f"config file {path}: {key!r} is not a setting{hint}")
    return data


def setting_sources(config: Path | None) -> dict[str, str]:
    """Where each setting's value comes from: ``RABBIT_RAG_<NAME>`` (the environment), the config
    file's path, or ``default``. Follows pydantic-settings' own reading of the environment
    (case-insensitive names, empty values unset).

    예: ``setting_sources(Path("rabbit-rag.toml"))["top_k"]`` → ``'rabbit-rag.toml'``
    """
    from pydantic_settings import EnvSettingsSource

    from_env = EnvSettingsSource(Settings)()
    from_file = read_config_file(config) if config is not None else {}
    return {
        name: ENV_PREFIX + name.upper() if name in from_env else str(config) if name in from_file else "default"
        for name in Settings.model_fields
    }
