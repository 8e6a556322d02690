"""Property-based tests over the OpenAPI schema (schemathesis): no server errors, no schema violations.

Every operation gets generated valid (positive) and invalid (negative) requests with an admin key,
against an index root holding the sample collection, and every response goes through schemathesis'
default checks (not a server error, status code and content type documented, body matches the
response schema, valid data accepted, invalid data rejected, ...). Bounded to a few examples per
operation and mode so the suite stays fast; derandomized so a failure reproduces.

(schemathesis' pytest plugin does not run under pytest 9 yet, so the operations are driven here
through hypothesis directly.)
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.slow  # property-based requests over the whole OpenAPI schema
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

from tests.api.conftest import Keys  # noqa: E402

# a deeper, randomized run: RABBIT_RAG_SCHEMATHESIS_EXAMPLES=200 python -m pytest tests/api/test_schema.py
EXAMPLES = int(os.environ.get("RABBIT_RAG_SCHEMATHESIS_EXAMPLES", "6"))
DERANDOMIZE = "RABBIT_RAG_SCHEMATHESIS_EXAMPLES" not in os.environ
# Operations where some schema-valid requests are rightly refused by rules a JSON schema cannot state:
# an upload's bytes must be a supported document (random binary is a correct 415), a chat's last
# message must be the user's, and a question must keep some text after normalization (control
# characters are removed). "Valid data accepted" is not checked for them; every other check is.
# schemathesis' default statuses for "invalid data rejected"
REJECTED = [400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429, "5xx"]
SEMANTIC = {"POST /v1/collections/{name}/documents", "POST /v1/chat/completions", "POST /v1/collections/{name}/ask"}


def _property_test(operation, mode, headers: dict[str, str], excluded: list) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=DERANDOMIZE,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    return run


def test_api_conforms_to_its_schema(client_factory, keys: Keys) -> None:
    client = client_factory()  # started: the lifespan built the state the generated calls use
    # Invalid data may also be rejected with 413: a generated body over the 1 MB JSON limit is refused before it
    # is parsed (the schema documents 413 on every route with a body).
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": [*REJECTED, 413]}}}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app, config=config)
    headers = keys.h("admin")
    failures: list[str] = []
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        excluded = [schemathesis.checks.positive_data_acceptance] if operation.label in SEMANTIC else []
        for mode in schemathesis.GenerationMode:
            try:
                _property_test(operation, mode, headers, excluded)()
            except Unsatisfiable:
                # an operation without parameters or body has no invalid request to make
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as e:  # collect every operation's failure, report them together
                failures.append(f"{operation.label} [{mode.value}]: {type(e).__name__}: {str(e)[:1500]}")
    assert len(labels) >= 12, labels
    assert not failures, "\n\n".join(failures)
