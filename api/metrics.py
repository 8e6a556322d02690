"""Prometheus metrics for ``/metrics``: requests, latencies, jobs, readiness.

Each app has its own registry, so several apps in one process (tests) do not collide. Routes are
labelled by their template (``/v1/collections/{name}/search``), never by the raw path, to keep the
number of series bounded.

예: ``curl -s localhost:8000/metrics | grep rabbit_rag_http_requests_total``
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "rabbit_rag_http_requests", "HTTP requests by method, route template and status.",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "rabbit_rag_http_request_duration_seconds", "Time to the last byte of the response.",
            ["method", "route"], buckets=_BUCKETS, registry=r,
        )  # fmt: skip
        self.jobs = Counter(
            "rabbit_rag_jobs", "Finished background jobs by kind and status.", ["kind", "status"], registry=r
        )
        self.jobs_active = Gauge("rabbit_rag_jobs_active", "Jobs queued or running.", registry=r)
        self.ready = Gauge("rabbit_rag_ready", "1 once the collections and models are loaded.", registry=r)
        self.stream_disconnects = Counter(
            "rabbit_rag_stream_disconnects", "Streamed answers stopped because the client went away.", registry=r
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
