"""One exception hierarchy for rabbit-rag.

Every error names the bad value, what was allowed and how to fix it. The CLI prints ``str(error)``
and exits non-zero; the API maps each class to one HTTP status in a single place.

예::

    try:
        open_index("indexes/없는폴더")
    except IndexNotFoundError as e:
        print(e)  # 인덱스가 아닌 폴더 ... (how to create one)
"""

from __future__ import annotations


class RabbitRagError(Exception):
    """Base class of every error rabbit-rag raises on purpose."""

    #: HTTP status the API answers with for this error class.
    http_status: int = 500


class InvalidInputError(RabbitRagError, ValueError):
    """A user-supplied value (query, option, setting) is not acceptable."""

    http_status = 422


class DocumentError(RabbitRagError):
    """A document could not be read. Carries the file (or name) and the reason."""

    http_status = 422

    def __init__(self, path: str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class EmptyDocumentError(DocumentError):
    """The document holds no text; it is skipped with a notice, not treated as a failure."""


class UnsupportedFormatError(DocumentError):
    """The file type is not one we can read."""

    http_status = 415


class IndexStoreError(RabbitRagError):
    """Base for problems with an index folder."""

    http_status = 409


class IndexNotFoundError(IndexStoreError):
    """The folder does not exist or is not a rabbit-rag index."""

    http_status = 404


class IndexMismatchError(IndexStoreError):
    """The index was built with settings (embedding model, tokenizer) other than the ones asked for."""


class IndexCorruptError(IndexStoreError):
    """An index file is unreadable or inconsistent."""

    http_status = 500


class IndexLockedError(IndexStoreError):
    """Another writer holds the index."""


class ModelUnavailableError(RabbitRagError):
    """A model (embedding, generator, reranker) cannot be loaded here."""

    http_status = 503

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = reason
        super().__init__(f"model {model!r} cannot be loaded: {reason}")


class GeneratorError(RabbitRagError):
    """The answer generator failed: a language-model server that is down or answers badly, or a local
    generation that broke off."""

    http_status = 502


class GeneratorTimeoutError(GeneratorError):
    """The language-model server sent nothing within the configured timeout."""

    http_status = 504
