"""``/v1/jobs``: the status, progress and per-file errors of background jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from rabbit_rag.api import schemas
from rabbit_rag.api.collections import NAME_RE, check_name
from rabbit_rag.api.deps import Caller, State
from rabbit_rag.api.errors import error_responses

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get(
    "",
    response_model=schemas.JobList,
    summary="Recent jobs (newest first) of the collections this key can read",
    responses=error_responses(401, 422),
)
def list_jobs(
    state: State,
    who: Caller,
    collection: Annotated[
        str | None, Query(pattern=NAME_RE, max_length=64, description="Only this collection's jobs.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.JobList:
    if collection is not None:
        collection = check_name(collection)
        who.require("read", collection)
    names = (
        {collection}
        if collection
        else {j.collection for j in state.jobs.list(limit=10_000) if who.can("read", j.collection)}
    )
    return schemas.JobList(jobs=[j.view() for j in state.jobs.list(names, limit)])


@router.get(
    "/{job_id}",
    response_model=schemas.Job,
    summary="One job: status, progress, per-file outcomes and errors",
    responses=error_responses(401, 403, 404, 422),
)
def get_job(
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", examples=["5b2e0f6c8a0d4f7e9c1b3a2d4e6f8a0b"])],
    state: State,
    who: Caller,
) -> schemas.Job:
    job = state.jobs.get(job_id)
    who.require("read", job.collection)
    return job.view()
