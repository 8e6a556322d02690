"""What the running service holds: settings, keys, collections, jobs, metrics, readiness.

Built in the app's lifespan (never at import); routes reach it as ``request.app.state.rr`` through
the :func:`get_state` dependency. Start-up loading (every collection's index and embedding model,
Kiwi) runs on a background thread so ``/healthz`` answers at once and ``/readyz`` turns 200 when it
is done.

예::

    state = AppState.build(Settings(index_root=Path("indexes")), Metrics())
    state.start_preload()
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from rabbit_rag.api.answers import AnswerEngines
from rabbit_rag.api.auth import KeyStore, keys_file_for
from rabbit_rag.api.collections import CollectionRegistry
from rabbit_rag.api.engine_collections import EngineCollectionRegistry
from rabbit_rag.api.errors import scrub_paths
from rabbit_rag.api.jobs import Job, JobManager
from rabbit_rag.api.journal import JobJournal
from rabbit_rag.api.metrics import Metrics
from rabbit_rag.api.originals import ingest_keeping_originals
from rabbit_rag.api.uploads import StagedFile, Staging
from rabbit_rag.backends import parse_backend
from rabbit_rag.components import configure_process
from rabbit_rag.settings import Settings
from rabbit_rag.text.kiwi import get_kiwi

log = logging.getLogger("rabbit_rag.api")


@dataclass
class AppState:
    settings: Settings
    keys: KeyStore
    collections: CollectionRegistry
    jobs: JobManager
    staging: Staging
    metrics: Metrics
    answers: AnswerEngines
    ready: threading.Event = field(default_factory=threading.Event)
    load_errors: dict[str, str] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, metrics: Metrics) -> AppState:
        configure_process(settings)
        keys = KeyStore(keys_file_for(settings.index_root, settings.api_keys_file), settings.api_keys)
        # with an engine backend every read goes to the engine: replicas keep no state (api/engine_collections.py)
        registry = EngineCollectionRegistry if parse_backend(settings.backend) else CollectionRegistry
        collections = registry(settings.index_root, settings)
        collections.clean_trash()

        def finished(job: Job) -> None:
            metrics.jobs.labels(job.kind, job.status).inc()
            metrics.jobs_active.dec()

        roots = (str(collections.root), str(settings.index_root))
        jobs = JobManager(
            settings.api_job_history,
            on_finish=finished,
            journal=JobJournal(collections.root),
            redact=lambda message: scrub_paths(message, roots),
        )
        state = cls(settings, keys, collections, jobs, Staging(collections.root), metrics, AnswerEngines(settings))
        state.resume_jobs()
        return state

    def submit(
        self, collection: str, kind: str, run: Any, files_total: int = 0, payload: dict[str, Any] | None = None
    ) -> Job:
        """Queue a job on the collection's writer thread (counted in ``rabbit_rag_jobs_active``); it is
        in the job journal when this returns."""
        self.metrics.jobs_active.inc()
        try:
            return self.jobs.submit(collection, kind, run, files_total, payload=payload)
        except BaseException:
            self.metrics.jobs_active.dec()
            raise

    def submit_ingest(self, collection: str, staged: list[StagedFile]) -> Job:
        """Queue the ingest of staged uploads (uploaded PDFs are kept for page images); the job and its
        files are on disk when this returns."""
        settings = self.settings
        return self.submit(
            collection,
            "ingest",
            lambda job: ingest_keeping_originals(job, self.collections, collection, staged, settings),
            files_total=len(staged),
            payload={"staged": [f.record() for f in staged]},
        )

    def resume_jobs(self) -> list[Job]:
        """After a (re)start: run the journal's pending jobs again, in the order they were accepted, or
        record why one cannot run; then remove staged files no pending job refers to."""

        def resume(job: Job) -> Any:
            if job.kind != "ingest":
                return f"the server restarted before this {job.kind!r} job finished; run it again"
            try:
                exists = self.collections.exists(job.collection)
            except Exception:
                exists = False
            if not exists:
                return f"the server restarted and collection {job.collection!r} no longer exists"
            staged = [self.staging.file(rec) for rec in job.payload.get("staged", ())]
            missing = [f.label for f in staged if not f.path.is_file()]
            if missing:
                shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                return f"the server restarted and the staged upload of {shown} is gone; upload again"
            self.metrics.jobs_active.inc()
            settings = self.settings
            return lambda j: ingest_keeping_originals(j, self.collections, j.collection, staged, settings)

        pending = self.jobs.restore(resume)
        keep = {
            self.staging.file(rec).path.name
            for job in pending
            if job.error is None or job.error.get("type") != "JobNotResumed"
            for rec in job.payload.get("staged", ())
        }
        removed = self.staging.clean(keep)
        if pending or removed:
            resumed = sum(j.status != "failed" for j in pending)
            log.info(
                "job journal: %d pending job(s) resumed, %d could not be (see /v1/jobs), %d stray staged file(s) removed",
                resumed,
                len(pending) - resumed,
                removed,
            )
        return pending

    # -- readiness --------------------------------------------------------------------------------
    def start_preload(self) -> threading.Thread:
        t = threading.Thread(target=self._preload, name="rr-preload", daemon=True)
        t.start()
        return t

    def _preload(self) -> None:
        t0 = time.perf_counter()
        try:
            get_kiwi()  # ~1 s and 280 MB once per process; the first search would pay it otherwise
            for name in self.collections.names():
                try:
                    index = self.collections.get(name)
                    if index.embed_model is not None and index.embedder() is None:
                        self.load_errors[name] = f"embedding model unavailable: {index.dense_unavailable_reason()}"
                    self.loaded.append(name)
                except Exception as e:  # one broken collection must not keep the others from serving
                    self.load_errors[name] = f"{type(e).__name__}: {e}"
                    log.error("collection %s could not be opened: %s", name, e)
            try:  # the language model (RABBIT_RAG_LLM) loads once, before the server says it is ready
                self.extras["generator"] = self.answers.generator().name
            except Exception as e:  # e.g. an explicit `transformers` model that is not here: ask answers 503
                self.load_errors["generator"] = f"{type(e).__name__}: {e}"
                log.error("the answer generator could not be built: %s", e)
        finally:
            self.ready.set()
            self.metrics.ready.set(1)
            log.info(
                "ready in %.1f s: %d collections (%d with problems)",
                time.perf_counter() - t0,
                len(self.loaded),
                len(self.load_errors),
            )

    def mark_ready(self) -> None:
        self.ready.set()
        self.metrics.ready.set(1)

    def close(self) -> None:
        self.jobs.close()
        for extra in self.extras.values():  # services routes created on first use (the page renderer)
            close = getattr(extra, "close", None)
            if callable(close):
                close()


def get_state(request: Request) -> AppState:
    return request.app.state.rr
