"""The public names of :mod:`rabbit_rag.ingest`, loaded on first use by ``__init__.py``.
(``from .x import A as A`` is the stub convention for a re-export.)"""

from .options import IngestOptions as IngestOptions
from .pipeline import FileOutcome as FileOutcome
from .pipeline import IngestReport as IngestReport
from .pipeline import ingest_documents as ingest_documents
from .pipeline import ingest_files as ingest_files
from .pipeline import ingest_paths as ingest_paths
