"""The job journal: every accepted job is on disk before the client hears 202, and stays there.

``<index_root>/.jobs/<job id>.json`` holds a job's record — what the API shows at ``/v1/jobs/{id}``
plus what is needed to run it again (the staged files) — written atomically and fsynced at each
change of status. On start-up the service reads the journal back: finished jobs are answered as
before the restart; queued and running ones are run again (ingest is idempotent: a file already
committed comes out ``unchanged``) or, when that is impossible (their collection or staged files
are gone), marked failed with the reason. No accepted job silently vanishes.

예::

    journal = JobJournal(Path("indexes"))
    journal.save(job)                 # before answering 202
    pending, finished = journal.load()
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from rabbit_rag.index.fsio import atomic_write_json

log = logging.getLogger("rabbit_rag.api")
JOURNAL_DIR = ".jobs"
PENDING = ("queued", "running")


class JobJournal:
    """One JSON record per job under ``<index_root>/.jobs/``."""

    def __init__(self, index_root: Path) -> None:
        self.dir = Path(index_root) / JOURNAL_DIR
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.json"

    def save(self, record: dict[str, Any]) -> None:
        """Write one job's record atomically and durably (file and folder fsynced)."""
        atomic_write_json(self.path(record["id"]), record)

    def load(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``(pending, finished)`` records, each in the order the jobs were accepted. An unreadable
        record (a disk fault) is logged and left out."""
        records = []
        for p in self.dir.glob("*.json"):
            try:
                rec = json.loads(p.read_text(encoding="utf-8"))
                if not isinstance(rec, dict) or "id" not in rec:
                    raise ValueError("not a job record")
                records.append(rec)
            except (OSError, ValueError) as e:
                log.error("job record %s is unreadable and is ignored: %s", p.name, e)
        records.sort(key=lambda r: (r.get("created_at") or "", r.get("seq") or 0))
        pending = [r for r in records if r.get("status") in PENDING]
        finished = [r for r in records if r.get("status") not in PENDING]
        return pending, finished

    def trim(self, keep_finished: int) -> None:
        """Delete the records of all but the newest ``keep_finished`` finished jobs."""
        _, finished = self.load()
        for rec in finished[: max(0, len(finished) - keep_finished)]:
            self.path(rec["id"]).unlink(missing_ok=True)
