"""rabbit-rag's knowledge-base HTTP service (FastAPI): thin routes over the library.

The app factory, routers and lifespan live here; run it with ``rabbit-rag serve``.
"""
