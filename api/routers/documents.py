"""``/v1/collections/{name}/documents``: upload (multipart, indexed by a background job), list, get, delete.

Reads answer from one snapshot: the collection's current revision, or ``?revision=R`` — the revision
a search or answer reported — so ``text[start:end]`` is exactly the hit's text even after the
document was re-uploaded (410 once that revision is no longer kept).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from rabbit_rag.api import schemas
from rabbit_rag.api.deps import Readable, State, Writable
from rabbit_rag.api.errors import GoneError, NotFoundError, UnsupportedMediaTypeError, error_responses
from rabbit_rag.api.originals import remove_document_and_originals
from rabbit_rag.api.uploads import HEAD_BYTES, StagedFile, clean_label
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.ingest.readers import detect, needs_whole_file

router = APIRouter(prefix="/v1/collections/{name}/documents", tags=["documents"])

DocId = Annotated[
    str,
    Path(
        pattern=r"^[0-9A-Za-z_-]{1,128}$",
        description="Document id from the list or a search hit.",
        examples=["3f1c0a9e5b7d2c41"],
    ),
]

Revision = Annotated[
    int | None,
    Query(
        ge=0,
        description="Answer as of this revision (the `revision` a search or answer returned) instead of the "
        "current one; 410 when it is no longer kept.",
    ),
]

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "format": "binary"},
                        "description": "One or more files (.txt, .md, ... — judged by content). The file name "
                        "is the document's `source` label; a file with the same name replaces the earlier version.",
                    }
                },
            }
        }
    },
}


def _stage_one(state: State, upload: UploadFile) -> StagedFile:
    label = clean_label(upload.filename)
    f = upload.file
    f.seek(0)
    head = f.read(HEAD_BYTES)
    if needs_whole_file(label, head):  # containers are told apart by what they hold (bounded by the upload limit)
        data = head + f.read()
        reader = detect(label, head, data).name
        f.seek(len(head))
    else:
        reader = detect(label, head).name  # 415 before anything is written
    path = state.staging.new_path()
    size = 0
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(head)
        size += len(head)
        while chunk := f.read(1 << 20):
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())  # 202 means the bytes are on disk
    return StagedFile(label=label, path=path, size=size, reader=reader)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.Job,
    summary="Upload one or many files; they are indexed by a background job",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses=error_responses(400, 401, 403, 404, 413, 415, 422),
)
async def upload_documents(name: Writable, request: Request, state: State) -> Any:
    """Answers 202 with the job (`Location: /v1/jobs/{id}`); poll it until `status` is `succeeded`.
    Types are judged by content: an executable renamed `.pdf` or `.txt` is refused with 415."""
    await run_in_threadpool(state.collections.get, name)  # 404 before the body is read
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise UnsupportedMediaTypeError(
            f"uploads are multipart/form-data with one or more 'files' parts, not {ctype or 'an empty content type'!r}; "
            "e.g. curl -F files=@헌법.txt"
        )
    limit = state.settings.api_max_files_per_upload
    form = await request.form(max_files=limit, max_fields=limit)
    try:
        uploads = [v for key in ("files", "file") for v in form.getlist(key) if isinstance(v, UploadFile)]
        if not uploads:
            raise InvalidInputError("no files in the upload: send one or more multipart parts named 'files'")
        staged: list[StagedFile] = []
        try:
            for upload in uploads:
                staged.append(await run_in_threadpool(_stage_one, state, upload))
            await run_in_threadpool(state.staging.sync)
            # the job's record (with its staged files) is on disk before the client hears 202
            job = await run_in_threadpool(state.submit_ingest, name, staged)
        except BaseException:
            state.staging.discard(staged)
            raise
    finally:
        await form.close()
    return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.get(
    "",
    response_model=schemas.DocumentList,
    summary="List documents",
    responses=error_responses(401, 403, 404, 410, 422),
)
def list_documents(
    name: Readable,
    state: State,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    revision: Revision = None,
) -> schemas.DocumentList:
    index, rev = state.collections.at_revision(name, revision)
    docs = [d.info() for d in index.documents(limit, offset, revision=rev)]
    total = index.document_count(revision=rev)
    return schemas.DocumentList(collection=name, revision=rev, total=total, limit=limit, offset=offset, documents=docs)


@router.get(
    "/{doc_id}",
    response_model=schemas.DocumentWithText | schemas.DocumentInfo,
    summary="One document: metadata and (unless text=false) its normalized text",
    responses=error_responses(401, 403, 404, 410, 422),
)
def get_document(
    name: Readable,
    doc_id: DocId,
    state: State,
    text: Annotated[bool, Query(description="Include the document's text.")] = True,
    revision: Revision = None,
) -> schemas.DocumentWithText | schemas.DocumentInfo:
    index, rev = state.collections.at_revision(name, revision)
    doc = index.document(doc_id, revision=rev)
    if doc is None:
        raise NotFoundError(
            f"no document {doc_id!r} in collection {name!r} at revision {rev}; "
            f"GET /v1/collections/{name}/documents lists them"
        )
    if not text:
        return doc.info()
    body = index.document_text(doc_id, revision=rev)
    if body is None:  # the version row went away between the two reads: never serve a mismatched text
        raise GoneError(f"document {doc_id!r} at revision {rev} is no longer kept; search again")
    return schemas.DocumentWithText(**doc.to_dict(), text=body, revision=rev)


@router.delete(
    "/{doc_id}",
    response_model=schemas.Deleted,
    summary="Delete a document (waits for the collection's writer)",
    responses=error_responses(401, 403, 404, 422),
)
def delete_document(name: Writable, doc_id: DocId, state: State) -> schemas.Deleted:
    state.collections.get(name)  # 404 for a missing collection
    removed = state.jobs.call(name, lambda: remove_document_and_originals(state.collections, name, doc_id)).result()
    if not removed:
        raise NotFoundError(f"no document {doc_id!r} in collection {name!r}")
    return schemas.Deleted(deleted=doc_id, collection=name)
