"""How ingest reads files and creates indexes: plain options, and the one builder from Settings.

The CLI, the API and the evaluation all build these with :meth:`IngestOptions.from_settings`, so a
file is read under the same limits and a new index gets the same defaults whichever way it came in.
Library callers may pass their own or take the defaults (which are the settings' defaults too: both
come from :mod:`rabbit_rag.limits`, the chunker and the embeddings module).

예::

    options = IngestOptions.from_settings(Settings())
    with options.writer("indexes/헌법", embed_model="none") as writer:
        ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rabbit_rag.backends import engine_publisher
from rabbit_rag.embeddings import DEFAULT_EMBED_BATCH_SIZE, DEFAULT_EMBED_MODEL
from rabbit_rag.index import IndexWriter
from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.isolation import ParseWorker
from rabbit_rag.ingest.readers.limits import MB, ReadLimits
from rabbit_rag.limits import DEFAULT_MAX_FILE_MB, DEFAULT_PARSE_MEMORY_MB
from rabbit_rag.settings import Settings
from rabbit_rag.text.chunker import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_SENTENCES
from rabbit_rag.types import Document

#: Parses one file's bytes (the name is a label) into a document.
Parser = Callable[[bytes, str], Document]


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """Reading limits, parser isolation, checkpoints, and the defaults of a new index."""

    default_embed_model: str = DEFAULT_EMBED_MODEL
    embed_device: str | None = None
    embed_batch_size: int = DEFAULT_EMBED_BATCH_SIZE
    default_chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    default_overlap_sentences: int = DEFAULT_OVERLAP_SENTENCES
    max_file_bytes: int = int(DEFAULT_MAX_FILE_MB * MB)
    limits: ReadLimits = field(default_factory=ReadLimits)
    #: Parse each file in a child process that is killed at the time limit (see readers.isolation).
    parse_isolation: bool = True
    parse_memory_mb: int | None = DEFAULT_PARSE_MEMORY_MB
    #: The FAISS index kind of new generations (``auto``, ``flat``, ``ivf``); None: the index's own.
    vector_index: str | None = None
    #: Commit (acknowledge) what was ingested so far at least this often.
    checkpoint_seconds: float = 30.0
    #: A search engine the writer publishes to after the local generation (``milvus://…``; None: local only).
    backend: str | None = None
    backend_token: str | None = None
    #: Processes that read, analyze and embed files (1: in this process); see ``rabbit_rag.ingest.parallel``.
    workers: int = 1
    #: Run those workers on a Ray cluster at this address instead of local processes.
    ray_address: str | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> IngestOptions:
        return cls(
            default_embed_model=s.embed_model,
            embed_device=s.embed_device,
            embed_batch_size=s.embed_batch_size,
            default_chunk_tokens=s.chunk_tokens,
            default_overlap_sentences=s.chunk_overlap_sentences,
            max_file_bytes=int(s.max_file_mb * MB),
            limits=ReadLimits(
                max_unpacked_bytes=int(s.max_unpacked_mb * MB), timeout_s=s.parse_timeout_s, max_cells=s.max_cells
            ),
            parse_isolation=s.parse_isolation,
            parse_memory_mb=s.parse_memory_mb or None,
            backend=s.backend,
            backend_token=s.backend_token.get_secret_value() if s.backend_token else None,
            workers=s.ingest_workers,
            ray_address=s.ray_address,
            vector_index=s.vector_index,
        )

    def writer(
        self,
        index: str | Path,
        *,
        embed_model: str | None = None,
        chunk_tokens: int | None = None,
        chunk_overlap_sentences: int | None = None,
    ) -> IndexWriter:
        """The index's writer (creating the index with these defaults when it is new)."""
        return IndexWriter(
            index,
            embed_model=embed_model,
            default_embed_model=self.default_embed_model,
            embed_device=self.embed_device,
            embed_batch_size=self.embed_batch_size,
            chunk_tokens=chunk_tokens,
            chunk_overlap_sentences=chunk_overlap_sentences,
            default_chunk_tokens=self.default_chunk_tokens,
            default_overlap_sentences=self.default_overlap_sentences,
            mirror=engine_publisher(self.backend, self.backend_token),
            vector_index=self.vector_index,
        )

    def parse_worker(self) -> ParseWorker | None:
        """A child process that parses under these limits, or None when isolation is off (then the
        limits are cooperative only: checked inside our parsers, per page or record)."""
        return ParseWorker(self.limits, self.parse_memory_mb) if self.parse_isolation else None

    def parser(self, worker: ParseWorker | None) -> Parser:
        return worker.read if worker is not None else functools.partial(read_bytes, limits=self.limits)
