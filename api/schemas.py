"""Request and response bodies, with their bounds and Korean examples (they show in ``/docs``).

Bounds are part of the contract: ``top_k`` 1-100, queries and questions up to 2000 characters,
source filters up to 50 patterns. Responses reuse the library's JSON shapes (:mod:`rabbit_rag.schemas`).

예: ``SearchRequest(query="대통령 임기는 몇 년이야?", top_k=3)``
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from rabbit_rag.citations import Citation
from rabbit_rag.ingest import FileOutcome
from rabbit_rag.limits import (
    MAX_API_TOP_K,
    MAX_CHAT_CHARS,
    MAX_CHAT_MESSAGE_CHARS,
    MAX_CHAT_MESSAGES,
    MAX_QUESTION_CHARS_CAP,
)
from rabbit_rag.schemas import Answer, DocumentInfo, SearchHit
from rabbit_rag.types import SearchMode

#: What a background job is doing.
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]

# Queries and questions: the schema's cap is the setting's hard cap; the configured limit
# (RABBIT_RAG_MAX_QUESTION_CHARS, default 2000) is checked when the request runs, as the CLI checks it.
MAX_TOP_K = MAX_API_TOP_K
NOT_BLANK = r"\S"  # at least one non-space character (JSON Schema patterns are searches, not full matches)


def _json_number(v: Any) -> Any:
    # JSON Schema numbers: 3 and 3.0 are the same integer, but "3" and true are not numbers
    if isinstance(v, str | bool):
        raise ValueError("must be a JSON number")
    return v


def json_int(ge: int, le: int | None = None) -> Any:
    """An integer in ``[ge, le]`` that must be a JSON number (bounds first: they stay in the schema)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_json_number)]


def json_float(ge: float, le: float) -> Any:
    return Annotated[float, Field(ge=ge, le=le), BeforeValidator(_json_number)]


class _Strict(BaseModel):
    """Request bodies: unknown fields are 422 (and loose types, see :func:`json_int`)."""

    model_config = ConfigDict(extra="forbid")


# -- collections -------------------------------------------------------------------------------------
def _nfc(v: Any) -> Any:
    # names are validated in NFC everywhere: macOS clients may send decomposed Hangul (NFD)
    return unicodedata.normalize("NFC", v) if isinstance(v, str) else v


#: A collection name, NFC-normalized before its pattern is checked.
CollectionNameField = Annotated[
    str,
    Field(
        pattern=r"^[0-9A-Za-z가-힣_-]{1,64}$",
        description="1-64 letters, digits, Hangul syllables, `_` or `-`.",
        examples=["헌법"],
    ),
    BeforeValidator(_nfc),
]


class CollectionCreate(_Strict):
    name: CollectionNameField
    embed_model: Literal["default", "none"] = Field(
        "default",
        description="`default`: the server's embedding model (RABBIT_RAG_EMBED_MODEL; BM25 only when it cannot "
        "load, and `embedding_note` says why); `none`: BM25 only.",
        examples=["none"],
    )
    chunk_tokens: json_int(16, 8192) | None = Field(None, description="Chunk budget in tokens (server default).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "헌법", "embed_model": "none"}]})


class Collection(BaseModel):
    name: str = Field(examples=["헌법"])
    status: Literal["ok", "broken"] = Field(
        "ok", description="`broken`: the collection cannot be opened (`problem` says why); the others still serve."
    )
    problem: str | None = Field(None, description="Why a broken collection cannot be opened.")
    documents: int = 0
    chunks: int = 0
    vectors: int = 0
    embedding_model: str | None = Field(
        None, description="Model of the stored vectors; null for a BM25-only collection."
    )
    embedding_note: str | None = Field(None, description="Why there are no vectors, when a model was asked for.")
    chunk_tokens: int | None = None
    revision: int = Field(0, description="Docstore revision of the generation being searched.")
    updated_at: str | None = None
    jobs_active: int = Field(0, description="Upload and delete jobs queued or running on this collection.")


class CollectionList(BaseModel):
    collections: list[Collection]


class Deleted(BaseModel):
    deleted: str
    collection: str


# -- documents ---------------------------------------------------------------------------------------
class DocumentWithText(DocumentInfo):
    text: str = Field(description="The normalized text; chunk and citation offsets point into it.")
    revision: int = Field(description="The revision this text is of (pass a search's `revision` to read that one).")


class DocumentList(BaseModel):
    collection: str
    revision: int = Field(description="The revision listed.")
    total: int
    limit: int
    offset: int
    documents: list[DocumentInfo]


# -- jobs --------------------------------------------------------------------------------------------
class JobProgress(BaseModel):
    files_total: int
    files_done: int = Field(description="Files done: indexed, unchanged, skipped or failed.")
    fraction: float


class JobFileError(BaseModel):
    source: str
    reason: str


class Job(BaseModel):
    id: str = Field(examples=["5b2e0f6c8a0d4f7e9c1b3a2d4e6f8a0b"])
    collection: str
    kind: str = Field(examples=["ingest"])
    status: JobStatus
    created_at: str
    started_at: str | None
    finished_at: str | None
    progress: JobProgress
    files: list[FileOutcome] = Field(description="Per-file outcomes (added, updated, unchanged, skipped, failed).")
    errors: list[JobFileError] = Field(description="The files that failed, with the reason.")
    error: dict[str, str] | None = Field(description="Why the whole job failed ({type, message}), if it did.")
    result: dict[str, Any] | None = Field(description="The ingest report once finished.")
    resumed: int = Field(
        0,
        description="How many times a server restart picked this job up again (it runs from the start; files "
        "indexed before the restart come out `unchanged`).",
    )


class JobList(BaseModel):
    jobs: list[Job]


# -- search ------------------------------------------------------------------------------------------
class SearchRequest(_Strict):
    query: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS_CAP, pattern=NOT_BLANK, examples=["대통령 임기는 몇 년이야?"]
    )
    top_k: json_int(1, MAX_TOP_K) | None = Field(None, description="Results to return (server default: 5).")
    mode: SearchMode | None = Field(None, description="hybrid (default; BM25 alone without vectors), bm25 or dense.")
    source: list[Annotated[str, Field(min_length=1, max_length=512)]] | None = Field(
        None,
        max_length=50,
        description="Only these sources: exact names or shell patterns (`kobill/*`).",
        examples=[["constitution.txt"]],
    )
    doc_id: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        None, max_length=50, description="Only these document ids."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"query": "대통령 임기는 몇 년이야?", "top_k": 3, "mode": "bm25"}]},
    )


class SearchResponse(BaseModel):
    collection: str
    query: str
    mode: str = Field(description="The mode asked for.")
    retrieval: str = Field(description="What ran: bm25, dense or hybrid (BM25 when the collection has no vectors).")
    note: str | None = Field(None, description="Why `retrieval` differs from `mode`.")
    revision: int = Field(
        description="The collection revision searched: `GET …/documents/{doc_id}?revision=` returns the text the "
        "hits' offsets point into, even after the document changed."
    )
    results: list[SearchHit]


# -- ask ---------------------------------------------------------------------------------------------


class AskRequest(_Strict):
    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS_CAP, pattern=NOT_BLANK, examples=["대통령 임기는 몇 년이야?"]
    )
    top_k: json_int(1, MAX_TOP_K) | None = Field(
        None, description="Passages retrieved as numbered sources (default 5)."
    )
    mode: SearchMode | None = Field(
        None, description="Retrieval for the sources (default: RABBIT_RAG_ASK_MODE, hybrid)."
    )
    stream: StrictBool = Field(
        False,
        description="true: Server-Sent Events `token`…, `citations`, `done` (or `error`) instead of one JSON body.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "대통령 임기는 몇 년이야?", "stream": True}]},
    )


class AskResponse(Answer):
    collection: str
    revision: int = Field(description="The collection revision the sources and citations come from.")
    timings: dict[str, float] = Field(default_factory=dict, description="Milliseconds per step.")
    notes: list[str] = Field(default_factory=list)


# -- OpenAI-compatible chat --------------------------------------------------------------------------
class ContentPart(BaseModel):
    type: str = Field(examples=["text"])
    text: str | None = Field(None, max_length=MAX_CHAT_MESSAGE_CHARS)

    model_config = ConfigDict(extra="allow")


class OpenAIMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: (
        Annotated[str, Field(max_length=MAX_CHAT_MESSAGE_CHARS)]
        | Annotated[list[ContentPart], Field(max_length=64)]
        | None
    ) = None

    model_config = ConfigDict(extra="allow")


class ChatCompletionRequest(BaseModel):
    """The OpenAI ``/v1/chat/completions`` request. ``model`` names the collection; the last user
    message is the question and earlier user/assistant pairs are the conversation. Sampling options
    are accepted for compatibility and ignored (the server's generator settings apply)."""

    model: Annotated[str, Field(pattern=r"^[0-9A-Za-z가-힣_-]{1,64}$", examples=["헌법"]), BeforeValidator(_nfc)] = (
        Field(description="The collection to ask.")
    )
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=MAX_CHAT_MESSAGES)
    stream: StrictBool = False
    n: json_int(1, 1) | None = Field(None, description="Only 1 is supported.")
    temperature: json_float(0, 2) | None = None
    top_p: json_float(0, 1) | None = None
    max_tokens: json_int(1) | None = None
    max_completion_tokens: json_int(1) | None = None
    user: str | None = Field(None, max_length=256)

    @model_validator(mode="after")
    def _capped(self) -> ChatCompletionRequest:
        # every message is analyzed (Kiwi) to follow the conversation: what one request may carry is capped
        total = 0
        for m in self.messages:
            if isinstance(m.content, str):
                total += len(m.content)
            elif m.content:
                total += sum(len(p.text or "") for p in m.content)
        if total > MAX_CHAT_CHARS:
            raise ValueError(
                f"the messages hold {total} characters; at most {MAX_CHAT_CHARS} per request (send the recent "
                "turns only: the last few are all that is used)"
            )
        return self

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [{"model": "헌법", "messages": [{"role": "user", "content": "대통령 임기는 몇 년이야?"}]}]
        },
    )


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """An OpenAI chat completion; ``citations``, ``sources``, ``generator`` and ``revision`` are extra
    fields an OpenAI client keeps (``completion.model_extra["citations"]`` in the Python client)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    citations: list[Citation]
    sources: list[SearchHit]
    generator: str
    revision: int = Field(
        description="The collection revision the sources and citations come from (`?revision=` on the "
        "document endpoints reads their text)."
    )


class ModelCard(BaseModel):
    id: str = Field(examples=["헌법"])
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "rabbit-rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
