"""The engine backend's tests run Milvus Lite embedded (no service). It is a pure-Python package
(``pip install -e '.[milvus]'``, in the dev extra); the tests skip only where it is not
installed (Milvus Lite has wheels for some platforms only)."""

from __future__ import annotations

from tests.conftest import skip_unless_installed

skip_unless_installed("pymilvus", "pymilvus is not installed (pip install -e '.[milvus]')")
skip_unless_installed("milvus_lite", "Milvus Lite (the embedded engine) is not installed for this platform")
