"""The API scenarios reuse the API tests' fixtures (an index root with a collection, keys, clients)."""

from tests.api.conftest import api_root, client, client_factory, keys  # noqa: F401
