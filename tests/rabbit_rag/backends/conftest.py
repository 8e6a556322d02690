"""The engine backend's tests run Milvus Lite embedded (no service). It is a pure-Python package
(``pip install -e '.[milvus]'``, in the dev extra); the tests skip only where it cannot be
imported on the platform."""

from __future__ import annotations

import pytest

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install -e '.[milvus]')")
pytest.importorskip("milvus_lite", reason="Milvus Lite (the embedded engine) is not installed for this platform")
