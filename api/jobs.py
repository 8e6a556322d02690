"""Background jobs: one worker thread per collection, so one writer per collection at a time.

A job is queued on its collection's worker and runs there in order; its status, progress and
per-file errors are readable at ``GET /v1/jobs/{id}`` while and after it runs. With a
:class:`~rabbit_rag.api.journal.JobJournal`, every job is on disk from the moment it is accepted
(before the client hears 202) and at each change of status, so a restart resumes or reports it
(:meth:`JobManager.restore`). The last ``api_job_history`` finished jobs are kept.
``IndexWriter``'s flock still guards against other processes (the CLI).

예::

    job = jobs.submit("헌법", "ingest", run, files_total=3)   # run(job) executes on the worker
    jobs.get(job.id).to_dict()["status"]                      # 'queued' → 'running' → 'succeeded'
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rabbit_rag.api import schemas
from rabbit_rag.api.errors import ConflictError, NotFoundError
from rabbit_rag.api.journal import JobJournal
from rabbit_rag.api.schemas import JobStatus
from rabbit_rag.errors import RabbitRagError
from rabbit_rag.index.docstore import now_iso
from rabbit_rag.ingest import FileOutcome

log = logging.getLogger("rabbit_rag.api")

FINISHED = ("succeeded", "failed", "cancelled")
_SEQ = itertools.count()


@dataclass
class Job:
    """One background task on one collection; ``to_dict()`` is the ``/v1/jobs/{id}`` shape."""

    id: str
    collection: str
    kind: str
    status: JobStatus = "queued"
    created_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    finished_at: str | None = None
    files_total: int = 0
    files_done: int = 0
    files: list[FileOutcome] = field(default_factory=list)
    error: dict[str, str] | None = None
    result: dict[str, Any] | None = None
    #: what is needed to run the job again after a restart (e.g. its staged files); never shown
    payload: dict[str, Any] = field(default_factory=dict)
    #: how many times a restart picked the job up again
    resumed: int = 0
    seq: int = field(default_factory=lambda: next(_SEQ))

    def file_outcome(self, outcome: FileOutcome) -> None:
        self.files.append(outcome)

    def view(self) -> schemas.Job:
        """The job as the API shows it (``/v1/jobs/{id}``)."""
        errors = [
            schemas.JobFileError(source=f.source, reason=f.reason or "") for f in self.files if f.status == "failed"
        ]
        fraction = (
            round(self.files_done / self.files_total, 4)
            if self.files_total
            else (1.0 if self.status in FINISHED else 0.0)
        )
        return schemas.Job(
            id=self.id, collection=self.collection, kind=self.kind, status=self.status, created_at=self.created_at,
            started_at=self.started_at, finished_at=self.finished_at,
            progress=schemas.JobProgress(files_total=self.files_total, files_done=self.files_done, fraction=fraction),
            files=list(self.files), errors=errors, error=self.error, result=self.result, resumed=self.resumed,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return self.view().model_dump()

    def record(self) -> dict[str, Any]:
        """The journal's record: the API's view plus the payload and the order of acceptance."""
        return {**self.to_dict(), "payload": self.payload, "seq": self.seq}

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Job:
        progress = rec.get("progress") or {}
        return cls(
            id=rec["id"], collection=rec["collection"], kind=rec.get("kind", "ingest"), status=rec["status"],
            created_at=rec.get("created_at") or now_iso(), started_at=rec.get("started_at"),
            finished_at=rec.get("finished_at"), files_total=int(progress.get("files_total", 0)),
            files_done=int(progress.get("files_done", 0)),
            files=[FileOutcome(**f) for f in rec.get("files") or ()], error=rec.get("error"),
            result=rec.get("result"), payload=rec.get("payload") or {}, resumed=int(rec.get("resumed") or 0),
            seq=int(rec.get("seq") or 0),
        )  # fmt: skip


class JobManager:
    """Per-collection single-thread workers and the table of jobs."""

    def __init__(
        self,
        history: int = 1000,
        on_finish: Callable[[Job], None] | None = None,
        journal: JobJournal | None = None,
        redact: Callable[[str], str] = str,
    ) -> None:
        self.history = history
        self.on_finish = on_finish
        self.journal = journal
        self.redact = redact  # error messages lose server paths before anyone can read them
        self._lock = threading.Lock()
        self._workers: dict[str, ThreadPoolExecutor] = {}
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._active: dict[str, int] = {}
        self._closed = False

    def _worker(self, collection: str) -> ThreadPoolExecutor:
        w = self._workers.get(collection)
        if w is None:
            w = self._workers[collection] = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"rr-writer-{collection}"
            )
        return w

    def submit(
        self,
        collection: str,
        kind: str,
        run: Callable[[Job], dict[str, Any] | None],
        files_total: int = 0,
        payload: dict[str, Any] | None = None,
        job: Job | None = None,
    ) -> Job:
        """Queue ``run(job)`` on the collection's worker; its return value becomes ``job.result``.

        The job is in the journal (when there is one) before this returns. ``job``: a job read back
        from the journal, run again under its own id."""
        if job is None:
            job = Job(id=uuid.uuid4().hex, collection=collection, kind=kind, files_total=files_total)
            job.payload = payload or {}
        with self._lock:
            if self._closed:
                raise ConflictError("the server is shutting down; retry on the next instance")
            self._persist(job)
            self._jobs[job.id] = job
            self._active[collection] = self._active.get(collection, 0) + 1
            self._trim()
            self._worker(collection).submit(self._execute, job, run)
        return job

    def _persist(self, job: Job) -> None:
        if self.journal is not None:
            self.journal.save(job.record())

    def restore(self, resume: Callable[[Job], Callable[[Job], dict[str, Any] | None] | str]) -> list[Job]:
        """Read the journal back after a start: finished jobs become readable again; each pending one
        is given to ``resume``, which returns its run function (the job is queued again, in the order
        the jobs were accepted) or the reason it cannot run (the job is recorded as failed). Returns
        the pending jobs."""
        if self.journal is None:
            return []
        pending, finished = self.journal.load()
        with self._lock:
            for rec in finished[-self.history :]:
                job = Job.from_record(rec)
                self._jobs[job.id] = job
        out = []
        for rec in pending:
            job = Job.from_record(rec)
            job.status, job.started_at, job.files, job.files_done = "queued", None, [], 0
            job.resumed += 1
            run = resume(job)
            if isinstance(run, str):
                job.status, job.finished_at = "failed", now_iso()
                job.error = {"type": "JobNotResumed", "message": run}
                self._persist(job)
                with self._lock:
                    self._jobs[job.id] = job
            else:
                self.submit(job.collection, job.kind, run, job=job)
            out.append(job)
        self.journal.trim(self.history)
        return out

    def call(self, collection: str, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` on the collection's worker (after the jobs queued before it); a future of its result."""
        with self._lock:
            if self._closed:
                raise ConflictError("the server is shutting down; retry on the next instance")
            self._active[collection] = self._active.get(collection, 0) + 1

            def wrapped() -> Any:
                try:
                    return fn()
                finally:
                    self._done(collection)

            return self._worker(collection).submit(wrapped)

    def _done(self, collection: str) -> None:
        with self._lock:
            self._active[collection] -= 1
            if not self._active[collection]:
                del self._active[collection]

    def _execute(self, job: Job, run: Callable[[Job], dict[str, Any] | None]) -> None:
        if self._closed:
            # not written to the journal: the job stays queued there and the next start runs it
            job.status = "cancelled"
            job.error = {"type": "Cancelled", "message": "the server shut down before the job started; "
                         "it runs when the server starts again"}  # fmt: skip
            job.finished_at = now_iso()
            self._done(job.collection)
            if self.on_finish is not None:  # the metrics count it finished in this process
                self.on_finish(job)
            return
        outcome: dict[str, Any] = {"status": "failed"}
        try:
            job.status = "running"
            job.started_at = now_iso()
            self._persist(job)
            outcome = {"status": "succeeded", "result": run(job)}
        except RabbitRagError as e:
            outcome["error"] = {"type": type(e).__name__, "message": self.redact(str(e))}
        except Exception as e:  # a job must never die silently: record it, log the traceback
            log.exception("job %s on %s failed", job.id, job.collection)
            outcome["error"] = {"type": "InternalError", "message": self.redact(f"{type(e).__name__}: {e}")}
        finally:
            outcome["finished_at"] = now_iso()
            try:  # on disk first: a client that sees the job finished finds the same after a restart
                self._persist(dataclasses.replace(job, **outcome))
            except OSError as e:  # the job ran; only its record could not be updated
                log.error("job %s: its record could not be written: %s", job.id, e)
            for key in ("result", "error", "finished_at", "status"):  # status last: it says "done"
                if key in outcome:
                    setattr(job, key, outcome[key])
            self._done(job.collection)
            if self.on_finish is not None:
                self.on_finish(job)

    def _trim(self) -> None:
        finished = [jid for jid, j in self._jobs.items() if j.status in FINISHED]
        for jid in finished[: max(0, len(finished) - self.history)]:
            del self._jobs[jid]
            if self.journal is not None:
                self.journal.path(jid).unlink(missing_ok=True)

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r} (the last {self.history} finished jobs are kept)")
        return job

    def list(self, collections: set[str] | None = None, limit: int = 100) -> list[Job]:
        jobs = [j for j in reversed(self._jobs.values()) if collections is None or j.collection in collections]
        return jobs[:limit]

    def active(self, collection: str) -> int:
        """Queued and running work on ``collection``."""
        return self._active.get(collection, 0)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in list(self._jobs.values()):
            out[j.status] = out.get(j.status, 0) + 1
        return out

    def forget_worker(self, collection: str) -> None:
        with self._lock:
            w = self._workers.pop(collection, None)
        if w is not None:
            w.shutdown(wait=False)

    def close(self) -> None:
        """Stop taking work; let the running jobs finish (they commit), cancel the queued ones."""
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
            self._workers.clear()
        for w in workers:
            w.shutdown(wait=True)
