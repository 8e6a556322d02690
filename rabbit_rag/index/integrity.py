"""Checking an index folder, and repairing what can be rebuilt: ``rabbit-rag check [--repair]``.

What is checked, from the source of truth outwards:

- the docstore: its SQLite header and length, SQLite's ``PRAGMA integrity_check`` (every page and
  index), every row's CRC-32 and every chunk's offsets into its document version
  (``document_text[start:end] == chunk.text``). Damage here cannot be repaired from the other files:
  restore the docstore from a backup;
- the manifest: readable, its own checksum, a known format;
- the current generation: every file's size and checksum, and that its chunks are exactly the
  docstore's chunks of that revision; that it is not behind (or ahead of) the docstore.

``repair=True`` rebuilds the manifest and the generation from the docstore (under the writer lock,
waiting for a running writer) when only they are wrong, then checks again.

예::

    report = check_index("indexes/헌법", repair=True)
    report.ok, [p.problem for p in report.problems]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rabbit_rag.errors import IndexCorruptError, IndexNotFoundError, RabbitRagError
from rabbit_rag.index.docstore import DOCSTORE_FILE, DocStore, docstore_file_problem
from rabbit_rag.index.fsio import load_npy
from rabbit_rag.index.generation import LOAD_ERRORS, generation_dir_name
from rabbit_rag.index.manifest import MANIFEST_FILE, read_manifest
from rabbit_rag.index.publish import CONFIG_META_KEY, generation_files, generation_problems, published_revision
from rabbit_rag.index.publish import repair as repair_index


@dataclass(slots=True)
class Problem:
    """One thing wrong with an index: the file (relative to the index folder), what, and whether
    ``--repair`` can rebuild it from the docstore."""

    file: str
    problem: str
    repairable: bool


@dataclass
class CheckReport:
    """What :func:`check_index` found; ``to_dict()`` is the ``rabbit-rag check --json`` shape."""

    index: str
    ok: bool = True
    revision: int | None = None
    docstore_revision: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    files_verified: int = 0
    problems: list[Problem] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def add(self, file: str, problem: str, repairable: bool) -> None:
        self.problems.append(Problem(file, problem, repairable))
        self.ok = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [asdict(p) for p in self.problems]
        return out


def _message(e: Exception) -> str:
    """An error's message without the index path it starts with (the report names the index once)."""
    text = str(e)
    return text.split(": ", 1)[1] if ": " in text and text.startswith("/") else text


def _check(path: Path) -> CheckReport:
    report = CheckReport(index=str(path))
    if not path.is_dir():
        raise IndexNotFoundError(f"{path}: no such index folder")
    if not (path / MANIFEST_FILE).exists() and not (path / DOCSTORE_FILE).exists():
        raise IndexNotFoundError(f"{path}: not a rabbit-rag index (no {MANIFEST_FILE}, no {DOCSTORE_FILE})")

    # -- the docstore (the source of truth) --------------------------------------------------------------
    store: DocStore | None = None
    has_config = False
    problem = docstore_file_problem(path / DOCSTORE_FILE)
    if problem is not None:
        report.add(DOCSTORE_FILE, problem + "; restore it from a backup", repairable=False)
    else:
        try:
            store = DocStore(path / DOCSTORE_FILE, readonly=True)
            report.docstore_revision = store.revision()
            report.counts = store.counts()
            has_config = store.get_meta(CONFIG_META_KEY) is not None
            for p in store.integrity_problems():
                report.add(DOCSTORE_FILE, f"SQLite integrity check: {p}; restore it from a backup", repairable=False)
            for p in store.checksum_problems():
                report.add(DOCSTORE_FILE, f"{p}; restore it from a backup", repairable=False)
        except RabbitRagError as e:
            report.add(DOCSTORE_FILE, _message(e), repairable=False)
    docstore_ok = report.ok

    # -- the manifest ------------------------------------------------------------------------------------
    manifest: dict[str, Any] | None = None
    try:
        manifest = read_manifest(path)
    except (IndexCorruptError, IndexNotFoundError) as e:
        fix = "rebuilt from the docstore by --repair" if has_config else "the docstore holds no copy to rebuild it from"
        report.add(MANIFEST_FILE, f"{_message(e)} ({fix})", repairable=has_config and docstore_ok)

    # -- the current generation --------------------------------------------------------------------------
    if manifest is not None:
        revision = published_revision(manifest)
        report.revision = revision
        if revision is not None:
            gen = generation_dir_name(revision)
            files = generation_files(manifest) or {}
            problems = generation_problems(path, manifest)
            for p in problems:  # "gen-…/name: what" or "gen-…/ is missing"
                file, sep, what = p.partition(": ")
                if not sep:
                    file, what = p.removesuffix(" is missing"), "missing"
                report.add(file.rstrip("/"), what, repairable=docstore_ok)
            report.files_verified = len(files) - len(problems) if files else 0
            if not problems and store is not None and docstore_ok:
                try:
                    chunk_ids = load_npy(path / gen / "chunk_ids.npy")
                    if chunk_ids.tolist() != sorted(_visible_ids(store, revision)):
                        report.add(f"{gen}/chunk_ids.npy", "does not list the docstore's chunks of its revision",
                                   repairable=True)  # fmt: skip
                except LOAD_ERRORS as e:
                    report.add(f"{gen}/chunk_ids.npy", f"unreadable ({e})", repairable=True)
        docstore_revision = report.docstore_revision
        if docstore_revision is not None and revision != docstore_revision:
            if revision is not None and docstore_revision < revision:
                report.add(DOCSTORE_FILE, f"at revision {docstore_revision}, older than the search files (revision "
                           f"{revision}): restored from a backup? --repair rebuilds the search files from it",
                           repairable=docstore_ok)  # fmt: skip
            else:
                report.add(MANIFEST_FILE, f"the search files (revision {revision}) are behind the docstore (revision "
                           f"{docstore_revision}): an ingest was interrupted; --repair publishes them",
                           repairable=docstore_ok)  # fmt: skip
    if store is not None:
        store.close()
    return report


def _visible_ids(store: DocStore, revision: int) -> list[int]:
    with store._db() as c:  # a deep check reads the whole table: one query, not the chunk API
        if store.schema >= 2:
            rows = c.execute(
                "SELECT chunk_id FROM chunks WHERE added_rev <= ? AND (removed_rev IS NULL OR removed_rev > ?)",
                (revision, revision),
            )
        else:
            rows = c.execute("SELECT chunk_id FROM chunks WHERE removed_rev IS NULL")
        return [r[0] for r in rows]


def check_index(path: str | Path, *, repair: bool = False) -> CheckReport:
    """Check an index folder; with ``repair``, rebuild what is derived when only that is wrong (waiting
    for a running writer), then check again. Raises :class:`IndexNotFoundError` for a folder that
    is not an index at all."""
    path = Path(path)
    report = _check(path)
    if not repair or report.ok:
        return report
    if not all(p.repairable for p in report.problems):
        return report  # the docstore itself is damaged: rebuilding from it would spread the damage
    before = [f"{p.file}: {p.problem}" for p in report.problems]
    repair_index(path, verify=True, force=True, blocking=True)
    after = _check(path)
    after.repaired = [b for b in before if b not in {f"{p.file}: {p.problem}" for p in after.problems}]
    return after
